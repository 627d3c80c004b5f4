"""What the service serves, built aside and swapped in whole: the registered model that
answers, the published snapshot's online feature state, and the pointer it was loaded from.
Loading checks the new state against the snapshot built offline (and the state that served
the day against the next nightly build), counting disagreements as metrics."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace

import pandas as pd

from data.load import release_freed_memory
from experiments.config import RadarConfig
from features.catalogue import FEATURE_NAMES
from features.labels import label_rules
from serving import publication
from serving.api.journal import ChangeFollower, EventJournal
from serving.api.metrics import CHECKED, DISAGREEMENTS
from serving.api.online import OnlineFeatures
from serving.api.recording import STORAGE_ERRORS
from serving.outreach.outcomes import call_notes, without_password
from serving.scorer import Scorer
from training import registry
from training.uplift import CALLS_MADE_WORSE, UpliftModel, calls_made_worse

log = logging.getLogger("complaint_radar.service")


@dataclass(frozen=True)
class ServingState:
    """Everything one request needs: a request keeps the state it started with."""

    scorer: Scorer
    snapshot_date: str
    snapshot_cutoff: pd.Timestamp
    online: OnlineFeatures  # every customer's history, kept current by /events
    pointer: str  # what latest.json said when loaded
    uplift: UpliftModel | None = None  # whom a call helps (the uplift champion), if any
    uplift_version: str | None = None
    # Per customer with any, their calls noted as making things worse, read from the outcome
    # store as the state loads (for an uplift model that reads them).
    made_worse: dict[str, int] | None = None


def load_state(
    config: RadarConfig, journal: EventJournal | None, before: ServingState | None
) -> ServingState:
    """The state to serve: ``before`` if neither the model nor the publication changed; the
    online state is rebuilt only for a new publication (or a model that builds features
    otherwise)."""
    scorer = Scorer.from_registry(config)
    pointer = publication.pointer(config.workspace.risk_lists_dir)
    parameters = scorer.model.feature_parameters
    uplift_version = registry.uplift_champion(registry.connect(config), config)
    uplift = (
        before.uplift
        if before is not None and before.uplift_version == uplift_version
        else (
            None if uplift_version is None else registry.load_uplift_version(config, uplift_version)
        )
    )
    if before is not None and before.pointer == pointer and before.online.parameters == parameters:
        if (before.scorer.model_version, before.uplift_version) == (
            scorer.model_version,
            uplift_version,
        ):
            return before
        log.info(
            "serving %s v%s (uplift v%s)", scorer.model_name, scorer.model_version, uplift_version
        )
        effects = with_made_worse(config, uplift, uplift_version, before.snapshot_date)
        return replace(before, scorer=scorer, **effects)
    missing = [n for n in scorer.model.feature_names if n not in FEATURE_NAMES]
    if missing:
        raise ValueError(f"the model needs features the catalogue lacks: {missing[:5]}")
    # The history is read and prepared one event table at a time, each freed once in the
    # state; the snapshot's features are read for the customers the check samples only.
    snapshot = publication.load_snapshot(config.workspace.risk_lists_dir, customers=[])
    online = OnlineFeatures(
        snapshot.history,  # read one event table at a time
        journal,
        label_rules(config.labels, parameters),
        max_overlays=config.serving.max_online_overlays,
        parameters=parameters,
    )
    release_freed_memory()
    sample = online.sample(config.serving.consistency_sample, seed=0)
    snapshot = replace(snapshot, features=snapshot.features_of(sample))
    check_consistency("loaded", online, snapshot, config.serving.consistency_sample)
    if before is not None:
        check_consistency("previous", before.online, snapshot, config.serving.consistency_sample)
    date, cutoff = snapshot.date, snapshot.cutoff_at
    del snapshot
    log.info(
        "serving %s v%s with snapshot %s (%d customers, data until %s)",
        scorer.model_name,
        scorer.model_version,
        date,
        len(online.index),
        online.observed_until,
    )
    effects = with_made_worse(config, uplift, uplift_version, date)
    return ServingState(scorer, date, cutoff, online, pointer, **effects)


def with_made_worse(
    config: RadarConfig, uplift: UpliftModel | None, version: str | None, day: str
) -> dict:
    """The state's uplift fields: the model, its version and the counts it reads
    (:func:`made_worse_calls`). An outcome store that cannot be read leaves the state
    without expected effects (and without the version, so the watcher tries again at its
    next check) rather than with effects computed as if no call had made things worse."""
    try:
        made_worse = made_worse_calls(config, uplift, day)
    except STORAGE_ERRORS as exc:
        log.error(
            "outcome store unavailable (%s): serving without expected effects until it is back",
            without_password(exc),
        )
        return {"uplift": None, "uplift_version": None, "made_worse": None}
    return {"uplift": uplift, "uplift_version": version, "made_worse": made_worse}


def made_worse_calls(
    config: RadarConfig, uplift: UpliftModel | None, day: str
) -> dict[str, int] | None:
    """Per customer with any, how many of their calls made before ``day`` began (the
    snapshot's: as the day's list read them) were noted with a code worth below 0: only for
    an uplift model that reads it (else None, and no store read)."""
    if uplift is None or CALLS_MADE_WORSE not in uplift.feature_names:
        return None
    notes = call_notes(config.outcomes_url())
    customers = pd.unique(notes["customer_id"])
    at = pd.DataFrame({"customer_id": customers, "date": pd.Timestamp(day)})
    counts = calls_made_worse(at, notes, config.outreach.outcome_values)
    return {str(c): int(n) for c, n in zip(customers, counts, strict=True) if n > 0}


def check_consistency(
    check: str, online: OnlineFeatures, snapshot: publication.Snapshot, sample: int
) -> None:
    """Count online feature values that differ from the snapshot built offline."""
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


class LiveState:
    """The state the routes answer from, replaced whole by :meth:`reload`.

    A reload builds the new state aside and swaps it in with one assignment, so a request
    keeps the state it started with. Customers with rows posted while a reload builds are
    marked changed in the new state at the swap, so nothing posted meanwhile is missed. A
    failed load keeps the old state serving (or the service not ready) and says why.
    """

    def __init__(self, config: RadarConfig, journal: EventJournal | None, gauges) -> None:
        self.config, self.journal, self.gauges = config, journal, gauges
        self.state: ServingState | None = None
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self._posted_lock = threading.Lock()
        self._posted_since_reload: set[str] = set()
        self._stop = threading.Event()
        # Where this process is in the journal's change log: the first state is built from
        # the journal as it is now (or later), so following starts here.
        self.follower = ChangeFollower(journal) if journal is not None else None

    def changed(self, customer_ids: set[str]) -> None:
        """New journal rows for these customers: their online state rebuilds when next asked."""
        if not customer_ids:
            return
        with self._posted_lock:
            self._posted_since_reload.update(customer_ids)
            if self.state is not None:
                self.state.online.changed(customer_ids)

    def reload(self) -> tuple[ServingState | None, ServingState | None]:
        """Load the current champion and publication; (the state before, the state now).
        Never raises: a bad publication must not crash-loop the service."""
        with self._lock:
            before = self.state
            with self._posted_lock:
                self._posted_since_reload = set()
            try:
                loaded = load_state(self.config, self.journal, before)
                with self._posted_lock:  # rows posted while the new state was being built
                    if loaded is not before:
                        loaded.online.changed(self._posted_since_reload)
                    self.state = loaded
                self.problems = []
            except Exception as exc:
                self.problems = [f"{type(exc).__name__}: {exc}"]
                still = "still serving the previous state" if before else "not ready"
                log.error("reload failed, %s: %s", still, self.problems[0])
            self.gauges.refresh()
            return before, self.state

    def start_watching(self) -> None:
        """Reload every ``serving.reload_seconds`` when the champion or the publication moved."""
        threading.Thread(target=self._watch, name="radar-reload", daemon=True).start()

    def start_following(self) -> None:
        """Apply what any process recorded in a shared journal (every replica, every worker)
        every ``serving.journal_poll_seconds``: their customers rebuild when next asked."""
        threading.Thread(target=self._follow, name="radar-journal", daemon=True).start()

    def follow_once(self) -> int:
        """Mark changed the customers of journal changes not seen yet; returns how many."""
        customers = self.follower.poll()
        self.changed(customers)
        return len(customers)

    def _follow(self) -> None:
        poll = self.config.serving.journal_poll_seconds
        while not self._stop.wait(poll):
            try:
                self.follow_once()
            except Exception as exc:  # a database blip must not stop following for good
                log.warning("following the event journal failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        config, client = self.config, None
        while not self._stop.wait(config.serving.reload_seconds):
            try:
                client = client or registry.connect(config)
                version = registry.resolve_version(
                    client, config.registry.model_name, config.serving.model_version
                )
                state = self.state
                pointer = publication.pointer(config.workspace.risk_lists_dir)
                uplift = registry.uplift_champion(client, config)
                if state is None or (version, pointer, uplift) != (
                    state.scorer.model_version,
                    state.pointer,
                    state.uplift_version,
                ):
                    self.reload()
                else:
                    self.gauges.refresh()
            except Exception as exc:  # the watcher must never take the service down
                log.warning("reload check failed: %s", exc)
