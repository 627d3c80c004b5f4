"""``radar uplift``: learn from the matured lists' randomised groups whom a call helps."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from data.fileio import workspace_lock
from radar.commands.common import config_of, load_export, mapping_argument

NAME = "uplift"
HELP = "learn whom a call helps from the lists' contact and holdout groups; register it"


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True, help="data folder covering the lists")
    mapping_argument(p)


def run(args: argparse.Namespace) -> int:
    from serving.monitoring.learning import train_uplift

    config = config_of(args)
    with workspace_lock(config.workspace.root, NAME):
        history = load_export(config, args.data)
        result = train_uplift(config, history)
        # The groups follow as a table; the whole evaluation is in the MLflow run.
        shown = {k: v for k, v in result.evaluation.items() if k != "by_group"}
        print(json.dumps(shown, indent=2))
        (estimate, low, high), risk = (
            result.evaluation["prevented_by_uplift"],
            result.evaluation["prevented_by_risk"][0],
        )
        beyond, beyond_low, beyond_high = result.evaluation["prevented_beyond_risk"]
        print(
            f"{config.registry.uplift_model_name} version {result.version}: calling the top "
            f"{result.evaluation['top']} of the later days by expected prevention prevented "
            f"{estimate:.1f} [{low:.1f}, {high:.1f}] complaints, by risk {risk:.1f} "
            f"(difference {beyond:+.1f} [{beyond_low:+.1f}, {beyond_high:+.1f}]); "
            + (
                "champion (outreach.rank_by: prevented uses it)"
                if result.promoted
                else "not promoted: not clearly better than the ranking by risk"
            )
        )
        print(evidence_line(result.evaluation, config.monitoring.uplift_gain_to_tell))
        print("\n".join(group_lines(result.evaluation["by_group"])))
        return 0


def evidence_line(evaluation: dict, gain: float) -> str:
    """What the randomised rows can tell, in one line for the data scientist."""
    per_call, low, high = evaluation["prevented_per_100_calls"]
    factor = evaluation["rows_to_tell_gain"]
    said = (
        f"Evidence: {evaluation['rows']} randomised rows, {evaluation['complaints']} "
        f"complaints, {evaluation.get('valued_notes', 0)} calls noted with a valued code "
        f"(learner: {evaluation.get('learner', '-')}); a call prevented {per_call:.2f} [{low:.2f}, {high:.2f}] complaints per "
        "100 calls. "
    )
    if factor is None:
        return said + "The ranking by risk is not yet seen to prevent any: let more lists mature."
    times = f"{factor:.0f}" if factor >= 10 else f"{factor:.1f}"  # "103 x", "2.5 x"
    return said + (
        f"Telling a ranking that prevents {gain:.0%} more than the ranking by risk from it "
        f"would take about {times} x the {evaluation['judged_on_rows']} rows it was judged on"
        + (
            " (there are enough)."
            if factor <= 1
            else f" (at this pace, about {factor * evaluation['judged_on_days']:.0f} days of lists)."
        )
    )


def group_lines(by_group: list[dict]) -> list[str]:
    """The table of where a call helped, by group of the randomised rows (no model); a
    group whose interval leaves out 0 is marked."""
    lines = [
        "Where a call helped (complaints prevented per 100 calls in each group's randomised "
        "rows, 95 % interval; * = the interval leaves out 0):"
    ]
    for group in by_group:
        label = f"{group['modifier']} {group['value']}"
        counts = f"{group['rows']:>7,} rows {group['complaints']:>5,} complaints"
        if group["per_100"] is None:
            lines.append(f"  {label:<36} {counts}   no contacted or no held-out row")
            continue
        sure = "*" if group["low"] > 0 or group["high"] < 0 else " "
        lines.append(
            f"  {label:<36} {counts} {group['per_100']:+7.2f} "
            f"[{group['low']:+.2f}, {group['high']:+.2f}]{sure}"
        )
    return lines
