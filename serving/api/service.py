"""The BentoML scoring service: routes, and the state they answer from swapped in whole.

``POST /score`` scores customers by id, as of now or of a given ``as_of``, from the online
state (:mod:`serving.api.online`: the published history kept current by ``POST /events``),
or from posted histories, with the features training computes. ``POST /outcomes`` records
what the outreach team's calls came to; ``/list`` is the team's page. The model is the
registered version the ``champion`` alias named when it was loaded (or a pinned one); every
answer names it. A watcher (and ``POST /reload``) picks up a new champion or publication
without a restart: the new state is built aside and swapped in one assignment, so requests
in flight finish on the state they started with.
"""

from __future__ import annotations

import gc
import logging
from datetime import UTC, datetime
from typing import Any

import anyio
import bentoml
from starlette.responses import JSONResponse

from experiments.config import load_config
from features.pit import whole_second
from serving.api import bentoml_fixes
from serving.api.auth import PAGE_PATH, AuthConfigError, BearerAuth, load_token
from serving.api.guard import RequestGuard
from serving.api.journal import EventJournal
from serving.api.limits import BodyLimit
from serving.api.metrics import MonitoringGauges, count_scores
from serving.api.page import PageContext, outreach_page
from serving.api.recording import (
    STORAGE_ERRORS,
    record_events,
    record_outcomes,
    storage_failure,
)
from serving.api.schemas import (
    EventsRequest,
    EventsResponse,
    OutcomesRequest,
    OutcomesResponse,
    ReloadResponse,
    ScoreRequest,
    ScoreResponse,
)
from serving.api.scoring import refuse_all, score_histories, score_ids
from serving.api.state import LiveState
from serving.fields import time_problem
from serving.outreach.outcomes import OutcomeStore, without_password

log = logging.getLogger("complaint_radar.service")

# Id requests up to this many customers are scored on the event loop (a thread hop would
# cost more than the work); larger ones, and every posted history, go to a worker thread
# so that health checks and small requests never queue behind them.
INLINE_IDS = 20


def _error(status: int, message: str) -> JSONResponse:
    """A JSON error body ``{"error": ...}`` with a specific message (BentoML's own 5xx body is generic)."""
    return JSONResponse({"error": message}, status_code=status)


def _open(what: str, factory: Any) -> tuple[Any, str | None]:
    """(a store, None), or (None, why not): scoring works without the stores; their routes
    answer 503 and say why."""
    try:
        return factory(), None
    except Exception as exc:
        problem = f"{what} unavailable: {without_password(exc)}"
        log.error("%s", problem)
        return None, problem


# No access-log line per request: at hundreds of requests a second it is a measurable share
# of each request's CPU, and the Prometheus metrics already count requests by route and status.
# Operators who want the lines: BENTOML_CONFIG_OVERRIDES=
# '{"services": {"complaint_radar": {"logging": {"access": {"enabled": true}}}}}'.
@bentoml.service(
    name="complaint_radar",
    workers=1,
    traffic={"timeout": 60},
    logging={"access": {"enabled": False}},
)
class ComplaintRadar:
    """Complaint risk in the next 48 hours, with reasons, for the CRM."""

    def __init__(self) -> None:
        self.config = load_config()
        self.journal, self.journal_problem = _open(
            "event journal", lambda: EventJournal(self.config.journal_url())
        )
        self.outcome_store, self.outcomes_problem = _open(
            "outcome database", lambda: OutcomeStore(self.config.outcomes_url())
        )
        gauges = MonitoringGauges(self.config.workspace.monitoring_file)
        self.live = LiveState(self.config, self.journal, gauges)
        self.live.reload()
        try:
            token = load_token(self.config)
        except AuthConfigError:
            token = None  # the middleware refuses every protected route and says why
        lists = self.config.workspace.risk_lists_dir
        outreach_page.attach(PageContext(lists, token, self.outcome_store))
        if self.config.serving.reload_seconds > 0:
            self.live.start_watching()
        if self.journal is not None and self.config.serving.journal_poll_seconds > 0:
            self.live.start_following()
        # Start-up leaves a heap of a million objects (MLflow, pandas, LightGBM, BentoML);
        # moved out of the collector's view, a full collection walks only what requests
        # create: a millisecond instead of a pause of ~100 ms every few thousand requests.
        gc.collect()
        gc.freeze()

    def __is_ready__(self) -> bool:
        return self.live.state is not None

    @bentoml.on_shutdown
    def _shutdown(self) -> None:
        self.live.stop()

    def _not_ready(self) -> JSONResponse:
        return _error(503, "service not ready: " + "; ".join(self.live.problems))

    # ------------------------------------------------------------------ routes
    @bentoml.api(route="/score", input_spec=ScoreRequest, output_spec=ScoreResponse)
    async def score(self, **fields: Any) -> ScoreResponse | JSONResponse:
        """Score customers by id and/or posted history; per-item errors never fail the batch.

        Id lookups are a few array operations, done on the event loop (a thread hop would
        cost more than the work); posted histories build features, so they go to a thread.
        """
        request = ScoreRequest.model_construct(**fields)
        limit = self.config.serving.history_timeout_seconds
        if request.histories:
            try:
                with anyio.fail_after(limit):
                    return await anyio.to_thread.run_sync(
                        self._score, request, abandon_on_cancel=True
                    )
            except TimeoutError:
                return _error(
                    503,
                    f"scoring the posted histories took longer than {limit:g} s "
                    "(serving.history_timeout_seconds); send fewer or shorter histories",
                )
        if len(request.customer_ids) > INLINE_IDS:
            return await anyio.to_thread.run_sync(self._score, request)
        return self._score(request)

    def _score(self, request: ScoreRequest) -> ScoreResponse | JSONResponse:
        state, serving = self.live.state, self.config.serving  # one state for the request
        if state is None:
            return self._not_ready()
        n = len(request.customer_ids) + len(request.histories)  # none: an empty answer
        if n > serving.max_batch:
            return _error(413, f"batch of {n} customers exceeds the limit of {serving.max_batch}")
        k = serving.top_reasons if request.top_reasons is None else request.top_reasons
        problem = time_problem(request.as_of)
        if problem is not None:  # every item fails alike: nothing is scored as of the future
            results = refuse_all(request.customer_ids, request.histories, f"as_of: {problem}")
        else:
            as_of = whole_second(request.as_of or datetime.now(UTC))
            results = score_ids(state, request.customer_ids, as_of, k, serving.stale_data_hours)
            if request.histories:
                results += score_histories(state, request.histories, as_of, k)
        scored = [r for r in results if r.probability is not None]
        count_scores([r.probability for r in scored], [r.risk_tier for r in scored])
        return ScoreResponse(
            results=results,
            model_name=state.scorer.model_name,
            model_version=state.scorer.model_version,
            snapshot_date=state.snapshot_date,
        )

    @bentoml.api(route="/events", input_spec=EventsRequest, output_spec=EventsResponse)
    async def events(self, **fields: Any) -> EventsResponse | JSONResponse:
        """Record contacts, complaints and events as they happen (idempotent by id, kept
        across restarts, folded into the next daily list); each item succeeds or fails alone."""
        request = EventsRequest.model_construct(**fields)
        return await anyio.to_thread.run_sync(self._record_events, request)

    def _record_events(self, request: EventsRequest) -> EventsResponse | JSONResponse:
        state = self.live.state
        if state is None:
            return self._not_ready()
        if self.journal is None:
            return _error(503, self.journal_problem)
        try:
            return record_events(request, state.online, self.journal, self.live.changed)
        except STORAGE_ERRORS as exc:
            return _error(*storage_failure("event journal", exc))

    @bentoml.api(route="/outcomes", input_spec=OutcomesRequest, output_spec=OutcomesResponse)
    async def outcomes(self, **fields: Any) -> OutcomesResponse | JSONResponse:
        """Record what happened when the outreach team contacted customers (idempotent by
        customer and contact time; a repeat with other values is a correction)."""
        request = OutcomesRequest.model_construct(**fields)
        return await anyio.to_thread.run_sync(self._record_outcomes, request)

    def _record_outcomes(self, request: OutcomesRequest) -> OutcomesResponse | JSONResponse:
        state = self.live.state
        if state is None:
            return self._not_ready()
        if self.outcome_store is None:
            return _error(503, self.outcomes_problem)
        try:
            return record_outcomes(request, state.online, self.outcome_store)
        except STORAGE_ERRORS as exc:
            return _error(*storage_failure("outcome database", exc))

    @bentoml.api(route="/reload", output_spec=ReloadResponse)
    def reload(self) -> ReloadResponse:
        """Load the current champion and latest publication now (the watcher also does this)."""
        before, now = self.live.reload()
        return ReloadResponse(
            model_name=now.scorer.model_name if now else None,
            model_version=now.scorer.model_version if now else None,
            snapshot_date=now.snapshot_date if now else None,
            reloaded=now is not before,
            problems=self.live.problems,
        )


ComplaintRadar.add_asgi_middleware(BearerAuth)
ComplaintRadar.add_asgi_middleware(BodyLimit)
ComplaintRadar.add_asgi_middleware(RequestGuard)
ComplaintRadar.mount_asgi_app(outreach_page, path=PAGE_PATH)
bentoml_fixes.install()
