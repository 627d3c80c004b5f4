"""``radar monitor``: how the published lists did once their 48-hour labels matured.

For every listed day whose horizon lies inside the data: realized precision and recall at
capacity (the customers the list selected, contacted or held out) beside the precision the
model expected (their mean probability), the complaint rates of the ``contact`` and
``holdout`` groups and their difference with a 95 % interval (the measured effect of
outreach: the two groups are a random split of the same customers), calibration by decile
over all matured days, and drift: each feature's and the score's PSI on the latest list
against the training reference stored with the model. Thresholds in ``monitoring:`` turn
these into alerts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date as Date
from pathlib import Path

import numpy as np
import pandas as pd

from data.fileio import write_json
from data.history import History
from experiments.config import EvaluationConfig, MonitoringConfig, RadarConfig
from features.labels import LabelRules, build_labels
from serving.monitoring.report import log_report
from serving.publication import (
    CONTACT,
    HOLDOUT,
    NONE,
    SNAPSHOT_FEATURES,
    ListError,
    published_days,
    read_list,
    read_meta,
)
from training import drift, registry
from training.metrics import Z95, daily_capacity
from training.model import CalibratedModel

# The same for every customer of one list: its "drift" says which weekday the list is for.
DATE_FEATURES = ("day_of_week",)


@dataclass(frozen=True)
class ListedDay:
    """One published list with what happened in its horizon."""

    day: Date
    folder: Path
    listed: pd.DataFrame  # customer_id, probability, selected, assignment, label


def matured_days(
    history: History,
    published: list[tuple[Date, Path]],
    horizon_hours: int,
    evaluation: EvaluationConfig,
) -> list[ListedDay]:
    """The listed days whose horizon ended before the data does, with their labels (every
    list already checked by :func:`serving.publication.read_list`)."""
    out = []
    for day, folder in published:
        cutoff = pd.Timestamp(day).tz_localize("UTC")
        if cutoff + pd.Timedelta(hours=horizon_hours) > history.observed_until:
            continue
        listed = read_list(folder)
        listed = listed[listed["customer_id"].isin(history.customers["customer_id"])]
        keys = pd.DataFrame({"customer_id": listed["customer_id"].to_numpy(), "cutoff_at": cutoff})
        labels = build_labels(history, keys, LabelRules(horizon_hours))
        if "assignment" in listed.columns:
            assignment = listed["assignment"].to_numpy()
        else:  # a list from before assignments: its top at the evaluation's capacity
            k = daily_capacity(len(listed), evaluation.capacity_fraction, evaluation.capacity_k)
            assignment = np.where(np.arange(len(listed)) < k, CONTACT, NONE)
        out.append(
            ListedDay(
                day,
                folder,
                pd.DataFrame(
                    {
                        "customer_id": listed["customer_id"].to_numpy(),
                        "probability": listed["probability"].to_numpy(dtype=float),
                        "assignment": assignment,
                        "selected": assignment != NONE,
                        "label": labels["label"].to_numpy(),
                    }
                ),
            )
        )
    return out


def checked_lists(published: list[tuple[Date, Path]]) -> tuple[list, list[dict]]:
    """(the published lists that pass the list schema, an alert for each that does not):
    a list that says something impossible is not believed, and says why."""
    good, refused = [], []
    for day, folder in published:
        try:
            read_list(folder)
        except ListError as exc:
            refused.append(
                {
                    "kind": "invalid_list",
                    "subject": day.isoformat(),
                    "value": None,
                    "threshold": None,
                    "message": f"the list of {day} is not judged: {exc}",
                }
            )
            continue
        good.append((day, folder))
    return good, refused


def day_summary(day: ListedDay) -> dict:
    """Precision and recall at capacity, expected precision, and the two groups' outcomes."""
    d = day.listed
    selected, label = d["selected"].to_numpy(), d["label"].to_numpy()
    n_selected, positives = int(selected.sum()), int(label.sum())
    hits = int(label[selected].sum())
    summary = {
        "date": day.day.isoformat(),
        "listed": len(d),
        "selected": n_selected,
        "positives": positives,
        "hits_at_capacity": hits,
        "realized_precision_at_capacity": hits / n_selected if n_selected else None,
        "expected_precision_at_capacity": (
            float(d.loc[selected, "probability"].mean()) if n_selected else None
        ),
        "recall_at_capacity": hits / positives if positives else None,
    }
    for group in (CONTACT, HOLDOUT):
        members = d["assignment"].to_numpy() == group
        summary[f"{group}_customers"] = int(members.sum())
        summary[f"{group}_complaints"] = int(label[members].sum())
    summary["prevented_complaints"] = prevented(summary)
    return summary


def prevented(day: dict) -> float | None:
    """Complaints the day's calls prevented, estimated from its randomised groups: the
    contact group's size times (holdout rate - contact rate); None without both groups.
    One day's estimate is noisy (a few complaints either side); the pooled effect has the
    interval."""
    nc, nh = day[f"{CONTACT}_customers"], day[f"{HOLDOUT}_customers"]
    if not nc or not nh:
        return None
    return nc * (day[f"{HOLDOUT}_complaints"] / nh - day[f"{CONTACT}_complaints"] / nc)


def pooled_at_capacity(summaries: list[dict]) -> dict:
    """Precision at capacity over every matured day's selection: realized, expected (the
    selected customers' mean probability) and the counts behind them."""
    days = [d for d in summaries if d["selected"]]
    selected = sum(d["selected"] for d in days)
    hits = sum(d["hits_at_capacity"] for d in days)
    expected = sum(d["expected_precision_at_capacity"] * d["selected"] for d in days)
    return {
        "days": len(days),
        "selected": selected,
        "hits": hits,
        "expected_hits": expected,
        "realized_precision": hits / selected if selected else None,
        "expected_precision": expected / selected if selected else None,
    }


def calibration_by_decile(days: list[ListedDay]) -> list[dict]:
    """Mean predicted probability against the observed complaint rate, per decile of the
    predicted probability over every listed customer of every matured day."""
    if not days:
        return []
    pooled = pd.concat([d.listed for d in days], ignore_index=True)
    if pooled.empty:
        return []
    decile = pd.qcut(pooled["probability"].rank(method="first"), 10, labels=False)
    grouped = pooled.groupby(decile)
    return [
        {
            "decile": int(k) + 1,
            "customers": len(g),
            "predicted": float(g["probability"].mean()),
            "observed": float(g["label"].mean()),
        }
        for k, g in grouped
    ]


def outreach_effect(days: list[ListedDay]) -> dict:
    """Complaint rate of ``contact`` minus ``holdout`` over the matured days, with a 95 %
    Newcombe interval (Wilson intervals of each rate combined: sound at small counts)."""
    pooled = pd.concat([d.listed for d in days], ignore_index=True) if days else pd.DataFrame()
    counts = {}
    for group in (CONTACT, HOLDOUT):
        members = pooled[pooled["assignment"] == group] if len(pooled) else pooled
        counts[group] = (int(members["label"].sum()) if len(members) else 0, len(members))
    (kc, nc), (kh, nh) = counts[CONTACT], counts[HOLDOUT]
    result = {
        "contact_customers": nc,
        "contact_complaints": kc,
        "holdout_customers": nh,
        "holdout_complaints": kh,
    }
    if nc == 0 or nh == 0:
        return result | {"difference": None, "interval": None, "note": "no holdout to compare"}
    pc, ph = kc / nc, kh / nh
    lc, uc = wilson(kc, nc)
    lh, uh = wilson(kh, nh)
    diff = pc - ph
    lower = diff - math.sqrt((pc - lc) ** 2 + (uh - ph) ** 2)
    upper = diff + math.sqrt((uc - pc) ** 2 + (ph - lh) ** 2)
    return result | {
        "contact_rate": pc,
        "holdout_rate": ph,
        "difference": diff,
        "interval": [lower, upper],
    }


def wilson(k: int, n: int) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k / n."""
    p = k / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2)) / (1 + Z95**2 / n)
    return centre - half, centre + half


def feature_drift(
    model: CalibratedModel, folders: list[Path]
) -> tuple[dict[str, float], float] | None:
    """(PSI per feature, PSI of the probability) of the customers of some published lists,
    pooled, against the model's training reference; None for a model registered before
    references were kept. Pooling a few days keeps features that one day shares across
    many customers (a region's incident, the bill calendar) from reading as drift."""
    reference = getattr(model, "reference_", None)
    if not reference:
        return None
    snapshots = [pd.read_parquet(folder / SNAPSHOT_FEATURES) for folder in folders]
    eligible = pd.concat([s[s["eligible"]] for s in snapshots], ignore_index=True)
    matrix = model.encode(eligible)
    features = {
        name: drift.psi(reference["features"][name], matrix[:, j])
        for j, name in enumerate(model.feature_names)
        if name in reference["features"] and name not in DATE_FEATURES
    }
    scores = np.concatenate([read_list(folder)["probability"].to_numpy() for folder in folders])
    return features, drift.psi(reference["probability"], scores)


def usual_movement(model: CalibratedModel) -> dict[str, float | None]:
    """Per feature, the largest PSI of one week of the training period against the whole
    (None for a model registered before it was kept)."""
    features = (getattr(model, "reference_", None) or {}).get("features", {})
    return {name: spec.get("window_psi") for name, spec in features.items()}


def alerts(report: dict, thresholds: MonitoringConfig) -> list[dict]:
    """What crossed a threshold, each with its value, threshold and a sentence."""
    found = []
    usual = report.get("feature_psi_usual", {})
    for name, value in sorted(report["feature_psi"].items(), key=lambda kv: -kv[1]):
        # Beyond the threshold and beyond how far the feature moved between the training
        # period's own weeks (a region's incident, a rare event shared by many customers).
        moved = (usual.get(name) or 0.0) * thresholds.usual_movement_margin
        threshold = max(thresholds.feature_psi_alert, moved)
        if value > threshold:
            found.append(
                {
                    "kind": "feature_drift",
                    "subject": name,
                    "value": value,
                    "threshold": threshold,
                    "message": f"feature {name} drifted: PSI {value:.3f} against training "
                    f"(threshold {threshold:.3f})",
                }
            )
    score = report["score_psi"]
    if score is not None and score > thresholds.score_psi_alert:
        found.append(
            {
                "kind": "score_drift",
                "subject": "probability",
                "value": score,
                "threshold": thresholds.score_psi_alert,
                "message": f"the score's distribution drifted: PSI {score:.3f} against training",
            }
        )
    pooled = report["pooled_at_capacity"]
    hits, expected = pooled["hits"], pooled["expected_hits"]
    if pooled["days"] and expected > 0 and hits < thresholds.min_precision_ratio * expected:
        found.append(
            {
                "kind": "precision",
                "subject": "realized_precision_at_capacity",
                "value": hits / expected,
                "threshold": thresholds.min_precision_ratio,
                "message": f"the selected customers complained {hits} times over "
                f"{pooled['days']} matured day(s) where the model expected {expected:.1f}",
            }
        )
    return found


def run_monitor(history: History, config: RadarConfig) -> dict:
    """Judge every matured list of the workspace on ``history``; write and return the report."""
    lists_dir = config.workspace.risk_lists_dir
    published, refused = checked_lists(published_days(lists_dir))
    if not published:
        why = f" ({refused[-1]['message']})" if refused else ""
        raise FileNotFoundError(
            f"no published list to judge in {lists_dir}{why} (run `radar score` first)"
        )
    labels = config.labels
    days = matured_days(history, published, labels.horizon_hours, config.evaluation)
    latest = published[-1][1]
    meta = read_meta(latest)
    model = registry.load_version(config, meta["model_version"])
    recent = [folder for _, folder in published[-config.monitoring.drift_days :]]
    drifted = feature_drift(model, recent)
    report = {
        "data_observed_until": history.observed_until.isoformat(),
        "listed_days": [d.isoformat() for d, _ in published],
        "matured_days": [day_summary(d) for d in days],
        "calibration": calibration_by_decile(days),
        "outreach_effect": outreach_effect(days),
        "drift_days": [folder.name for folder in recent],
        "drift_model_version": str(meta["model_version"]),
        "feature_psi": drifted[0] if drifted else {},
        # How far each feature moved between weeks of the training period (None: unknown).
        "feature_psi_usual": usual_movement(model) if drifted else {},
        "score_psi": drifted[1] if drifted else None,
        "notes": []
        if drifted
        else [
            f"model version {meta['model_version']} was registered before training references "
            "were kept: retrain for feature and score drift"
        ],
    }
    if not days:  # the normal state of a new deployment's first days
        horizon = pd.Timedelta(hours=labels.horizon_hours)
        report["notes"].append(
            f"no list has matured yet: a list's labels are known {horizon} after its date"
        )
    report["pooled_at_capacity"] = pooled_at_capacity(report["matured_days"])
    report["thresholds"] = config.monitoring.model_dump()
    report["alerts"] = refused + alerts(report, config.monitoring)
    write_json(config.workspace.monitoring_file, report)
    log_report(report, config)  # the HTML page with plots, also in MLflow
    return report
