"""What the commands print: the evaluation table for a terminal."""

from __future__ import annotations

from training.metrics import REPORT_METRICS, SCORERS, paired_differences
from training.select import selection_lines

CELL = 22


def print_evaluation(evaluation: dict) -> None:
    """Every report metric (rows) of every scorer (columns), 95 % intervals beside, then the
    paired model-minus-peer intervals and the champion decision."""
    scorers = [k for k in SCORERS if k in evaluation]
    for warning in evaluation.get("too_few_positives", []):
        print(f"WARNING: {warning}")
    for family, why in evaluation.get("unavailable_families", {}).items():
        print(f"feature family {family} is off: it {why}")
    for period, counts in evaluation.get("eligibility", {}).items():
        if counts.get("removed_open_complaint_customer_days"):
            print(
                f"{period}: an open complaint removed {counts['removed_open_complaint_customer_days']:,} "
                f"of {counts['eligible_customer_days'] + counts['removed_open_complaint_customer_days']:,} "
                f"customer-days and {counts['removed_open_complaint_positives']:,} of "
                f"{counts['positives'] + counts['removed_open_complaint_positives']:,} positives"
            )
    print_selection(evaluation.get("selection"))
    print(
        f"\nTest period: {evaluation['n_test_rows']} eligible customer-days over {evaluation['n_test_days']} days, "
        f"positive rate {evaluation['positive_rate']:.2%}, capacity {evaluation['capacity']['mean_daily_k']:.0f} customers/day"
    )
    print(f"{'metric':<24}" + "".join(f"{s:>{CELL}}" for s in scorers))
    for metric in REPORT_METRICS:
        cells = []
        for scorer in scorers:
            value = evaluation[scorer][metric]
            ci = evaluation[scorer].get("intervals_95", {}).get(metric)
            cells.append(f"{value:.4f}" + (f" [{ci[0]:.3f},{ci[1]:.3f}]" if ci else ""))
        print(f"{metric:<24}" + "".join(f"{c:>{CELL}}" for c in cells))
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


def print_selection(selection: dict | None) -> None:
    for line in selection_lines(selection):
        print(line)
