"""``radar monitor``: how the published lists did once their labels matured."""

from __future__ import annotations

import argparse
from pathlib import Path

from data.fileio import workspace_lock
from radar.commands.common import config_of, load_export, mapping_argument

NAME = "monitor"
HELP = "how the published lists did once their labels matured; drift; alerts"


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True, help="data folder covering the lists")
    mapping_argument(p)


def run(args: argparse.Namespace) -> int:
    from serving.monitoring.monitor import run_monitor

    config = config_of(args)
    with workspace_lock(config.workspace.root, NAME):
        history = load_export(config, args.data)
        report = run_monitor(history, config)
        print("\n".join(summary_lines(report)))
        out = config.workspace
        print(
            f"report: {out.monitoring_dir / 'monitoring.html'} (and {out.monitoring_file}; also in MLflow)"
        )
        return 0


def summary_lines(report: dict) -> list[str]:
    """The report for a terminal: each matured day, the effect, drift, notes and alerts."""
    lines = []
    for day in report["matured_days"]:
        realized, expected = (
            day["realized_precision_at_capacity"],
            day["expected_precision_at_capacity"],
        )
        precision = f"{realized:.3f} (expected {expected:.3f})" if realized is not None else "n/a"
        lines.append(
            f"{day['date']}: {day['selected']} selected, precision at capacity {precision}, "
            f"contact {day['contact_complaints']}/{day['contact_customers']}, "
            f"holdout {day['holdout_complaints']}/{day['holdout_customers']} complained"
            + (
                f", about {day['prevented_complaints']:+.1f} complaints prevented"
                if day.get("prevented_complaints") is not None
                else ""
            )
        )
    effect = report["outreach_effect"]
    if effect.get("interval"):
        low, high = effect["interval"]
        lines.append(
            f"outreach effect (contact - holdout complaint rate): {effect['difference']:+.4f} "
            f"[{low:+.4f}, {high:+.4f}]"
        )
    if report["score_psi"] is not None:
        days = report["drift_days"]
        lines.append(f"score PSI {report['score_psi']:.3f} over the lists of {days[0]}..{days[-1]}")
    lines += [f"note: {note}" for note in report["notes"]]
    lines += [f"ALERT {alert['message']}" for alert in report["alerts"]]
    return lines
