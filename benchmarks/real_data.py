"""Real public service-desk logs read through a mapping alone, checked and trained with the
product's own commands, the model beside its peers; and what bounding open complaints
changed on a log without resolution times.

Each log has a folder under ``benchmarks/real_data/<name>/`` holding its ``mapping.yaml``
(renames and DuckDB queries over the log's own files) and its ``config.yaml`` (the
default configuration, with shorter or longer periods only where the log asks for it),
and a ``README.md`` saying where the log comes from and under which licence. The logs
themselves are not in the repository: download them, put each in a folder, and name it:

    .venv/bin/python benchmarks/real_data.py --log helpdesk=/data/helpdesk \\
        --log incident_log=/data/incident_log [--append]

For each log: ``radar check`` (the periods and what the open-complaint rule removes from
them), ``radar train`` in a fresh workspace (the model chosen on validation beside the
logistic regression and both rules on the test period, with paired 95 % intervals) and,
with ``--before``, ``radar train`` again with complaints open for ever (the rule before
complaints were bounded) to show the customers and positives it dropped.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import append_result  # noqa: E402

LOGS = ROOT / "benchmarks" / "real_data"
RADAR = [sys.executable, "-m", "radar.cli"]
PEERS = ("logistic_regression", "rule_frequent_contact", "rule_prior_complaints")
FOR_EVER_DAYS = 36_500  # a century: "open until resolved", for a log that records no resolution


def radar(*words: str, log: Path) -> None:
    with log.open("a") as out:
        done = subprocess.run([*RADAR, *words], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    if done.returncode not in (0, 1):  # check exits 1 when a period has too few positives
        raise RuntimeError(f"radar {' '.join(words)} failed ({done.returncode}); see {log}")


def run(name: str, data: Path, work: Path, **labels: object) -> dict[str, object]:
    """``radar check`` and ``radar train`` of one log in a fresh workspace of ``work``."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    config = yaml.safe_load((LOGS / name / "config.yaml").read_text()) or {}
    if labels:
        config["labels"] = {**config.get("labels", {}), **labels}
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    common = ["--config", str(work / "config.yaml"), "--workspace", str(work / "ws")]
    mapping = ["--mapping", str(LOGS / name / "mapping.yaml")]
    log = work / "radar.log"
    radar(
        *common, "check", "--data", str(data), *mapping, "--json", str(work / "check.json"), log=log
    )
    radar(*common, "train", "--data", str(data), *mapping, log=log)
    return {
        "check": json.loads((work / "check.json").read_text()),
        "evaluation": json.loads((work / "ws" / "evaluation.json").read_text()),
    }


def _ci(block: dict, metric: str) -> str:
    low, high = block.get("intervals_95", {}).get(metric, (float("nan"),) * 2)
    return f"{block[metric]:.4f} [{low:.4f}, {high:.4f}]"


def table(results: dict[str, dict]) -> str:
    """One row per scorer per log: AP and ROC-AUC with intervals, model minus it (paired)."""
    lines = [
        "| log | scorer | average precision [95 %] | ROC-AUC | model − it, AP (paired 95 %) |",
        "|---|---|---|---|---|",
    ]
    for name, result in results.items():
        ev = result["evaluation"]
        chosen = f"model ({ev['model_kind']}, chosen on validation; {ev['features']} features)"
        lines.append(f"| {name} | {chosen} | {_ci(ev['model'], 'average_precision')} | "
                     f"{ev['model']['roc_auc']:.3f} | |")  # fmt: skip
        for peer in PEERS:
            low, high = ev[peer]["model_minus_this_95"]["average_precision"]
            lines.append(
                f"| | {peer.replace('_', ' ')} | {_ci(ev[peer], 'average_precision')} | "
                f"{ev[peer]['roc_auc']:.3f} | [{low:+.4f}, {high:+.4f}] |"
            )
    return "\n".join(lines)


def periods(results: dict[str, dict]) -> str:
    """Per log and period: eligible customer-days, positives, what open complaints removed."""
    lines = [
        "| log | period | eligible customer-days | positives | removed by an open complaint "
        "(customer-days / positives) |",
        "|---|---|---|---|---|",
    ]
    for name, result in results.items():
        p = result["check"]["periods"]
        for period in ("train", "validation", "test"):
            s = p[period]
            lines.append(
                f"| {name} | {period} {s['from']}..{s['to']} | {s['eligible_customer_days']:,} | "
                f"{s['positives']:,} | {s['removed_open_complaint_customer_days']:,} / "
                f"{s['removed_open_complaint_positives']:,} |"
            )
    return "\n".join(lines)


def before_after(name: str, before: dict, after: dict) -> str:
    """The same log with complaints open for ever (before) and bounded (after)."""
    days = after["check"]["periods"]["open_complaint_days"]
    lines = [
        f"**{name}, complaints open for ever (before) and for at most {days:.1f} days (after)**",
        "",
        "| | eligible test customer-days | test positives | train positives | "
        "prior-complaints rule ROC-AUC | model AP |",
        "|---|---|---|---|---|---|",
    ]
    for label, result in (("before", before), ("after", after)):
        p, ev = result["check"]["periods"], result["evaluation"]
        lines.append(
            f"| {label} | {p['test']['eligible_customer_days']:,} | {p['test']['positives']:,} | "
            f"{p['train']['positives']:,} | {ev['rule_prior_complaints']['roc_auc']:.3f} | "
            f"{_ci(ev['model'], 'average_precision')} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--log",
        action="append",
        required=True,
        help="NAME=FOLDER (NAME: a folder of " + str(LOGS) + ")",
    )
    parser.add_argument(
        "--before", action="store_true", help="also train with complaints open for ever"
    )
    parser.add_argument(
        "--work", type=Path, help="where workspaces go (default: a temporary folder)"
    )
    parser.add_argument("--append", action="store_true", help="add the tables to RESULTS.md")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="radar-real-"))
    results, comparisons = {}, []
    for item in args.log:
        name, _, folder = item.partition("=")
        if not (LOGS / name / "mapping.yaml").exists():
            parser.error(
                f"no mapping for {name!r}: the logs are {sorted(p.name for p in LOGS.iterdir() if p.is_dir())}"
            )
        results[name] = run(name, Path(folder).resolve(), work / name)
        if args.before:
            old = run(
                name,
                Path(folder).resolve(),
                work / f"{name}-before",
                open_complaint_days=FOR_EVER_DAYS,
            )
            comparisons.append(before_after(name, old, results[name]))
    text = "\n\n".join([table(results), periods(results), *comparisons])
    print(text)
    if args.append:
        append_result("Real logs through a mapping alone", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
