"""Candidate models fitted on the train period and chosen on the validation period.

With many positives the default LightGBM shape wins; with a few dozen, a strongly
regularised booster or the logistic regression often ranks better, and the validation
period says which. The test period is never looked at here, so the choice cannot flatter
the test metrics that ``radar train`` reports beside the peers.

The validation period also stops the boosters early and calibrates every candidate, so a
booster's validation score is slightly optimistic next to the linear model's; with few
positives that bias is small beside the noise, and the test period judges the winner.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from experiments.config import RadarConfig
from features.parameters import DEFAULT_PARAMETERS, FeatureParameters
from training.fit import fit_candidate
from training.metrics import bootstrap_intervals
from training.model import CalibratedModel

log = logging.getLogger(__name__)

METRICS = {"average_precision": average_precision_score, "roc_auc": roc_auc_score}


@dataclass
class Selection:
    """The chosen model and what every candidate scored on validation."""

    model: CalibratedModel
    chosen: str
    metric: str
    candidates: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"chosen": self.chosen, "metric": self.metric, "candidates": self.candidates}


def choose_model(
    frame: pd.DataFrame, config: RadarConfig, parameters: FeatureParameters = DEFAULT_PARAMETERS
) -> Selection:
    """Fit every configured candidate and choose on the validation period.

    The best validation score does not simply win: with a few dozen positives (complaints
    cluster by customer, so a handful of customers decide the score) the best is often
    luck. The candidates are listed simplest first, and the first whose score is not
    clearly below the best's wins: the paired 95 % interval of best minus it, resampling
    validation days and customers, reaches zero (the one-standard-error rule of model
    selection). With thousands of positives the interval is narrow and the best wins.
    """
    metric = config.selection.metric
    val = frame[frame["split"] == "validation"]
    y_val, w_val = val["label"].to_numpy(), val["weight"].to_numpy()
    positives = int(frame.loc[frame["split"] == "train", "label"].sum())
    candidates = config.selection.resolve(config.model)
    models: dict[str, CalibratedModel] = {}
    scores: dict[str, np.ndarray] = {}
    rows, skipped = [], []
    for i, candidate in enumerate(candidates, start=1):
        limit = candidate.max_train_positives
        if limit is not None and positives > limit:
            log.info(
                "candidate %d/%d %s skipped: %d train positives, more than its %d",
                i,
                len(candidates),
                candidate.name,
                positives,
                limit,
            )
            skipped.append(
                {
                    "name": candidate.name,
                    "kind": candidate.kind,
                    "skipped": f"{positives} train positives, more than its "
                    f"max_train_positives ({limit})",
                }
            )
            continue
        started = time.perf_counter()
        models[candidate.name] = model = fit_candidate(frame, candidate, parameters)
        scores[candidate.name] = model.raw_score(val)
        value = float(METRICS[metric](y_val, scores[candidate.name], sample_weight=w_val))
        rows.append(
            {
                "name": candidate.name,
                **model.describe(),
                f"validation_{metric}": round(value, 6),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        log.info(
            "candidate %d/%d %s (%s): validation %s %.4f",
            i,
            len(candidates),
            candidate.name,
            candidate.kind,
            metric,
            value,
        )
    if not rows:
        raise ValueError(
            f"every candidate in selection.candidates was skipped ({positives} train "
            "positives): list one without max_train_positives"
        )
    key = f"validation_{metric}"
    best = max(rows, key=lambda r: r[key])["name"]  # the first listed among equals
    below = _clearly_below(val, scores, best, metric, config)
    for row in rows:
        row["best_minus_this_95"] = below.get(row["name"])
    chosen = next(r["name"] for r in rows if r["name"] == best or not _is_clear(below, r["name"]))
    listed = {r["name"]: r for r in rows + skipped}
    return Selection(models[chosen], chosen, metric, [listed[c.name] for c in candidates])


def _clearly_below(
    val: pd.DataFrame,
    scores: dict[str, np.ndarray],
    best: str,
    metric: str,
    config: RadarConfig,
) -> dict[str, list[float]]:
    """Paired 95 % intervals of the best candidate's metric minus each other's on the
    validation period, resampling days and customers (no resamples configured: none)."""
    if config.evaluation.bootstrap_samples == 0 or len(scores) == 1:
        return {}
    ranking = {"model": scores[best], **{n: s for n, s in scores.items() if n != best}}
    _, differences = bootstrap_intervals(
        val["cutoff_at"].dt.date.to_numpy(),
        val["label"].to_numpy(),
        ranking,
        config.evaluation,
        config.model.seed,
        val["customer_id"].to_numpy(),
    )
    return {name: d[metric] for name, d in differences.items() if metric in d}


def _is_clear(below: dict[str, list[float]], name: str) -> bool:
    """Whether the best is clearly above ``name`` (no interval: judged on the score alone)."""
    interval = below.get(name)
    return interval is None or interval[0] > 0


def selection_lines(selection: dict | None) -> list[str]:
    """One line per candidate model: its validation score, the chosen one marked."""
    if not selection:
        return []
    metric = selection["metric"]
    lines = [
        f"candidate models (simplest first), validation {metric} and the paired 95 % interval "
        "of the best minus each:"
    ]
    for row in selection["candidates"]:
        if "skipped" in row:
            lines.append(f"  {row['name']:<24}{row['kind']:<10}skipped: {row['skipped']}")
            continue
        interval = row.get("best_minus_this_95")
        shown = f"[{interval[0]:+.4f}, {interval[1]:+.4f}]" if interval else ""
        mark = "chosen" if row["name"] == selection["chosen"] else ""
        lines.append(
            f"  {row['name']:<24}{row['kind']:<10}{row[f'validation_{metric}']:.4f}  "
            f"{shown:<20}  {mark}".rstrip()
        )
    return lines
