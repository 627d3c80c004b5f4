"""The outreach page: today's list to work through, filtered and searched in the browser, with
outcomes recorded from it (served at ``/list`` by the service; the same page, read-only,
beside each published list as ``risk_list.html``). Rendered from a Jinja2 template that
escapes every value; the script is a static file."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
from markupsafe import Markup

from data.templates import render

HERE = Path(__file__).resolve().parent
PAGE_ROWS = 1000  # the top of the list; the CSV and Parquet files hold everyone
# What the team can note; the first four say what a call that reached the customer did (what
# outreach.outcome_values values by default), the rest how it went otherwise.
OUTCOME_CODES = (
    "issue_resolved",
    "customer_calmed",
    "no_change",
    "customer_upset",
    "callback_scheduled",
    "declined",
    "no_answer",
    "other",
)
FILTERS = (("f-tier", "tier"), ("f-assignment", "assignment"), ("f-segment", "segment"))


@cache
def script() -> Markup:
    """The page's script, inlined so that a list opened from disk works too."""
    return Markup((HERE / "static" / "list.js").read_text(encoding="utf-8"))


def render_page(
    risk_list: pd.DataFrame,
    meta: dict,
    outcomes: pd.DataFrame | None = None,
    interactive: bool = False,
) -> str:
    """The list as a page: filters (tier, assignment, segment, reason), search by customer,
    today's capacity line and, when ``interactive``, a form per row to record an outcome."""
    shown = risk_list.head(PAGE_ROWS)
    recorded = latest_outcomes(outcomes)
    reasons = sorted({c for codes in shown["reason_codes"] for c in str(codes).split(",") if c})
    segments = shown["segment"].astype(str) if "segment" in shown else pd.Series(dtype=str)
    values = (["high", "medium", "low"], ["contact", "holdout", "none"], sorted(segments.unique()))
    tiers = risk_list["risk_tier"].value_counts().to_dict()
    outreach = meta.get("outreach", {})
    return render(
        __file__,
        "list.html",
        meta=meta,
        tiers={tier: tiers.get(tier, 0) for tier in ("high", "medium", "low")},
        outreach={
            "capacity": outreach.get("capacity", "?"),
            "contact": outreach.get("contact", 0),
            "holdout": outreach.get("holdout", 0),
            "recent": outreach.get("suppressed_recently_assigned", 0),
            "suppress_days": outreach.get("suppress_days", "?"),
        },
        filters=[
            *((key, label, v) for (key, label), v in zip(FILTERS, values, strict=True)),
            ("f-reason", "reason", reasons),
        ],
        rows=[_row(r, recorded.get(str(r.customer_id))) for r in shown.itertuples()],
        with_effect="expected_effect" in risk_list.columns,
        rank_by=meta.get("rank_by", "risk"),
        interactive=interactive,
        outcome_codes=OUTCOME_CODES,
        script=script(),
    )


def _row(r: object, outcome: str | None) -> dict[str, object]:
    return {
        "rank": r.rank,
        "customer": str(r.customer_id),
        "probability": float(r.probability),
        # Expected change of the complaint probability if contacted (None: no uplift model).
        "effect": float(r.expected_effect) if hasattr(r, "expected_effect") else None,
        "effect_reasons": str(getattr(r, "effect_reasons", "") or ""),
        "tier": r.risk_tier,
        "assignment": getattr(r, "assignment", "none"),
        "segment": str(getattr(r, "segment", "")),
        "reasons": [
            str(getattr(r, f"reason_{i}")) for i in range(1, 10) if getattr(r, f"reason_{i}", "")
        ],
        "reason_codes": str(r.reason_codes),
        "action": str(r.suggested_action),
        "outcome": outcome,
    }


def latest_outcomes(outcomes: pd.DataFrame | None) -> dict[str, str]:
    """Customer -> what the latest recorded outcome says."""
    if outcomes is None or outcomes.empty:
        return {}
    latest = outcomes.sort_values("contacted_at").groupby("customer_id").tail(1)
    return {
        str(o.customer_id): f"recorded: {o.outcome_code} "
        f"({'reached' if o.reached else 'not reached'})"
        for o in latest.itertuples()
    }
