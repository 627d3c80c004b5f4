"""The BentoML scoring service: ``POST /score`` for one or many customers.

Customers are scored by id, as of now or of a given ``as_of``: features come from the
online state (:mod:`serving.online`), the history of the latest published snapshot kept
current by ``POST /events``, evaluated by the same feature code as training. Or from a
posted history (the same two halves of ``build_features``). Every item succeeds or fails on its own.

The model is the registered version the ``champion`` alias named when it was loaded (or
a pinned one); every answer names it. A watcher (and ``POST /reload``) picks up a new
champion or snapshot without a restart: the new state is built aside and swapped in one
assignment, so in-flight requests finish on the state they started with.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import anyio
import bentoml
import numpy as np
import pandas as pd
from starlette.responses import JSONResponse

from data.contract import COMPLAINTS, CONTACTS, CUSTOMERS, EVENTS, validate_table
from data.history import History
from data.journal import EventJournal
from data.load import release_freed_memory
from data.outcomes import OutcomeStore, without_password
from experiments.config import load_config
from features.build import evaluate_features, prepare_history
from features.catalogue import FEATURE_NAMES
from features.labels import label_rules
from serving import bentoml_fixes
from serving.auth import PAGE_PATH, BearerAuth
from serving.limits import BodyLimit
from serving.online import OnlineFeatures
from serving.page import page_app
from serving.risk_list import LATEST, Snapshot, load_snapshot
from serving.schemas import (
    CustomerHistory,
    CustomerScore,
    EventOutcome,
    EventsRequest,
    EventsResponse,
    OutcomeResult,
    OutcomesRequest,
    OutcomesResponse,
    ReasonOut,
    ReloadResponse,
    ScoreRequest,
    ScoreResponse,
)
from serving.scorer import Scorer, Scores
from training import registry

log = logging.getLogger("complaint_radar.service")

# Id requests up to this many customers are scored on the event loop (a thread hop would
# cost more than the work); larger ones, and every posted history, go to a worker thread
# so that health checks and small requests never queue behind them.
INLINE_IDS = 20

SCORES = bentoml.metrics.Histogram(
    name="complaint_radar_probability",
    documentation="Calibrated 48 h complaint probabilities served",
    buckets=(0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0),
)
POSTED = bentoml.metrics.Counter(
    name="complaint_radar_events",
    documentation="Items posted to /events, by table and outcome",
    labelnames=["table", "status"],
)
OUTCOMES_POSTED = bentoml.metrics.Counter(
    name="complaint_radar_outcomes",
    documentation="Outreach outcomes posted to /outcomes, by status",
    labelnames=["status"],
)
MONITOR = {
    name: bentoml.metrics.Gauge(name=f"complaint_radar_monitor_{name}", documentation=doc)
    for name, doc in (
        ("alerts", "Alerts in the latest `radar monitor` report"),
        ("score_psi", "PSI of the score on the latest lists against training"),
        ("realized_precision_at_capacity", "Pooled over the report's matured days"),
        ("expected_precision_at_capacity", "The selected customers' mean probability, pooled"),
        ("outreach_effect", "Complaint rate of contacted minus held-out customers"),
        ("report_age_seconds", "Seconds since the monitoring report was written"),
    )
}
MONITOR_FEATURE_PSI = bentoml.metrics.Gauge(
    name="complaint_radar_monitor_feature_psi",
    documentation="PSI of each feature on the latest lists against training",
    labelnames=["feature"],
)
TIERS = bentoml.metrics.Counter(
    name="complaint_radar_scored",
    documentation="Customers scored, by risk tier",
    labelnames=["tier"],
)
CHECKED = bentoml.metrics.Counter(
    name="complaint_radar_online_offline_checked",
    documentation="Feature values of the online state compared with a snapshot built offline",
    labelnames=["check"],
)
DISAGREEMENTS = bentoml.metrics.Counter(
    name="complaint_radar_online_offline_disagreements",
    documentation="Online feature values that differ (beyond 1e-9) from the snapshot built "
    "offline at the same cutoff; check=previous: the state that served the day against the "
    "next nightly build, check=loaded: a freshly loaded state against its own snapshot",
    labelnames=["check", "feature"],
)


def _error(status: int, message: str) -> JSONResponse:
    """A JSON error body ``{"error": ...}`` with a specific message (BentoML's own 5xx body is generic)."""
    return JSONResponse({"error": message}, status_code=status)


def _whole_second(moment: datetime) -> pd.Timestamp:
    """A time-zone-aware moment in UTC, floored to the second (the features' resolution)."""
    return pd.Timestamp(moment.astimezone(UTC).replace(microsecond=0))


@dataclass(frozen=True)
class _Loaded:
    """Everything one request needs, swapped as a whole on reload."""

    scorer: Scorer
    snapshot_date: str
    snapshot_cutoff: pd.Timestamp
    online: OnlineFeatures  # every customer's history, kept current by /events
    pointer: str  # content of latest.json when loaded


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
        self.journal: EventJournal | None = None
        try:
            self.journal = EventJournal(self.config.workspace.journal_path)
        except Exception as exc:  # scoring still works; /events answers 503 and says why
            self.journal_problem = f"event journal unavailable: {type(exc).__name__}: {exc}"
            log.error("%s", self.journal_problem)
        self.outcome_store: OutcomeStore | None = None
        try:
            self.outcome_store = OutcomeStore(self.config.outcomes_url())
        except Exception as exc:  # scoring still works; /outcomes answers 503 and says why
            self.outcomes_problem = f"outcome database unavailable: {without_password(exc)}"
            log.error("%s", self.outcomes_problem)
        self.state: _Loaded | None = None
        self.problems: list[str] = []
        self._lock = threading.Lock()
        # Customers with rows posted while a reload builds its state aside: marked changed in
        # the new state at the swap, so nothing posted during a reload is missed.
        self._posted_lock = threading.Lock()
        self._posted_since_reload: set[str] = set()
        self._stop = threading.Event()
        self.reload_now()
        if self.config.serving.reload_seconds > 0:
            threading.Thread(target=self._watch, name="radar-reload", daemon=True).start()
        # Start-up leaves a heap of a million objects (MLflow, pandas, LightGBM, BentoML);
        # moved out of the collector's view, a full collection walks only what requests
        # create: a millisecond instead of a pause of ~100 ms every few thousand requests.
        gc.collect()
        gc.freeze()

    def __is_ready__(self) -> bool:
        return self.state is not None

    @bentoml.on_shutdown
    def _shutdown(self) -> None:
        self._stop.set()

    # ------------------------------------------------------------------ routes
    @bentoml.api(route="/score", input_spec=ScoreRequest, output_spec=ScoreResponse)
    async def score(self, **fields: Any) -> ScoreResponse | JSONResponse:
        """Score customers by id and/or posted history; per-item errors never fail the batch.

        Id lookups are a few array operations, done on the event loop (a thread hop would
        cost more than the work); posted histories build features, so they go to a thread.
        """
        request = ScoreRequest.model_construct(**fields)
        if request.histories:
            try:
                with anyio.fail_after(self.config.serving.history_timeout_seconds):
                    return await anyio.to_thread.run_sync(
                        self._score_request, request, abandon_on_cancel=True
                    )
            except TimeoutError:
                return _error(
                    503,
                    f"scoring the posted histories took longer than "
                    f"{self.config.serving.history_timeout_seconds:g} s "
                    "(serving.history_timeout_seconds); send fewer or shorter histories",
                )
        if len(request.customer_ids) > INLINE_IDS:
            return await anyio.to_thread.run_sync(self._score_request, request)
        return self._score_request(request)

    def _score_request(self, request: ScoreRequest) -> ScoreResponse | JSONResponse:
        state = self.state  # one reference for the whole request, whatever reloads meanwhile
        if state is None:
            return _error(503, "service not ready: " + "; ".join(self.problems))
        n = len(request.customer_ids) + len(request.histories)
        if n == 0:
            return _error(400, "nothing to score: give customer_ids and/or histories")
        if n > self.config.serving.max_batch:
            return _error(
                413, f"batch of {n} customers exceeds the limit of {self.config.serving.max_batch}"
            )
        k = self.config.serving.top_reasons if request.top_reasons is None else request.top_reasons
        as_of = _whole_second(request.as_of or datetime.now(UTC))
        results = self._score_ids(state, request.customer_ids, as_of, k)
        if request.histories:
            results += self._score_histories(state, request.histories, as_of, k)
        for item in results:
            if item.probability is not None:
                SCORES.observe(item.probability)
                TIERS.labels(tier=item.risk_tier).inc()
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
        state = self.state
        if state is None:
            return _error(503, "service not ready: " + "; ".join(self.problems))
        if self.journal is None:
            return _error(503, self.journal_problem)
        results: list[EventOutcome] = []
        for table, items in (
            ("contacts", request.contacts),
            ("complaints", request.complaints),
            ("events", request.events),
        ):
            if not items:
                continue
            known = [i for i, item in enumerate(items) if item.customer_id in state.online]
            outcomes = dict.fromkeys(range(len(items)))
            if known:
                rows = pd.DataFrame([items[i].model_dump() for i in known])
                outcomes.update(zip(known, self.journal.record(table, rows), strict=True))
                self._changed(
                    {
                        items[i].customer_id
                        for i in known
                        if outcomes[i].status in ("accepted", "updated")
                    }
                )
            for i, outcome in outcomes.items():
                status, error = (
                    (outcome.status, outcome.error)
                    if outcome is not None
                    else ("error", "unknown customer id (not in the latest snapshot)")
                )
                POSTED.labels(table=table, status=status).inc()
                results.append(EventOutcome(table=table, index=i, status=status, error=error))
        if not results:
            return _error(400, "nothing to record: give contacts, complaints and/or events")
        recorded = sum(r.status in ("accepted", "updated") for r in results)
        return EventsResponse(results=results, recorded=recorded)

    @bentoml.api(route="/outcomes", input_spec=OutcomesRequest, output_spec=OutcomesResponse)
    async def outcomes(self, **fields: Any) -> OutcomesResponse | JSONResponse:
        """Record what happened when the outreach team contacted customers (idempotent by
        customer and contact time; a repeat with other values is a correction)."""
        request = OutcomesRequest.model_construct(**fields)
        return await anyio.to_thread.run_sync(self._record_outcomes, request)

    def _record_outcomes(self, request: OutcomesRequest) -> OutcomesResponse | JSONResponse:
        state = self.state
        if state is None:
            return _error(503, "service not ready: " + "; ".join(self.problems))
        if self.outcome_store is None:
            return _error(503, self.outcomes_problem)
        items = request.outcomes
        known = [i for i, item in enumerate(items) if item.customer_id in state.online]
        statuses = dict(
            zip(
                known,
                self.outcome_store.record([items[i].model_dump() for i in known]),
                strict=True,
            )
        )
        results = [
            OutcomeResult(index=i, status=statuses[i])
            if i in statuses
            else OutcomeResult(
                index=i, status="error", error="unknown customer id (not in the latest snapshot)"
            )
            for i in range(len(items))
        ]
        for result in results:
            OUTCOMES_POSTED.labels(status=result.status).inc()
        recorded = sum(r.status in ("accepted", "updated") for r in results)
        return OutcomesResponse(results=results, recorded=recorded)

    def _changed(self, customer_ids: set[str]) -> None:
        """New journal rows for these customers: their online state rebuilds when next asked."""
        if not customer_ids:
            return
        with self._posted_lock:
            self._posted_since_reload.update(customer_ids)
            if self.state is not None:
                self.state.online.changed(customer_ids)

    @bentoml.api(route="/reload", output_spec=ReloadResponse)
    def reload(self) -> ReloadResponse:
        """Load the current champion and latest snapshot now (the watcher also does this)."""
        return self.reload_now()

    # ----------------------------------------------------------------- loading
    def reload_now(self) -> ReloadResponse:
        """Build a new state aside and swap it in; on any failure keep serving the old one
        (or stay not ready), log why, and never raise: a bad snapshot must not crash-loop."""
        with self._lock:
            before = self.state
            with self._posted_lock:
                self._posted_since_reload = set()
            try:
                loaded = self._load(before)
                with self._posted_lock:  # rows posted while the new state was being built
                    if loaded is not before:
                        loaded.online.changed(self._posted_since_reload)
                    self.state = loaded
                problems = []
            except Exception as exc:
                problems = [f"{type(exc).__name__}: {exc}"]
                log.error(
                    "reload failed, %s: %s",
                    "still serving the previous state" if before else "not ready",
                    problems[0],
                )
            self.problems = problems
            self._publish_monitoring()
            now = self.state
            return ReloadResponse(
                model_name=now.scorer.model_name if now else None,
                model_version=now.scorer.model_version if now else None,
                snapshot_date=now.snapshot_date if now else None,
                reloaded=now is not before,
                problems=problems,
            )

    def _load(self, before: _Loaded | None) -> _Loaded:
        """The state to serve: ``before`` if neither the model nor the snapshot changed; the
        online state is rebuilt only for a new snapshot."""
        scorer = Scorer.from_registry(self.config)
        pointer = self._pointer()
        parameters = scorer.model.feature_parameters
        # The online state is kept for a new model only if it builds features alike.
        if (
            before is not None
            and before.pointer == pointer
            and before.online.parameters == parameters
        ):
            if before.scorer.model_version == scorer.model_version:
                return before
            log.info("serving %s v%s", scorer.model_name, scorer.model_version)
            return _Loaded(
                scorer, before.snapshot_date, before.snapshot_cutoff, before.online, pointer
            )
        snapshot = load_snapshot(self.config.workspace.risk_lists_dir)
        missing = [n for n in scorer.model.feature_names if n not in FEATURE_NAMES]
        if missing:
            raise ValueError(f"the model needs features the catalogue lacks: {missing[:5]}")
        online = OnlineFeatures(
            snapshot.history(),
            self.journal,
            label_rules(self.config.labels, parameters),
            max_overlays=self.config.serving.max_online_overlays,
            parameters=parameters,
        )
        self._check_consistency("loaded", online, snapshot)
        if before is not None:
            self._check_consistency("previous", before.online, snapshot)
        date, cutoff = snapshot.date, snapshot.cutoff_at
        del snapshot  # its features were only needed for the check
        release_freed_memory()
        log.info(
            "serving %s v%s with snapshot %s (%d customers, data until %s)",
            scorer.model_name,
            scorer.model_version,
            date,
            len(online.index),
            online.observed_until,
        )
        return _Loaded(scorer, date, cutoff, online, pointer)

    def _check_consistency(self, check: str, online: OnlineFeatures, snapshot: Snapshot) -> None:
        """Count online feature values that differ from the snapshot built offline."""
        sample = self.config.serving.consistency_sample
        if sample == 0:
            return
        customers, differing = online.disagreements(
            snapshot.features, snapshot.cutoff_at, sample, seed=0
        )
        CHECKED.labels(check=check).inc(customers * len(FEATURE_NAMES))
        for feature, count in differing.items():
            DISAGREEMENTS.labels(check=check, feature=feature).inc(count)
        if differing:
            log.warning(
                "online features (%s state) differ from the %s snapshot for %d of %d values "
                "checked, e.g. %s",
                check,
                snapshot.date,
                sum(differing.values()),
                customers * len(FEATURE_NAMES),
                dict(list(differing.items())[:5]),
            )

    def _pointer(self) -> str:
        path = self.config.workspace.risk_lists_dir / LATEST
        return path.read_text() if path.exists() else ""

    def _publish_monitoring(self) -> None:
        """The latest `radar monitor` report as Prometheus gauges (re-read when rewritten),
        so that its alerts reach whatever watches the service."""
        path = self.config.workspace.monitoring_file
        try:
            stamp = path.stat().st_mtime
        except OSError:
            return  # no report yet
        MONITOR["report_age_seconds"].set(max(0.0, time.time() - stamp))
        if stamp == getattr(self, "_monitoring_stamp", None):
            return
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            log.warning("monitoring report %s unreadable: %s", path, exc)
            return
        self._monitoring_stamp = stamp
        pooled = report.get("pooled_at_capacity", {})
        values = {
            "alerts": len(report.get("alerts", [])),
            "score_psi": report.get("score_psi"),
            "realized_precision_at_capacity": pooled.get("realized_precision"),
            "expected_precision_at_capacity": pooled.get("expected_precision"),
            "outreach_effect": report.get("outreach_effect", {}).get("difference"),
        }
        for name, value in values.items():
            MONITOR[name].set(float("nan") if value is None else value)
        for feature, value in report.get("feature_psi", {}).items():
            MONITOR_FEATURE_PSI.labels(feature=feature).set(value)

    def _watch(self) -> None:
        """Reload when the champion alias or the published snapshot changes."""
        client = None
        while not self._stop.wait(self.config.serving.reload_seconds):
            try:
                client = client or registry.connect(self.config)
                version = registry.resolve_version(
                    client, self.config.registry.model_name, self.config.serving.model_version
                )
                state = self.state
                if (
                    state is None
                    or version != state.scorer.model_version
                    or self._pointer() != state.pointer
                ):
                    self.reload_now()
                else:
                    self._publish_monitoring()
            except Exception as exc:  # the watcher must never take the service down
                log.warning("reload check failed: %s", exc)

    # ----------------------------------------------------------------- scoring
    def _score_ids(
        self, state: _Loaded, ids: list[str], as_of: pd.Timestamp, k: int
    ) -> list[CustomerScore]:
        """Customers by id, from the online state at ``as_of``."""
        common = {
            "source": "online",
            "snapshot_date": state.snapshot_date,
            "as_of": as_of.isoformat(),
        }
        known = [cid for cid in dict.fromkeys(ids) if cid in state.online]
        results: list[CustomerScore] = []
        reason: dict[str, str] = {}
        stale = None
        if known:
            online = state.online.at(known, as_of)
            table = state.scorer.table(online.features)
            ok = np.flatnonzero(online.eligible)
            scores = state.scorer.score_table(table, ok, top_reasons=k, with_reasons=k > 0)
            position = {known[row]: i for i, row in enumerate(ok)}
            reason = {
                cid: "not a customer yet at as_of (signed up later)"
                if not online.signed_up[row]
                else "not eligible at as_of: a complaint is open"
                for row, cid in enumerate(known)
                if not online.eligible[row]
            }
            stale = self._stale_warning(state, as_of)
        for cid in ids:
            if cid not in state.online:
                results.append(
                    CustomerScore(
                        customer_id=cid,
                        status="error",
                        error="unknown customer id (not in the latest snapshot)",
                        **common,
                    )
                )
            elif cid in reason:
                results.append(
                    CustomerScore(customer_id=cid, status="error", error=reason[cid], **common)
                )
            else:
                warnings = [stale] if stale and not state.online.has_posted(cid) else []
                results.append(_item(cid, scores, position[cid], state.scorer, common, warnings))
        return results

    def _stale_warning(self, state: _Loaded, as_of: pd.Timestamp) -> str | None:
        """A warning when as_of lies well after the published data ends."""
        gap = as_of - state.online.observed_until
        if gap.value <= self.config.serving.stale_data_hours * 3600 * 10**9:  # nanoseconds
            return None
        return (
            f"the published data ends {state.online.observed_until.isoformat()}, "
            f"{gap.total_seconds() / 3600:.0f} h before as_of, and nothing was posted for this "
            "customer since: activity after it is unknown"
        )

    def _score_histories(
        self,
        state: _Loaded,
        histories: list[CustomerHistory],
        cutoff: pd.Timestamp,
        k: int,
    ) -> list[CustomerScore]:
        """All posted histories of a request through one contract pass and one feature build."""
        common = {"source": "history", "as_of": cutoff.isoformat()}
        history, problems, warnings = histories_from_request(
            histories, cutoff, state.online.incidents, state.online.observed_from
        )
        ok = [i for i, p in enumerate(problems) if not p]
        results: list[CustomerScore | None] = [None] * len(histories)
        for i, p in enumerate(problems):
            if p:
                results[i] = CustomerScore(
                    customer_id=histories[i].customer.customer_id,
                    status="error",
                    error="invalid history: " + "; ".join(p),
                    warnings=warnings[i],
                    **common,
                )
        if ok:
            ids = [histories[i].customer.customer_id for i in ok]
            prepared = prepare_history(history, parameters=state.scorer.model.feature_parameters)
            features = evaluate_features(
                prepared,
                prepared.codes(ids),
                np.repeat(np.datetime64(cutoff.tz_localize(None), "ns"), len(ids)),
            )
            features |= {
                "customer_id": np.asarray(ids, dtype=object),
                "cutoff_at": np.repeat(cutoff, len(ids)),
            }
            table = state.scorer.table(features)
            scores = state.scorer.score_table(table, top_reasons=k, with_reasons=k > 0)
            for row, i in enumerate(ok):
                results[i] = _item(ids[row], scores, row, state.scorer, common, warnings[i])
        return results


def _item(
    cid: str, scores: Scores, i: int, scorer: Scorer, common: dict, warnings: list[str]
) -> CustomerScore:
    return CustomerScore(
        customer_id=cid,
        status="ok",
        probability=float(scores.probability[i]),
        risk_tier=str(scores.risk_tier[i]),
        reasons=[ReasonOut(**vars(r)) for r in scores.reasons[i]],
        model_name=scorer.model_name,
        model_version=scorer.model_version,
        warnings=warnings,
        **common,
    )


ComplaintRadar.add_asgi_middleware(BearerAuth)
ComplaintRadar.add_asgi_middleware(BodyLimit)
ComplaintRadar.mount_asgi_app(page_app, path=PAGE_PATH)
bentoml_fixes.install()


def histories_from_request(
    posted: list[CustomerHistory],
    cutoff: pd.Timestamp,
    incidents: pd.DataFrame | None = None,
    observed_from: pd.Timestamp | None = None,
) -> tuple[History, list[list[str]], list[list[str]]]:
    """Posted histories -> one validated :class:`History` (one contract pass per table),
    observed from where the published data's observation starts (a CRM's history is read as
    the exports are).

    Returns (history, each item's problems that reject it, each item's warnings such as
    remapped categories). Messages name the table, column and problem, never a posted value
    other than an unknown category. A customer posted twice in one request is an error.
    """
    ids = [h.customer.customer_id for h in posted]
    first = {}
    for i, cid in enumerate(ids):
        first.setdefault(cid, i)
    keep = [i for i, cid in enumerate(ids) if first[cid] == i]
    rows: dict = {CUSTOMERS: [], CONTACTS: [], COMPLAINTS: [], EVENTS: []}
    for i in keep:
        h, cid = posted[i], ids[i]
        rows[CUSTOMERS].append(h.customer.model_dump())
        for schema, items in (
            (CONTACTS, h.contacts),
            (COMPLAINTS, h.complaints),
            (EVENTS, h.events),
        ):
            rows[schema].extend({**x.model_dump(), "customer_id": cid} for x in items)
    # Ids are unique per customer here, not across the request: one item's ids must not
    # collide with another's (no feature reads them).
    for schema, column in (
        (CONTACTS, "contact_id"),
        (COMPLAINTS, "complaint_id"),
        (EVENTS, "event_id"),
    ):
        for row in rows[schema]:
            if row.get(column) is not None:
                row[column] = f"{row['customer_id']}/{row[column]}"
    problems: dict[str, list[str]] = {cid: [] for cid in ids}
    warnings: dict[str, set[str]] = {cid: set() for cid in ids}
    frames = {}
    for schema, records in rows.items():
        raw = pd.DataFrame(records, columns=schema.column_names)
        valid, report = validate_table(raw, schema)
        frames[schema.name] = valid
        if report.n_rejected:
            for cid, reason in report.rejected.groupby("customer_id")["_reason"]:
                for text, count in reason.value_counts().items():
                    problems[str(cid)].append(f"{schema.name}.{text} ({count} row(s))")
        noted = report.row_warnings != ""
        if noted.any():
            for cid, note in zip(
                raw["customer_id"][noted], report.row_warnings[noted], strict=True
            ):
                warnings[str(cid)].update(n for n in note.split("\n") if n)
    item_problems = [
        problems[cid] if first[cid] == i else ["customer_id posted more than once in this request"]
        for i, cid in enumerate(ids)
    ]
    history = replace(
        History.from_frames(**frames, incidents=incidents, observed_until=cutoff),
        observed_from=observed_from,
    )
    item_warnings = [sorted(warnings[cid]) if first[cid] == i else [] for i, cid in enumerate(ids)]
    return history, item_problems, item_warnings
