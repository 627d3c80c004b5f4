"""What the service records: contacts, complaints and events as they happen (into the event
journal) and what came of the outreach team's calls (into the outcome store). Only customers
the service knows are recorded; each item succeeds or fails alone."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pandas as pd
import sqlalchemy as sa

from serving.api.journal import EventJournal
from serving.api.metrics import OUTCOMES_POSTED, POSTED
from serving.api.online import OnlineFeatures
from serving.api.schemas import (
    EventResult,
    EventsRequest,
    EventsResponse,
    ItemResult,
    OutcomesRequest,
    OutcomesResponse,
)
from serving.fields import item_time_problems
from serving.outreach.outcomes import OutcomeStore

log = logging.getLogger("complaint_radar.service")

UNKNOWN = "unknown customer id (not in the latest snapshot)"
TABLES = ("contacts", "complaints", "events")
# A store that cannot write (disk full, database down): the request fails whole with a 503,
# and since every write is idempotent, posting it again later is safe.
STORAGE_ERRORS = (sa.exc.SQLAlchemyError, OSError)


def storage_failure(store: str, exc: BaseException) -> tuple[int, str]:
    """(status, message) for a write the store refused; one log line, no values (the
    engines hide statement parameters) and no traceback."""
    reason = getattr(exc, "orig", None) or exc
    detail = getattr(reason, "strerror", None) or str(reason).splitlines()[0]
    log.error("%s refused a write: %s: %s", store, type(reason).__name__, detail)
    return 503, (
        f"{store} unavailable ({detail}): the request was not recorded in full; posting it "
        "again later is safe (what was recorded comes back as duplicate)"
    )


def record_events(
    request: EventsRequest,
    online: OnlineFeatures,
    journal: EventJournal,
    changed: Callable[[set[str]], None],
) -> EventsResponse:
    """Journal the request's rows of known customers; ``changed`` hears whose state moved."""
    results: list[EventResult] = []
    for table in TABLES:
        items = getattr(request, table)
        refused = {i: _refusal(item, online) for i, item in enumerate(items)}
        known = [i for i, why in refused.items() if why is None]
        recorded = dict.fromkeys(range(len(items)))
        if known:
            rows = pd.DataFrame([items[i].model_dump() for i in known])
            recorded.update(zip(known, journal.record(table, rows), strict=True))
            changed(
                {
                    items[i].customer_id
                    for i in known
                    if recorded[i].status in ("accepted", "updated")
                }
            )
        for i, result in recorded.items():
            status, error = (result.status, result.error) if result else ("error", refused[i])
            POSTED.labels(table=table, status=status).inc()
            results.append(EventResult(table=table, index=i, status=status, error=error))
    recorded_count = sum(r.status in ("accepted", "updated") for r in results)
    return EventsResponse(results=results, recorded=recorded_count)


def _refusal(item: object, online: OnlineFeatures) -> str | None:
    """Why a posted item is not recorded: a customer the service does not know, or a time
    that has not happened yet."""
    if item.customer_id not in online:
        return UNKNOWN
    problems = item_time_problems(item)
    return "; ".join(problems) if problems else None


def record_outcomes(
    request: OutcomesRequest, online: OnlineFeatures, store: OutcomeStore
) -> OutcomesResponse:
    """Store the outcomes of known customers (idempotent by customer and contact time)."""
    items = request.outcomes
    refused = {i: _refusal(item, online) for i, item in enumerate(items)}
    known = [i for i, why in refused.items() if why is None]
    statuses = dict(zip(known, store.record([items[i].model_dump() for i in known]), strict=True))
    results = [
        ItemResult(index=i, status=statuses[i])
        if i in statuses
        else ItemResult(index=i, status="error", error=refused[i])
        for i in range(len(items))
    ]
    for result in results:
        OUTCOMES_POSTED.labels(status=result.status).inc()
    recorded = sum(r.status in ("accepted", "updated") for r in results)
    return OutcomesResponse(results=results, recorded=recorded)
