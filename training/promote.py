"""The champion gate: a new version becomes ``champion`` only if it beats the frequent-
contact rule and the current champion on the same test period, and only if the champion
is still the one it was compared with when the alias moves.

Promotion is the last step of a training run (after its report and ``evaluation.json``
are written), done under a lock so that two trainings cannot both read the same champion
and both move the alias.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient

from experiments.config import RadarConfig
from features.parameters import DEFAULT_PARAMETERS, FeatureParameters
from training import registry
from training.metrics import score_metrics

log = logging.getLogger(__name__)

FLOOR_SCORER = "rule_frequent_contact"
LOCK_FILE = ".registry.lock"


@dataclass(frozen=True)
class Decision:
    """Whether a challenger should become champion, and why."""

    promote: bool
    reason: str
    metric: str
    challenger: float
    floor: float  # the frequent-contact rule's value on the same test period
    champion: float | None = None
    champion_version: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def judge(
    client: MlflowClient,
    config: RadarConfig,
    test: pd.DataFrame,
    evaluation: dict,
    parameters: FeatureParameters = DEFAULT_PARAMETERS,
    rebuild: Callable[[FeatureParameters], pd.DataFrame] | None = None,
) -> Decision:
    """Compare the challenger (``evaluation['model']``) with the floor and the champion.

    ``test`` holds the challenger's features (built with ``parameters``). A champion whose
    features are built otherwise (another vocabulary or thresholds) is judged on the same
    test rows built its own way, by ``rebuild``; without it, it is not compared at all."""
    metric = config.evaluation.promote_metric
    mine = evaluation["model"][metric]
    floor = evaluation[FLOOR_SCORER][metric]
    common = {"metric": metric, "challenger": mine, "floor": floor}
    if not mine > floor:
        return Decision(False, f"not above the frequent-contact rule ({floor:.4f})", **common)
    champion = registry.alias_version(client, config.registry.model_name, registry.CHAMPION)
    if champion is None:
        return Decision(True, "no champion yet; above the frequent-contact rule", **common)
    try:
        model = registry.load_version(config, champion.version)
        rows = test
        if model.feature_parameters != parameters:
            if rebuild is None:
                raise ValueError("its features are built with other parameters")
            log.info("champion v%s builds its features its own way: rebuilding", champion.version)
            rows = rebuild(model.feature_parameters)
            if not rows["label"].to_numpy().tolist() == test["label"].to_numpy().tolist():
                raise ValueError("its test rows differ from the challenger's")
        current = model.predict_proba(rows)
    except Exception as exc:  # an incompatible old champion must not break training
        log.warning("champion v%s cannot score this test period: %s", champion.version, exc)
        return Decision(
            False,
            f"champion cannot be evaluated ({exc}); promote by hand with `radar promote`",
            champion_version=str(champion.version),
            **common,
        )
    day, label = test["cutoff_at"].dt.date.to_numpy(), test["label"].to_numpy()
    theirs = score_metrics(day, label, current, current, config.evaluation)[metric]
    better = mine > theirs
    return Decision(
        better,
        "challenger better" if better else "champion at least as good",
        champion=theirs,
        champion_version=str(champion.version),
        **common,
    )


def promote_if_unchanged(
    client: MlflowClient, config: RadarConfig, version: str, decision: Decision
) -> tuple[bool, str]:
    """Move ``champion`` to ``version`` if the decision says so and the champion is still
    the version it was judged against. Returns (promoted, reason)."""
    if not decision.promote:
        return False, decision.reason
    name = config.registry.model_name
    with registry_lock(config.workspace.root):
        now = registry.alias_version(client, name, registry.CHAMPION)
        now_version = None if now is None else str(now.version)
        if now_version != decision.champion_version:
            reason = (
                f"champion moved to v{now_version} while this run compared against "
                f"v{decision.champion_version}: not promoted (compare with `radar evaluate`)"
            )
            log.warning("%s", reason)
            return False, reason
        registry.set_alias(client, name, registry.CHAMPION, version)
    return True, decision.reason


@contextlib.contextmanager
def registry_lock(root: Path) -> Iterator[None]:
    """An exclusive lock on the workspace's registry (blocks until the other holder is done).

    It serialises promotions on this machine; with a remote MLflow server shared by several
    machines, the re-read of the alias under the lock still refuses a stale comparison
    except in the moment between that read and the alias write.
    """
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
