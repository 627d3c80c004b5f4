"""Evaluation plots (PNG), each with a title, labelled axes and units."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve

from training.evaluate import daily_capacity


def write_plots(
    test: pd.DataFrame,
    scores: dict[str, np.ndarray],
    importance: pd.Series,
    out: Path,
    capacity_fraction: float,
    capacity_k: int | None,
) -> list[Path]:
    """Precision-recall, reliability, daily precision at capacity and feature importance."""
    out.mkdir(parents=True, exist_ok=True)
    y = test["label"].to_numpy()
    paths = []

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, s in scores.items():
        p, r, _ = precision_recall_curve(y, s)
        ax.plot(r, p, label=name)
    ax.axhline(y.mean(), color="grey", ls=":", label=f"positive rate {y.mean():.2%}")
    ax.set(
        title="Precision-recall on the test period",
        xlabel="Recall (share of complaints caught)",
        ylabel="Precision (share of flagged who complain)",
    )
    ax.legend()
    paths.append(_save(fig, out / "precision_recall.png"))

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name in ("model", "oracle"):
        if name in scores:
            frac, mean_pred = calibration_curve(y, scores[name], n_bins=10, strategy="quantile")
            ax.plot(mean_pred, frac, "o-", label=name)
    top = max(ax.get_xlim()[1], ax.get_ylim()[1])
    ax.plot([0, top], [0, top], color="grey", ls=":", label="perfect calibration")
    ax.set(
        title="Reliability (deciles of predicted risk)",
        xlabel="Mean predicted probability",
        ylabel="Observed complaint rate (48 h)",
    )
    ax.legend()
    paths.append(_save(fig, out / "reliability.png"))

    fig, ax = plt.subplots(figsize=(7, 4.5))
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
    ax.legend()
    paths.append(_save(fig, out / "daily_precision.png"))

    fig, ax = plt.subplots(figsize=(6, 6))
    top20 = importance.sort_values().tail(20)
    ax.barh(top20.index, top20.to_numpy())
    ax.set(title="Top 20 features by total gain", xlabel="Total split gain (log-loss reduction)")
    paths.append(_save(fig, out / "feature_importance.png"))
    return paths


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
