"""Scores as the service answers them: customers by id from the online state at a moment, or
from the histories a request posts; every item succeeds or fails on its own."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.build import evaluate_features, prepare_history
from serving.api.histories import histories_from_request
from serving.api.schemas import CustomerHistory, CustomerScore, ReasonOut
from serving.api.state import ServingState
from serving.scorer import Scorer, Scores
from training.uplift import CALLS_MADE_WORSE

UNKNOWN = "unknown customer id (not in the latest snapshot)"
NOT_YET = "not a customer yet at as_of (signed up later)"
COMPLAINT_OPEN = "not eligible at as_of: a complaint is open"


def refuse_all(ids: list[str], histories: list[CustomerHistory], error: str) -> list[CustomerScore]:
    """Every asked customer as an error item (a request-wide problem such as its as_of)."""
    return [
        *(
            CustomerScore(customer_id=cid, status="error", error=error, source="online")
            for cid in ids
        ),
        *(
            CustomerScore(
                customer_id=h.customer.customer_id, status="error", error=error, source="history"
            )
            for h in histories
        ),
    ]


def score_ids(
    state: ServingState, ids: list[str], as_of: pd.Timestamp, k: int, stale_hours: float
) -> list[CustomerScore]:
    """Customers by id, from the online state at ``as_of``; ``k`` reasons each."""
    common = {"source": "online", "snapshot_date": state.snapshot_date, "as_of": as_of.isoformat()}
    known = [cid for cid in dict.fromkeys(ids) if cid in state.online]
    refused: dict[str, str] = {}
    position: dict[str, int] = {}
    scores: Scores | None = None
    effects: Effects | None = None
    if known:
        now = state.online.at(known, as_of)
        ok = np.flatnonzero(now.eligible)
        table = state.scorer.table(now.features)
        scores = state.scorer.score_table(table, ok, top_reasons=k, with_reasons=k > 0)
        effects = expected_effects(state, now.features, scores.probability, k, ok)
        position = {known[row]: i for i, row in enumerate(ok)}
        refused = {
            cid: NOT_YET if not now.signed_up[row] else COMPLAINT_OPEN
            for row, cid in enumerate(known)
            if not now.eligible[row]
        }
    stale = stale_warning(state, as_of, stale_hours)
    results = []
    for cid in ids:
        if cid not in state.online or cid in refused:
            error = refused.get(cid, UNKNOWN)
            results.append(CustomerScore(customer_id=cid, status="error", error=error, **common))
        else:
            warnings = [stale] if stale and not state.online.has_posted(cid) else []
            i = position[cid]
            effect = None if effects is None else effects.at(i)
            results.append(_item(cid, scores, i, state.scorer, common, warnings, effect))
    return results


def stale_warning(state: ServingState, as_of: pd.Timestamp, stale_hours: float) -> str | None:
    """A warning when ``as_of`` lies well after the published data ends."""
    gap = as_of - state.online.observed_until
    if gap.value <= stale_hours * 3600 * 10**9:  # nanoseconds
        return None
    return (
        f"the published data ends {state.online.observed_until.isoformat()}, "
        f"{gap.total_seconds() / 3600:.0f} h before as_of, and nothing was posted for this "
        "customer since: activity after it is unknown"
    )


def score_histories(
    state: ServingState, histories: list[CustomerHistory], cutoff: pd.Timestamp, k: int
) -> list[CustomerScore]:
    """All posted histories of a request through one contract pass and one feature build."""
    common = {"source": "history", "as_of": cutoff.isoformat()}
    history, problems, warnings = histories_from_request(
        histories, cutoff, state.online.incidents, state.online.observed_from
    )
    results: list[CustomerScore] = [
        CustomerScore(
            customer_id=h.customer.customer_id,
            status="error",
            error="invalid history: " + "; ".join(p),
            warnings=w,
            **common,
        )
        for h, p, w in zip(histories, problems, warnings, strict=True)
    ]
    ok = [i for i, p in enumerate(problems) if not p]
    if not ok:
        return results
    ids = [histories[i].customer.customer_id for i in ok]
    prepared = prepare_history(history, parameters=state.scorer.model.feature_parameters)
    when = np.repeat(np.datetime64(cutoff.tz_localize(None), "ns"), len(ids))
    features = evaluate_features(prepared, prepared.codes(ids), when)
    features |= {
        "customer_id": np.asarray(ids, dtype=object),
        "cutoff_at": np.repeat(cutoff, len(ids)),
    }
    scores = state.scorer.score_table(
        state.scorer.table(features), top_reasons=k, with_reasons=k > 0
    )
    effects = expected_effects(state, features, scores.probability, k)
    for row, i in enumerate(ok):
        effect = None if effects is None else effects.at(row)
        results[i] = _item(ids[row], scores, row, state.scorer, common, warnings[i], effect)
    return results


@dataclass(frozen=True)
class Effects:
    """Each scored row's expected effect if contacted and, when asked, its reasons in words."""

    effect: np.ndarray
    reasons: list[str] | None

    def at(self, row: int) -> tuple[float, str | None]:
        return float(self.effect[row]), None if self.reasons is None else self.reasons[row]


def expected_effects(
    state: ServingState,
    features: dict[str, np.ndarray],
    probability: np.ndarray,
    k: int = 0,
    rows: np.ndarray | None = None,
) -> Effects | None:
    """Each row's (of ``rows`` of ``features``, all by default) expected change of its
    complaint probability if contacted, given its risk without a call (``probability``, one
    per row), and with ``k`` > 0 what moves it, in words (no uplift model: None)."""
    if state.uplift is None or not len(probability):
        return None  # before any feature is touched: this is every request's path
    needed = [n for n in state.uplift.feature_names if n != CALLS_MADE_WORSE]
    inputs = {
        **{n: features[n] if rows is None else features[n][rows] for n in needed},
        "probability": probability,
    }
    if state.made_worse is not None:  # the model reads it (as it was when the state loaded)
        ids = features["customer_id"] if rows is None else features["customer_id"][rows]
        inputs[CALLS_MADE_WORSE] = np.array([state.made_worse.get(c, 0) for c in ids], float)
    reasons = state.uplift.effect_reasons(inputs, top=min(k, 2)) if k > 0 else None
    return Effects(state.uplift.predict_effect(inputs), reasons)


def _item(
    cid: str,
    scores: Scores,
    i: int,
    scorer: Scorer,
    common: dict,
    warnings: list[str],
    effect: tuple[float, str | None] | None = None,
) -> CustomerScore:
    return CustomerScore(
        customer_id=cid,
        status="ok",
        probability=float(scores.probability[i]),
        risk_tier=str(scores.risk_tier[i]),
        expected_effect=None if effect is None else effect[0],
        effect_reasons=None if effect is None else effect[1],
        reasons=[ReasonOut(**vars(r)) for r in scores.reasons[i]],
        model_name=scorer.model_name,
        model_version=scorer.model_version,
        warnings=warnings,
        **common,
    )
