"""The ``radar`` command: simulate, train, promote, score, serve, and the end-to-end demo."""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
import warnings
from datetime import date
from pathlib import Path

from radar.config import (
    CONFIG_ENV,
    DEFAULT_CONFIG,
    WORKSPACE_ENV,
    ConfigError,
    RadarConfig,
    load_config,
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
    return load_config(args.config, **overrides)


# ---------------------------------------------------------------------- commands
def cmd_simulate(args: argparse.Namespace) -> int:
    from data.simulate import simulate_world

    sim = _config(args).simulation
    manifest = simulate_world(
        args.out,
        customers=args.customers or sim.customers,
        days=args.days or sim.days,
        seed=sim.seed if args.seed is None else args.seed,
        start=str(sim.start),
        truth_paths=args.truth_paths or sim.truth_paths,
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


def cmd_train(args: argparse.Namespace) -> int:
    from radar.config import with_section
    from training.train import train

    config = _config(args)
    if args.search:
        config = with_section(config, "search", enabled=True)
    result = train(config, args.data)
    print_evaluation(result.evaluation)
    print(f"evaluation: {result.evaluation_path}")
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
    from training.train import evaluate_version

    evaluation, report = evaluate_version(_config(args), args.data, args.version)
    print_evaluation(evaluation)
    print(f"report: {report}")
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
    from serving.risk_list import preview, score_day
    from serving.scorer import Scorer

    config = _config(args)
    history, _ = load_history(args.data, config.workspace.rejects_dir)
    day = date.fromisoformat(args.date) if args.date else history.observed_until.date()
    out = Path(args.out) if args.out else config.workspace.risk_lists_dir
    path, risk_list = score_day(history, Scorer.from_registry(config), day, out, config.labels)
    print(preview(risk_list, 10))
    print(f"risk list: {path / 'risk_list.html'} (also .csv, .parquet)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    config = _config(args)
    env = service_env(config, args.config)
    host, port = args.host or config.serving.host, args.port or config.serving.port
    bentoml = str(Path(sys.executable).parent / "bentoml")
    os.execve(
        bentoml,
        [bentoml, "serve", "serving.service:ComplaintRadar", "--host", host, "--port", str(port)],
        env,
    )
    return 0  # not reached


def service_env(config: RadarConfig, config_path: Path | None = None) -> dict[str, str]:
    """Environment for a service process: the same config file, workspace and MLflow store.

    The store is set explicitly because MLflow writes ``MLFLOW_TRACKING_URI`` into this
    process's environment whenever a store is used, whichever store that was.
    """
    env = dict(os.environ)
    env[CONFIG_ENV] = str(
        Path(config_path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG).resolve()
    )
    env[WORKSPACE_ENV] = str(config.workspace.root.resolve())
    env["MLFLOW_TRACKING_URI"] = config.workspace.mlflow_uri
    env.setdefault("BENTOML_DO_NOT_TRACK", "true")
    return env


def cmd_demo(args: argparse.Namespace) -> int:
    from serving.demo import run_demo

    config = _config(args)
    return run_demo(config, args, service_env(config, args.config))


def print_evaluation(evaluation: dict) -> None:
    from training.evaluate import SCORERS, paired_differences

    scorers = [k for k in SCORERS if k in evaluation]
    metrics = (
        "roc_auc",
        "average_precision",
        "precision_at_capacity",
        "recall_at_capacity",
        "lift_top_1pct",
        "brier",
        "ece",
    )
    print(
        f"\nTest period: {evaluation['n_test_rows']} eligible customer-days over {evaluation['n_test_days']} days, "
        f"positive rate {evaluation['positive_rate']:.2%}, capacity {evaluation['capacity']['mean_daily_k']:.0f} customers/day"
    )
    print(f"{'scorer':<24}" + "".join(f"{m:>22}" for m in metrics))
    for r in scorers:
        print(f"{r:<24}" + "".join(f"{evaluation[r][m]:>22.4f}" for m in metrics))
        ci = evaluation[r].get("intervals_95", {})
        if ci:
            cells = (f"[{ci[m][0]:.3f}, {ci[m][1]:.3f}]" if m in ci else "" for m in metrics)
            print(f"{'':<24}" + "".join(f"{c:>22}" for c in cells))
    differences = paired_differences(evaluation)
    if differences:
        print("\nmodel minus peer, paired 95 % intervals (the same resampled test days):")
        for peer, metric, low, high, verdict in differences:
            if metric != "roc_auc":
                print(f"  {peer:<24}{metric:<24}[{low:+.4f}, {high:+.4f}]  {verdict}")
    if "champion_comparison" in evaluation:  # a training run, not `radar evaluate`
        comparison = evaluation["champion_comparison"]["reason"]
        champion = "this version" if evaluation["promoted_to_champion"] else "unchanged"
        print(
            f"registered {evaluation['registered_model']} version {evaluation['version']}; "
            f"champion: {champion} ({comparison})"
        )


def free_port(preferred: int, host: str = "127.0.0.1") -> int:
    """``preferred`` if it is free on ``host``, else any free port."""
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise OSError("no free port")


# ---------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="radar", description="Predict customer complaints 48 hours ahead."
    )
    parser.add_argument(
        "--config",
        type=Path,
        help=f"experiment YAML (default: ${CONFIG_ENV} or {DEFAULT_CONFIG.name})",
    )
    parser.add_argument(
        "--workspace", type=Path, help="output folder (default from config: workspace/)"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("simulate", help="generate a synthetic contact-history world")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--customers", type=int)
    p.add_argument("--days", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--truth-paths", type=int, help="Monte Carlo paths for the true risk")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("train", help="train, evaluate, log to MLflow, register, maybe promote")
    p.add_argument(
        "--data", type=Path, required=True, help="folder of contract tables (Parquet or CSV)"
    )
    p.add_argument(
        "--search",
        action="store_true",
        help="run the search grid first (nested MLflow runs) and train with the best trial",
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "search", help="hyperparameter grid on validation, one nested MLflow run per trial"
    )
    p.add_argument("--data", type=Path, required=True)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser(
        "evaluate", help="evaluate a registered version (default: champion) on a data folder"
    )
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--version", type=int, help="registered version (default: the champion)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("promote", help="make a registered version the champion")
    p.add_argument("--version", type=int, required=True)
    p.set_defaults(func=cmd_promote)

    p = sub.add_parser("score", help="write the daily risk list and the service snapshot")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--date", help="YYYY-MM-DD (default: the day the data ends)")
    p.add_argument("--out", type=Path, help="default: WORKSPACE/risk_lists")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("serve", help="start the BentoML scoring service")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="simulate -> train -> register -> risk list -> service check")
    p.add_argument("--customers", type=int)
    p.add_argument("--days", type=int)
    p.add_argument("--port", type=int)
    p.add_argument("--fresh", action="store_true", help="regenerate the world even if it exists")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        return args.func(args)
    except (ConfigError, FileNotFoundError, LookupError, ValueError) as exc:
        log.error("%s", exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
