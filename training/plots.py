"""Evaluation plots (PNG) and the HTML evaluation report; every plot has a title, labelled
axes and units."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve

from data.fileio import write_text
from data.templates import inline_png, render
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
    day = test["cutoff_at"].dt.date
    return [
        save_figure(_precision_recall(y, scores), out / "precision_recall.png"),
        save_figure(_cumulative_gain(y, scores), out / "cumulative_gain.png"),
        save_figure(_reliability(y, scores), out / "reliability.png"),
        save_figure(
            _daily_precision(day, y, scores, capacity_fraction, capacity_k),
            out / "daily_precision.png",
        ),
        save_figure(_shap_summary(shap_values), out / "shap_summary.png"),
    ]


def _precision_recall(y: np.ndarray, scores: dict[str, np.ndarray]):
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
    return fig


def _cumulative_gain(y: np.ndarray, scores: dict[str, np.ndarray]):
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
    return fig


def _reliability(y: np.ndarray, scores: dict[str, np.ndarray]):
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
    return fig


def _daily_precision(
    day: pd.Series,
    y: np.ndarray,
    scores: dict[str, np.ndarray],
    capacity_fraction: float,
    capacity_k: int | None,
):
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
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
    return fig


def _shap_summary(shap_values: pd.DataFrame):
    fig, ax = plt.subplots(figsize=(6.5, 6.5))
    mean_abs = shap_values.abs().mean().sort_values().tail(20)
    ax.barh(mean_abs.index, mean_abs.to_numpy())
    ax.set(
        title=f"Reasons: top 20 features (test sample of {len(shap_values)})",
        xlabel="Mean |exact contribution| (log-odds)",
    )
    return fig


def write_report(evaluation: dict, plots: list[Path], path: Path) -> Path:
    """One self-contained HTML page: comparison table, intervals, segments, plots."""
    scorers = [k for k in SCORERS if k in evaluation]

    def rows(block: dict, names: list[str]) -> list[tuple]:
        return [
            (
                name,
                [
                    (block[name][m], block[name].get("intervals_95", {}).get(m))
                    for m in REPORT_METRICS
                ],
            )
            for name in names
        ]

    segments = []
    for segment, block in evaluation.get("by_segment", {}).items():
        names = [n for n in scorers if n in block]
        segments.append((segment, {**block, "rows": rows(block, names) if names else []}))
    cap = evaluation["capacity"]
    selection = evaluation.get("selection")
    page = render(
        __file__,
        "evaluation.html",
        model=evaluation.get("registered_model", ""),
        version=evaluation.get("version", ""),
        too_few=evaluation.get("too_few_positives", []),
        unavailable=list(evaluation.get("unavailable_families", {}).items()),
        test_period=" to ".join(evaluation.get("periods", {}).get("test", [])),
        n_rows=evaluation["n_test_rows"],
        n_days=evaluation["n_test_days"],
        positive_rate=evaluation["positive_rate"],
        capacity=cap["k"] if cap["k"] else f"{cap['fraction']:.0%}",
        mean_daily_k=cap["mean_daily_k"],
        selection="\n".join(selection_lines(selection)[1:]) if selection else "",
        metrics=REPORT_METRICS,
        overall=rows(evaluation, scorers),
        differences=paired_differences(evaluation),
        segments=segments,
        plots=[(p.stem, inline_png(p)) for p in plots],
    )
    write_text(path, page)
    return path


def save_figure(fig: plt.Figure, path: Path, dpi: int = 100) -> Path:
    """Write a figure as PNG and close it."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
