"""The ``radar`` command: simulate, train, promote, score, serve, and the end-to-end demo."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from datetime import date
from pathlib import Path

from experiments.config import (
    CONFIG_ENV,
    DEFAULT_CONFIG,
    ConfigError,
    RadarConfig,
    load_config,
    with_section,
)

log = logging.getLogger("radar")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("mlflow", "alembic", "urllib3", "git", "bentoml", "numba", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    warnings.filterwarnings("ignore", category=UserWarning, module="mlflow")
    warnings.filterwarnings("ignore", category=FutureWarning)


def _config(args: argparse.Namespace) -> RadarConfig:
    overrides = {"workspace": {"root": args.workspace}} if args.workspace else {}
    config = load_config(args.config, **overrides)
    if getattr(args, "mapping", None) is not None:
        config = with_section(config, "data", mapping=args.mapping)
    return config


def _mapping_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mapping",
        type=Path,
        help="YAML mapping of the export's files, columns, values and time formats to the "
        "contract (default: data.mapping of the config)",
    )


# ---------------------------------------------------------------------- commands
def cmd_simulate(args: argparse.Namespace) -> int:
    from data.simulator import simulate_world

    sim = _config(args).simulation
    manifest = simulate_world(
        args.out,
        customers=args.customers or sim.customers,
        days=args.days or sim.days,
        seed=sim.seed if args.seed is None else args.seed,
        start=str(sim.start),
        truth_paths=0 if args.no_truth else args.truth_paths or sim.truth_paths,
        truth_days=sim.truth_days,
    )
    print(
        json.dumps(
            {
                "out": str(args.out),
                "observed_until": manifest["observed_until"],
                "rows": manifest["rows"],
            },
            indent=2,
        )
    )
    return 0


def _data_source(value: str) -> Path | str:
    """A local folder, or (for the Spark engine) a URI kept as written: Path would fold its //."""
    return value if "://" in value else Path(value)


def cmd_train(args: argparse.Namespace) -> int:
    from training.train import train

    config = _config(args)
    if args.search:
        config = with_section(config, "search", enabled=True)
    result = train(config, args.data, engine=args.engine)
    from radar.console import print_evaluation

    print_evaluation(result.evaluation)
    print(f"evaluation: {result.evaluation_path}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from data.fileio import write_json
    from radar.check import check_data, render

    report = check_data(_config(args), args.data)
    print(render(report))
    if args.json:
        write_json(args.json, report)
        print(f"report: {args.json}")
    return 0 if report["ready"] else 1


def cmd_import_log(args: argparse.Namespace) -> int:
    from data.event_log import EventLogRules, write_event_log_tables

    rules = EventLogRules(
        case=args.case,
        customer=args.customer,
        activity=args.activity,
        time=args.time,
        complaint_activities=tuple(args.complaint_activity or ()),
        time_format=args.time_format,
        time_zone=args.time_zone,
    )
    tables = write_event_log_tables(args.log, args.out, rules)
    print(
        f"{args.out}: {len(tables['contacts']):,} contacts (one per case) of "
        f"{tables['contacts']['customer_id'].nunique():,} customers, "
        f"{len(tables['complaints']):,} complaints"
    )
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from training.search import SEARCH_FILE, search

    config = _config(args)
    result = search(config, args.data)
    metric = config.search.metric
    print(f"{'trial':>5}  {'validation ' + metric:>30}  {'trees':>5}  params")
    for i, trial in enumerate(result.trials, start=1):
        print(
            f"{i:>5}  {trial['validation'][metric]:>30.4f}  {trial['trees']:>5}  {trial['params']}"
        )
    print(f"best: {result.best_params} (MLflow run {result.run_id})")
    print(f"to train with it, put these under model: in your experiment YAML: {result.best_params}")
    print(f"trials: {config.workspace.root / SEARCH_FILE}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from training.evaluate import evaluate_version

    evaluation, report = evaluate_version(_config(args), args.data, args.version)
    from radar.console import print_evaluation

    print_evaluation(evaluation)
    print(f"report: {report}")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from experiments.config import render_yaml

    print(render_yaml(_config(args)), end="")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from training import registry

    config = _config(args)
    client = registry.connect(config)
    client.get_model_version(config.registry.model_name, str(args.version))
    registry.set_alias(client, config.registry.model_name, registry.CHAMPION, args.version)
    print(f"{config.registry.model_name} version {args.version} is now champion")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from data.load import load_history
    from serving.api.journal import EventJournal, journal_exists
    from serving.batch.risk_list import preview, score_day
    from serving.scorer import Scorer
    from training.dataset import observed_from_the_start

    config = _config(args)
    if args.engine == "spark":
        return _score_on_spark(config, args)
    if isinstance(args.data, str):
        raise SystemExit(
            f"{args.data}: a URI needs --engine spark (the embedded engine reads local folders)"
        )
    history, _ = load_history(args.data, config.workspace.rejects_dir, config.data)
    history = observed_from_the_start(history, config.split)
    if journal_exists(config.journal_url()):  # events posted to the service since
        history = EventJournal(config.journal_url()).fold_into(history)
    day = date.fromisoformat(args.date) if args.date else history.observed_until.date()
    out = Path(args.out) if args.out else config.workspace.risk_lists_dir
    path, risk_list = score_day(
        history,
        Scorer.from_registry(config),
        day,
        out,
        config.labels,
        config.evaluation,
        config.outreach,
    )
    print(preview(risk_list, 10))
    drawn = risk_list["assignment"].value_counts()
    print(
        f"today: {drawn.get('contact', 0)} to contact, {drawn.get('holdout', 0)} held out "
        "at random as the control group"
    )
    print(f"risk list: {path / 'risk_list.html'} (also .csv, .parquet)")
    return 0


def _score_on_spark(config, args: argparse.Namespace) -> int:
    from data.contract import ContractError
    from data.mapping import SPARK_READS_THE_CONTRACT
    from serving.batch.spark_scoring import score_on_spark
    from serving.scorer import Scorer

    if args.out:
        config = with_section(config, "spark", output=str(args.out))
    if not args.date:
        raise SystemExit("radar score --engine spark needs --date YYYY-MM-DD")
    if config.data.mapping is not None:
        raise ContractError(SPARK_READS_THE_CONTRACT)
    summary = score_on_spark(
        config, args.data, date.fromisoformat(args.date), Scorer.from_registry(config)
    )
    print(json.dumps(summary, indent=2))
    return 0


def cmd_outcomes_import(args: argparse.Namespace) -> int:
    from radar.outcomes import import_outcomes

    config = _config(args)
    counts = import_outcomes(args.file, config.outcomes_url(), config.workspace.rejects_dir)
    print(
        f"outcomes from {args.file}: {counts['accepted']} new, {counts['updated']} corrected, "
        f"{counts['duplicate']} already recorded, {counts['rejected']} set aside"
    )
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    from data.load import load_history
    from serving.monitoring.monitor import run_monitor
    from serving.monitoring.report import REPORT_FILE

    config = _config(args)
    history, _ = load_history(args.data, config.workspace.rejects_dir, config.data)
    report = run_monitor(history, config)
    for day in report["matured_days"]:
        realized, expected = (
            day["realized_precision_at_capacity"],
            day["expected_precision_at_capacity"],
        )
        print(
            f"{day['date']}: {day['selected']} selected, precision at capacity "
            + (f"{realized:.3f} (expected {expected:.3f})" if realized is not None else "n/a")
            + f", contact {day['contact_complaints']}/{day['contact_customers']}"
            f", holdout {day['holdout_complaints']}/{day['holdout_customers']} complained"
        )
    effect = report["outreach_effect"]
    if effect.get("interval"):
        low, high = effect["interval"]
        print(
            f"outreach effect (contact - holdout complaint rate): {effect['difference']:+.4f} "
            f"[{low:+.4f}, {high:+.4f}]"
        )
    if report["score_psi"] is not None:
        days = report["drift_days"]
        print(f"score PSI {report['score_psi']:.3f} over the lists of {days[0]}..{days[-1]}")
    for note in report["notes"]:
        print(f"note: {note}")
    for alert in report["alerts"]:
        print(f"ALERT {alert['message']}")
    out = config.workspace
    print(f"report: {out.monitoring_dir / REPORT_FILE} (and {out.monitoring_file}; also in MLflow)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from radar.process import port_is_free, service_env
    from serving.api.auth import check_exposure

    config = _config(args)
    host, port = args.host or config.serving.host, args.port or config.serving.port
    check_exposure(config, host)
    if not port_is_free(port, host):
        raise OSError(f"port {port} on {host} is in use: stop the other server or pass --port")
    env = service_env(config, args.config)
    bentoml = str(Path(sys.executable).parent / "bentoml")
    os.execve(
        bentoml,
        [
            bentoml,
            "serve",
            "serving.api.service:ComplaintRadar",
            "--host",
            host,
            "--port",
            str(port),
        ],
        env,
    )
    return 0  # not reached


def cmd_demo(args: argparse.Namespace) -> int:
    from radar.demo import run_demo
    from radar.process import service_env

    config = _config(args)
    return run_demo(config, args, service_env(config, args.config))


# ---------------------------------------------------------------------- parser
def _common_options() -> argparse.ArgumentParser:
    """The options every command takes, before or after the command's name."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help=f"experiment YAML (default: ${CONFIG_ENV} or {DEFAULT_CONFIG.name})",
    )
    common.add_argument(
        "--workspace",
        type=Path,
        default=argparse.SUPPRESS,
        help="output folder (default from config: workspace/)",
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="tracebacks"
    )
    return common


COMMON_DEFAULTS = {"config": None, "workspace": None, "verbose": False}


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="radar", description="Predict customer complaints 48 hours ahead.", parents=[common]
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, **kwargs) -> argparse.ArgumentParser:
        """A command, taking the common options too."""
        return sub.add_parser(name, parents=[common], **kwargs)

    p = command("simulate", help="generate a synthetic contact-history world")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--customers", type=int)
    p.add_argument("--days", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--truth-paths", type=int, help="Monte Carlo paths for the true risk")
    p.add_argument(
        "--no-truth",
        action="store_true",
        help="skip the Monte Carlo true risk (most of the cost; for scale work)",
    )
    p.set_defaults(func=cmd_simulate)

    p = command(
        "check",
        help="profile a data folder before training: tables, feature families, validation, "
        "positives per period (exit 1 when it is not ready to train and judge)",
    )
    p.add_argument("--data", type=Path, required=True, help="folder of contract tables")
    p.add_argument("--json", type=Path, help="also write the report here as JSON")
    _mapping_argument(p)
    p.set_defaults(func=cmd_check)

    p = command(
        "import-log",
        help="turn a case-based event log into contract tables: each case a contact, a case "
        "with a complaint activity a complaint",
    )
    p.add_argument("--log", type=Path, required=True, help="the log, CSV or Parquet")
    p.add_argument("--out", type=Path, required=True, help="data folder to write (replaced)")
    p.add_argument("--case", required=True, help="column of the case (ticket) id")
    p.add_argument("--customer", required=True, help="column of the customer id")
    p.add_argument("--activity", required=True, help="column of the activity")
    p.add_argument("--time", required=True, help="column of the event time")
    p.add_argument(
        "--complaint-activity",
        action="append",
        help="an activity that makes its case a complaint (repeat for several)",
    )
    p.add_argument("--time-format", help="strftime pattern of the times (default: ISO 8601)")
    p.add_argument("--time-zone", default="UTC", help="zone of times written without one")
    p.set_defaults(func=cmd_import_log)

    p = command("train", help="train, evaluate, log to MLflow, register, maybe promote")
    p.add_argument(
        "--data",
        type=_data_source,
        required=True,
        help="folder of contract tables (Parquet or CSV); with --engine spark also a URI "
        "(hdfs://, s3a://, gs://...)",
    )
    p.add_argument(
        "--search",
        action="store_true",
        help="run the search grid first (nested MLflow runs) and train with the best trial",
    )
    p.add_argument(
        "--engine",
        choices=("embedded", "spark"),
        default="embedded",
        help="where labels and features are built: in this process, or on Apache Spark "
        "(the spark: section of the config); the model is fitted here either way",
    )
    _mapping_argument(p)
    p.set_defaults(func=cmd_train)

    p = command("search", help="hyperparameter grid on validation, one nested MLflow run per trial")
    p.add_argument("--data", type=Path, required=True)
    _mapping_argument(p)
    p.set_defaults(func=cmd_search)

    p = command(
        "evaluate", help="evaluate a registered version (default: champion) on a data folder"
    )
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--version", type=int, help="registered version (default: the champion)")
    _mapping_argument(p)
    p.set_defaults(func=cmd_evaluate)

    p = command(
        "config", help="print the effective configuration as YAML (copy it to start an experiment)"
    )
    p.set_defaults(func=cmd_config)

    p = command("promote", help="make a registered version the champion")
    p.add_argument("--version", type=int, required=True)
    p.set_defaults(func=cmd_promote)

    p = command("score", help="write the daily risk list and the service snapshot")
    p.add_argument(
        "--data", type=_data_source, required=True, help="as for train (a URI: --engine spark)"
    )
    p.add_argument("--date", help="YYYY-MM-DD (default: the day the data ends)")
    p.add_argument(
        "--out",
        type=_data_source,
        help="default: WORKSPACE/risk_lists (spark: spark.output, may be a URI)",
    )
    p.add_argument(
        "--engine",
        choices=("embedded", "spark"),
        default="embedded",
        help="spark: scores and reasons on Apache Spark, Parquet partitioned by date "
        "(no outreach assignment or page; see the README)",
    )
    _mapping_argument(p)
    p.set_defaults(func=cmd_score)

    p = command("outcomes", help="outreach outcomes (what happened when customers were contacted)")
    outcomes = p.add_subparsers(dest="action", required=True)
    p = outcomes.add_parser(
        "import", parents=[common], help="record outcomes from a CSV or Parquet file"
    )
    p.add_argument(
        "file",
        type=Path,
        help="columns customer_id, contacted_at, reached, outcome_code, and optionally "
        "list_date and note (as POST /outcomes takes them)",
    )
    p.set_defaults(func=cmd_outcomes_import)

    p = command(
        "monitor", help="how the published lists did once their labels matured; drift; alerts"
    )
    p.add_argument("--data", type=Path, required=True, help="data folder covering the lists")
    _mapping_argument(p)
    p.set_defaults(func=cmd_monitor)

    p = command("serve", help="start the BentoML scoring service")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)

    p = command("demo", help="simulate -> train -> register -> risk list -> service check")
    p.add_argument("--customers", type=int)
    p.add_argument("--days", type=int)
    p.add_argument("--port", type=int)
    p.add_argument("--fresh", action="store_true", help="regenerate the world even if it exists")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for name, default in COMMON_DEFAULTS.items():  # given nowhere on the command line
        if not hasattr(args, name):
            setattr(args, name, default)
    _setup_logging(args.verbose)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except Exception as exc:  # every failure is one line; -v shows where it came from
        if args.verbose:
            log.exception("%s failed", args.command)
        else:
            log.error("%s (run with -v for the traceback)", _one_line(exc))
        return 2


def _one_line(exc: BaseException) -> str:
    """The error for a terminal: its message, with the kind for anything but our own checks."""
    ours = (ConfigError, FileNotFoundError, LookupError, ValueError, OSError)
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, ours) else f"{type(exc).__name__}: {text}"


if __name__ == "__main__":
    sys.exit(main())
