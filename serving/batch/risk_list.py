"""``radar score``: the daily ranked risk list for the outreach team, and the feature
snapshot the service answers id lookups from, published as :mod:`serving.publication`
lays them out (a failed run leaves the previous list in place)."""

from __future__ import annotations

import json
import logging
from datetime import date as Date
from pathlib import Path

import numpy as np
import pandas as pd

from data.fileio import write_frame, write_text
from data.history import History
from experiments.config import EvaluationConfig, LabelConfig, OutreachConfig
from features.build import build_features_in_chunks
from features.labels import build_labels, label_rules
from serving import publication
from serving.outreach.assignment import assign_outreach, recently_assigned
from serving.outreach.page import render_page
from serving.scorer import Scorer
from training.metrics import daily_capacity
from training.uplift import CALLS_MADE_WORSE, UpliftModel, calls_made_worse

log = logging.getLogger(__name__)


def build_risk_list(
    history: History,
    scorer: Scorer,
    day: Date,
    labels: LabelConfig,
    capacity: EvaluationConfig | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ranked risk list of eligible customers, feature snapshot of all signed-up customers).

    With ``capacity``, reasons are computed for the day's outreach capacity and everyone
    at or above the medium tier (everyone else is listed with a probability and no reasons).
    """
    scored, snapshot = score_customers(history, scorer, day, labels, capacity)
    scored = scored.sort_values(
        ["probability", "customer_id"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
    cutoff = pd.Timestamp(day).tz_localize("UTC")
    risk_list = pd.DataFrame(
        {
            "rank": range(1, len(scored) + 1),
            "customer_id": scored["customer_id"],
            "probability": scored["probability"].round(6),
            "risk_tier": scored["risk_tier"],
            "segment": scored["segment"],
            "complaint_open": scored["complaint_open"],
            **reason_columns(scored["reasons"], scorer.serving.top_reasons),
            "scored_for": cutoff.date().isoformat(),
            "cutoff_at": cutoff,
            "model_name": scored["model_name"],
            "model_version": scored["model_version"],
        }
    )
    return risk_list, snapshot


def score_customers(
    history: History,
    scorer: Scorer,
    day: Date,
    labels: LabelConfig,
    capacity: EvaluationConfig | None = None,
    explain_top: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(eligible customers scored as of ``day``'s midnight, in customer order, with
    ``segment`` and ``complaint_open``; feature snapshot of all signed-up customers).

    Eligibility follows the model's rules (:func:`features.labels.label_rules`). Reasons go
    to the ``explain_top`` highest-risk (default: the day's capacity when ``capacity`` is
    given, else everyone) and everyone at or above the medium tier.
    """
    cutoff = pd.Timestamp(day).tz_localize("UTC")
    stale = cutoff - history.observed_until
    if stale > pd.Timedelta(days=1):
        log.warning(
            "data ends %s, %s before the cutoff %s: features miss recent activity",
            history.observed_until,
            stale,
            cutoff,
        )
    customers = history.customers[history.customers["signup_at"] < cutoff]
    if customers.empty:
        raise ValueError(f"no customer had signed up before {cutoff.date()}: nothing to score")
    cutoffs = pd.DataFrame(
        {"customer_id": customers["customer_id"].to_numpy(), "cutoff_at": cutoff}
    )
    rows = build_labels(history, cutoffs, label_rules(labels, scorer.model.feature_parameters))
    eligible = rows["eligible"].to_numpy()
    # Outreach never goes to a customer whose complaint is open (the complaints team has it).
    open_complaint = rows["complaint_open"].to_numpy()
    # By customer partition: a million customers' sorted streams at once would double the
    # memory of the scoring job. One partition at a time: a second one on another thread
    # saves a tenth of the time and costs a gigabyte at a million customers (measured).
    snapshot = build_features_in_chunks(
        history, cutoffs, workers=1, parameters=scorer.model.feature_parameters
    )
    snapshot["eligible"] = eligible
    if explain_top is None and capacity is not None:
        explain_top = daily_capacity(
            int(eligible.sum()), capacity.capacity_fraction, capacity.capacity_k
        )
    scored = scorer.score(snapshot[eligible], explain_top=explain_top)
    scored["segment"] = snapshot.loc[eligible, "segment"].to_numpy()
    scored["complaint_open"] = open_complaint[eligible]
    return scored, snapshot


def with_expected_effect(
    risk_list: pd.DataFrame,
    snapshot: pd.DataFrame,
    uplift: UpliftModel,
    rank_by: str,
    made_worse: np.ndarray | None = None,
) -> pd.DataFrame:
    """The list with each customer's ``expected_effect`` (the expected change of their
    48-hour complaint probability if contacted; negative: the call prevents) and, in words,
    ``effect_reasons`` (what moves it) beside the probability, ranked by it (most prevented
    first) when ``rank_by`` is ``prevented``. ``made_worse``: per row of the list, its
    customer's earlier calls noted as making things worse, for a model that reads them."""
    features = snapshot.set_index("customer_id").loc[risk_list["customer_id"]]
    features = features.assign(probability=risk_list["probability"].to_numpy())  # risk, no call
    if CALLS_MADE_WORSE in uplift.feature_names:
        if made_worse is None:
            raise ValueError(
                f"the uplift model reads each customer's {CALLS_MADE_WORSE!r}: "
                "score with the outcome store's notes"
            )
        features[CALLS_MADE_WORSE] = made_worse
    out = risk_list.copy()
    position = out.columns.get_loc("probability") + 1
    out.insert(position, "expected_effect", uplift.predict_effect(features).round(6))
    out.insert(position + 1, "effect_reasons", uplift.effect_reasons(features))
    if rank_by == "prevented":
        out = out.sort_values(
            ["expected_effect", "probability", "customer_id"],
            ascending=[True, False, True],
            kind="stable",
        ).reset_index(drop=True)
        out["rank"] = range(1, len(out) + 1)
    return out


def reason_columns(reasons: pd.Series, top_reasons: int) -> dict[str, object]:
    """The list's reason columns from each customer's reasons (best first)."""
    return {
        **{
            f"reason_{i + 1}": [r[i].text if len(r) > i else "" for r in reasons]
            for i in range(top_reasons)
        },
        "reason_codes": [",".join(x.code for x in r) for r in reasons],
        "suggested_action": [r[0].action if r else "No action needed" for r in reasons],
        "reasons_json": [json.dumps([vars(x) for x in r]) for r in reasons],
    }


def publish(
    risk_list: pd.DataFrame,
    snapshot: pd.DataFrame,
    history: History,
    out_dir: Path,
    day: Date,
    meta: dict,
) -> Path:
    """Publish the list and snapshot of ``day`` (see :func:`serving.publication.publish`)."""

    def write(folder: Path) -> None:
        write_frame(folder / publication.LIST_PARQUET, risk_list)
        write_frame(folder / publication.LIST_CSV, risk_list.drop(columns=["reasons_json"]))
        write_text(folder / publication.LIST_HTML, render_page(risk_list, meta))
        write_frame(folder / publication.SNAPSHOT_FEATURES, snapshot)
        for name in publication.HISTORY_TABLES:
            path = folder / publication.SNAPSHOT_HISTORY / f"{name}.parquet"
            write_frame(path, getattr(history, name))

    return publication.publish(out_dir, day, write, meta)


def preview(risk_list: pd.DataFrame, rows: int) -> str:
    """The top of the list as text, for terminals."""
    columns = [
        "rank",
        "customer_id",
        "probability",
        "risk_tier",
        "assignment",
        "reason_1",
        "suggested_action",
    ]
    return risk_list.head(rows)[columns].to_string(index=False)


def score_day(
    history: History,
    scorer: Scorer,
    day: Date,
    out_dir: Path,
    labels: LabelConfig,
    capacity: EvaluationConfig | None = None,
    outreach: OutreachConfig | None = None,
    uplift: tuple[UpliftModel, str] | None = None,
    notes: pd.DataFrame | None = None,
) -> tuple[Path, pd.DataFrame]:
    """Build and publish the risk list of ``day``; return its folder and the list.

    ``uplift``: (model, version) of whom a call helps; the list then shows each customer's
    ``expected_effect`` and, with ``outreach.rank_by: prevented``, is ranked by it.
    ``notes``: the codes noted for the calls so far
    (:func:`serving.outreach.outcomes.call_notes`), for a model that reads how many of a
    customer's calls made things worse (those made before ``day`` began).

    ``capacity``: explain only the day's capacity and the medium tier and above (see
    :func:`build_risk_list`); None explains everyone. ``outreach``: who is contacted and
    who is held out today (:func:`serving.outreach.assignment.assign_outreach`; default settings when
    None), suppressing customers assigned on the lists of the last days in ``out_dir``.
    """
    risk_list, snapshot = build_risk_list(history, scorer, day, labels, capacity)
    outreach = outreach or OutreachConfig()
    if outreach.rank_by == "prevented" and uplift is None:
        raise ValueError(
            "outreach.rank_by is 'prevented' but no uplift model is registered as champion: "
            "run `radar uplift` once lists have matured, or set outreach.rank_by: risk"
        )
    if uplift is not None:
        made_worse = None
        if notes is not None:
            at = risk_list[["customer_id"]].assign(date=day)
            made_worse = calls_made_worse(at, notes, outreach.outcome_values)
        risk_list = with_expected_effect(
            risk_list, snapshot, uplift[0], outreach.rank_by, made_worse
        )
    drawn = assign_outreach(
        risk_list,
        outreach,
        capacity or EvaluationConfig(),
        day,
        recently_assigned(out_dir, day, outreach.suppress_days),
    )
    position = risk_list.columns.get_loc("risk_tier") + 1
    risk_list.insert(position, "assignment", drawn.assignment)
    risk_list.insert(position + 1, "propensity", drawn.propensity)
    instead = pd.notna(drawn.action)
    risk_list.loc[instead, "suggested_action"] = drawn.action[instead]
    meta = {
        "scored_for": day.isoformat(),
        "cutoff_at": pd.Timestamp(day).tz_localize("UTC").isoformat(),
        "data_observed_until": history.observed_until.isoformat(),
        "data_observed_from": None
        if history.observed_from is None
        else history.observed_from.isoformat(),
        "model_name": scorer.model_name,
        "model_version": scorer.model_version,
        "n_customers": len(snapshot),
        "n_eligible": int(snapshot["eligible"].sum()),
        "tiers": risk_list["risk_tier"].value_counts().to_dict(),
        "outreach": drawn.summary,
        "rank_by": outreach.rank_by,
        "uplift_version": None if uplift is None else uplift[1],
    }
    path = publish(risk_list, snapshot, history, out_dir, day, meta)
    log.info(
        "risk list for %s: %d eligible customers, written to %s", day, meta["n_eligible"], path
    )
    return path, risk_list
