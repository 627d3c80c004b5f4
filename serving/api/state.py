"""What the service serves, built aside and swapped in whole: the registered model that
answers, the published snapshot's online feature state, and the pointer it was loaded from.
Loading checks the new state against the snapshot built offline (and the state that served
the day against the next nightly build), counting disagreements as metrics."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd

from data.load import release_freed_memory
from experiments.config import RadarConfig
from features.catalogue import FEATURE_NAMES
from features.labels import label_rules
from serving import publication
from serving.api.journal import EventJournal
from serving.api.metrics import CHECKED, DISAGREEMENTS
from serving.api.online import OnlineFeatures
from serving.scorer import Scorer

log = logging.getLogger("complaint_radar.service")


@dataclass(frozen=True)
class ServingState:
    """Everything one request needs: a request keeps the state it started with."""

    scorer: Scorer
    snapshot_date: str
    snapshot_cutoff: pd.Timestamp
    online: OnlineFeatures  # every customer's history, kept current by /events
    pointer: str  # what latest.json said when loaded


def load_state(
    config: RadarConfig, journal: EventJournal | None, before: ServingState | None
) -> ServingState:
    """The state to serve: ``before`` if neither the model nor the publication changed; the
    online state is rebuilt only for a new publication (or a model that builds features
    otherwise)."""
    scorer = Scorer.from_registry(config)
    pointer = publication.pointer(config.workspace.risk_lists_dir)
    parameters = scorer.model.feature_parameters
    if before is not None and before.pointer == pointer and before.online.parameters == parameters:
        if before.scorer.model_version == scorer.model_version:
            return before
        log.info("serving %s v%s", scorer.model_name, scorer.model_version)
        return ServingState(
            scorer, before.snapshot_date, before.snapshot_cutoff, before.online, pointer
        )
    snapshot = publication.load_snapshot(config.workspace.risk_lists_dir)
    missing = [n for n in scorer.model.feature_names if n not in FEATURE_NAMES]
    if missing:
        raise ValueError(f"the model needs features the catalogue lacks: {missing[:5]}")
    online = OnlineFeatures(
        snapshot.history(),
        journal,
        label_rules(config.labels, parameters),
        max_overlays=config.serving.max_online_overlays,
        parameters=parameters,
    )
    check_consistency("loaded", online, snapshot, config.serving.consistency_sample)
    if before is not None:
        check_consistency("previous", before.online, snapshot, config.serving.consistency_sample)
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
    return ServingState(scorer, date, cutoff, online, pointer)


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
