"""Evaluation plots (PNG) and the HTML evaluation report; every plot has a title, labelled
axes and units."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve

from training.metrics import REPORT_METRICS, SCORERS, daily_capacity, paired_differences
from training.select import selection_lines

SHAP_SAMPLE_ROWS = 5000


def write_plots(
    test: pd.DataFrame,
    scores: dict[str, np.ndarray],
    shap_values: pd.DataFrame,
    out: Path,
    capacity_fraction: float,
    capacity_k: int | None,
) -> list[Path]:
    """Precision-recall, cumulative gain, reliability, daily precision, SHAP summary."""
    out.mkdir(parents=True, exist_ok=True)
    y = test["label"].to_numpy()
    paths = []

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for name, s in scores.items():
        p, r, _ = precision_recall_curve(y, s)
        ax.plot(r, p, label=name)
    ax.axhline(y.mean(), color="grey", ls=":", label=f"positive rate {y.mean():.2%}")
    ax.set(
        title="Precision-recall on the test period",
        xlabel="Recall (share of complaints caught)",
        ylabel="Precision (share of flagged who complain)",
    )
    ax.legend(fontsize=8)
    paths.append(save_figure(fig, out / "precision_recall.png"))

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    share = np.arange(1, len(y) + 1) / len(y)
    for name, s in scores.items():
        caught = np.cumsum(y[np.argsort(-s, kind="stable")]) / max(y.sum(), 1)
        ax.plot(100 * share, 100 * caught, label=name)
    ax.plot([0, 100], [0, 100], color="grey", ls=":", label="random")
    ax.set(
        xscale="log",
        xlim=(0.1, 100),
        title="Cumulative gain",
        xlabel="Customer-days contacted, top % by score (log scale)",
        ylabel="Complaints caught (%)",
    )
    ax.legend(fontsize=8)
    paths.append(save_figure(fig, out / "cumulative_gain.png"))

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for name in ("model", "logistic_regression", "oracle"):
        if name in scores:
            frac, mean_pred = calibration_curve(y, scores[name], n_bins=10, strategy="quantile")
            ax.plot(mean_pred, frac, "o-", label=name)
    top = max(ax.get_xlim()[1], ax.get_ylim()[1])
    ax.plot([0, top], [0, top], color="grey", ls=":", label="perfect calibration")
    ax.set(
        title="Reliability (deciles of predicted risk)",
        xlabel="Mean predicted probability",
        ylabel="Observed complaint rate within 48 h",
    )
    ax.legend(fontsize=8)
    paths.append(save_figure(fig, out / "reliability.png"))

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    day = test["cutoff_at"].dt.date
    for name, s in scores.items():
        frame = pd.DataFrame({"day": day, "y": y, "s": s})
        prec = frame.groupby("day").apply(
            lambda g: g.nlargest(daily_capacity(len(g), capacity_fraction, capacity_k), "s")[
                "y"
            ].mean(),
            include_groups=False,
        )
        ax.plot(pd.to_datetime(prec.index), prec.to_numpy(), label=name)
    ax.set(
        title="Daily precision at outreach capacity",
        xlabel="Test day",
        ylabel="Precision of the day's call list",
    )
    ax.tick_params(axis="x", rotation=30)
    ax.legend(fontsize=8)
    paths.append(save_figure(fig, out / "daily_precision.png"))

    fig, ax = plt.subplots(figsize=(6.5, 6.5))
    mean_abs = shap_values.abs().mean().sort_values().tail(20)
    ax.barh(mean_abs.index, mean_abs.to_numpy())
    ax.set(
        title=f"Reasons: top 20 features (test sample of {len(shap_values)})",
        xlabel="Mean |exact contribution| (log-odds)",
    )
    paths.append(save_figure(fig, out / "shap_summary.png"))
    return paths


def write_report(evaluation: dict, plots: list[Path], path: Path) -> Path:
    """One self-contained HTML page: comparison table, intervals, segments, plots."""
    scorers = [k for k in SCORERS if k in evaluation]

    def table(block: dict, names: list[str]) -> str:
        head = "".join(f"<th>{m}</th>" for m in REPORT_METRICS)
        rows = []
        for name in names:
            cells = []
            for m in REPORT_METRICS:
                ci = block[name].get("intervals_95", {}).get(m)
                extra = f"<br><small>[{ci[0]:.3f}, {ci[1]:.3f}]</small>" if ci else ""
                cells.append(f"<td>{block[name][m]:.4f}{extra}</td>")
            rows.append(f"<tr><th>{html.escape(name)}</th>{''.join(cells)}</tr>")
        return f"<table><tr><th>scorer</th>{head}</tr>{''.join(rows)}</table>"

    segments = []
    for segment, block in evaluation.get("by_segment", {}).items():
        names = [n for n in scorers if n in block]
        title = f"<h3>{html.escape(segment)}: {block['n_rows']} customer-days, {block['positives']} positives</h3>"
        segments.append(
            title + (table(block, names) if names else "<p>No positives in the test period.</p>")
        )
    images = "".join(
        f"<figure><img alt='{p.stem}' src='data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}'></figure>"
        for p in plots
    )
    differences = "".join(
        f"<tr><th>{html.escape(peer)}</th><td>{metric}</td><td>[{low:+.4f}, {high:+.4f}]</td><td>{verdict}</td></tr>"
        for peer, metric, low, high, verdict in paired_differences(evaluation)
    )
    cap = evaluation["capacity"]
    warnings = "".join(
        f"<p style='color:#a00'><strong>Too few positives:</strong> {html.escape(w)}</p>"
        for w in evaluation.get("too_few_positives", [])
    ) + "".join(
        f"<p style='color:#a60'><strong>Feature family off:</strong> {html.escape(family)}: "
        f"it {html.escape(why)}</p>"
        for family, why in evaluation.get("unavailable_families", {}).items()
    )
    chosen = evaluation.get("selection")
    selection = (
        "<h2>Candidate models (chosen on the validation period)</h2><pre>"
        + html.escape("\n".join(selection_lines(chosen)[1:]))
        + "</pre>"
        if chosen
        else ""
    )
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Evaluation {html.escape(str(evaluation.get("registered_model", "")))} v{evaluation.get("version", "")}</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }} table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ddd; padding: .3em .6em; text-align: right; }} th {{ background: #f4f4f4; }} figure {{ display: inline-block; margin: .5em; }}
img {{ max-width: 640px; }} small {{ color: #666; }}</style></head><body>
<h1>Complaint risk model: out-of-time evaluation</h1>
{warnings}<p>{html.escape(str(evaluation.get("registered_model", "")))} version {evaluation.get("version", "")}. Test period {" to ".join(evaluation.get("periods", {}).get("test", []))}:
{evaluation["n_test_rows"]} eligible customer-days over {evaluation["n_test_days"]} days, positive rate {evaluation["positive_rate"]:.2%}.
Capacity: top {cap["k"] if cap["k"] else f"{cap['fraction']:.0%}"} eligible customers a day (about {cap["mean_daily_k"]:.0f}).
Brackets: 95 % intervals from resampling whole test days.</p>
{selection}<h2>All eligible customer-days</h2>{table(evaluation, scorers)}
<h2>Model minus each peer</h2><p>Paired 95 % intervals: every scorer judged on the same resampled test days, so shared day-to-day luck cancels.</p>
<table><tr><th>peer</th><th>metric</th><th>model - peer</th><th>verdict</th></tr>{differences}</table>
<h2>By segment</h2>{"".join(segments)}
<h2>Plots</h2>{images}
</body></html>"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path


def save_figure(fig: plt.Figure, path: Path, dpi: int = 100) -> Path:
    """Write a figure as PNG and close it."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
