"""What the service records: contacts, complaints and events as they happen (into the event
journal) and what came of the outreach team's calls (into the outcome store). Only customers
the service knows are recorded; each item succeeds or fails alone."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from serving.api.journal import EventJournal
from serving.api.metrics import OUTCOMES_POSTED, POSTED
from serving.api.online import OnlineFeatures
from serving.api.schemas import (
    EventResult,
    EventsRequest,
    EventsResponse,
    OutcomeResult,
    OutcomesRequest,
    OutcomesResponse,
)
from serving.outreach.outcomes import OutcomeStore

UNKNOWN = "unknown customer id (not in the latest snapshot)"
TABLES = ("contacts", "complaints", "events")


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
        known = [i for i, item in enumerate(items) if item.customer_id in online]
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
            status, error = (result.status, result.error) if result else ("error", UNKNOWN)
            POSTED.labels(table=table, status=status).inc()
            results.append(EventResult(table=table, index=i, status=status, error=error))
    recorded_count = sum(r.status in ("accepted", "updated") for r in results)
    return EventsResponse(results=results, recorded=recorded_count)


def record_outcomes(
    request: OutcomesRequest, online: OnlineFeatures, store: OutcomeStore
) -> OutcomesResponse:
    """Store the outcomes of known customers (idempotent by customer and contact time)."""
    items = request.outcomes
    known = [i for i, item in enumerate(items) if item.customer_id in online]
    statuses = dict(zip(known, store.record([items[i].model_dump() for i in known]), strict=True))
    results = [
        OutcomeResult(index=i, status=statuses[i])
        if i in statuses
        else OutcomeResult(index=i, status="error", error=UNKNOWN)
        for i in range(len(items))
    ]
    for result in results:
        OUTCOMES_POSTED.labels(status=result.status).inc()
    recorded = sum(r.status in ("accepted", "updated") for r in results)
    return OutcomesResponse(results=results, recorded=recorded)
