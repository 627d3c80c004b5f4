"""MLflow tracking and registry: the embedded SQLite store by default, aliases
``challenger`` (every new version) and ``champion`` (the version that serves).
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from data.fileio import process_alive
from experiments.config import RadarConfig
from training.model import CalibratedModel
from training.pyfunc_model import MODEL_ARTIFACT
from training.uplift import UPLIFT_ARTIFACT, UpliftModel

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
HOST_TAG = "radar.host"
PID_TAG = "radar.pid"
PYFUNC_CODE = Path(__file__).with_name("pyfunc_model.py")
UPLIFT_CODE = Path(__file__).with_name("uplift_pyfunc.py")


def connect(config: RadarConfig) -> MlflowClient:
    """Point MLflow at the configured store and make sure the experiment exists."""
    uri = config.workspace.mlflow_uri
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(uri, uri)
    ensure_experiment(client, config.registry.experiment, config)
    mlflow.set_experiment(config.registry.experiment)
    return client


def ensure_experiment(client: MlflowClient, name: str, config: RadarConfig) -> None:
    """Create experiment ``name`` when missing: on a tracking server its artifacts go to the
    server's store (which every machine of the team reaches), on a local store beside it in
    the workspace."""
    if client.get_experiment_by_name(name) is not None:
        return
    if _is_server(config.workspace.mlflow_uri):
        client.create_experiment(name)
    else:
        artifact_root = config.workspace.artifact_root
        artifact_root.mkdir(parents=True, exist_ok=True)
        client.create_experiment(name, artifact_location=artifact_root.as_uri())


def _is_server(uri: str) -> bool:
    """A tracking server (shared by a team), not a database or folder of this machine."""
    return uri.split("://", 1)[0] in ("http", "https", "databricks")


def log_risk_model(model: CalibratedModel, example: pd.DataFrame) -> str:
    """Log ``model`` to the active run as a pyfunc (signature + input example); return its URI.

    It is registered separately (:func:`register`), once the run's evaluation is written.
    """
    example = example[model.feature_names].head(5).reset_index(drop=True)
    output = pd.DataFrame({"probability": model.predict_proba(example)})
    return _log_pyfunc(PYFUNC_CODE, MODEL_ARTIFACT, model.save, example, output)


def log_uplift_model(model: UpliftModel, example: pd.DataFrame) -> str:
    """Log an uplift model to the active run as a pyfunc; return its URI."""
    example = example[model.input_columns].head(5).reset_index(drop=True)
    output = pd.DataFrame({"expected_effect": model.predict_effect(example)})
    return _log_pyfunc(UPLIFT_CODE, UPLIFT_ARTIFACT, model.save, example, output)


def _log_pyfunc(
    code: Path,
    artifact: str,
    save: Callable[[Path], None],
    example: pd.DataFrame,
    output: pd.DataFrame,
) -> str:
    """A model saved by ``save`` logged as code (``code``, no pickles) with its signature."""
    with tempfile.TemporaryDirectory() as tmp:
        save(Path(tmp) / artifact)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info = mlflow.pyfunc.log_model(
                name=artifact,
                python_model=str(code),
                artifacts={artifact: str(Path(tmp) / artifact)},
                signature=infer_signature(example, output),
                input_example=example,
                pip_requirements=_requirements(),
            )
    return info.model_uri


def uplift_champion(client: MlflowClient, config: RadarConfig) -> str | None:
    """The version of the uplift model the champion alias names now (None: none promoted)."""
    found = alias_version(client, config.registry.uplift_model_name, CHAMPION)
    return None if found is None else str(found.version)


def load_uplift_version(config: RadarConfig, version: str) -> UpliftModel:
    """The uplift model inside a registered version (pinned, never 'latest')."""
    connect(config)
    uri = f"models:/{config.registry.uplift_model_name}/{version}"
    return mlflow.pyfunc.load_model(uri).unwrap_python_model().model


def load_uplift(config: RadarConfig) -> tuple[UpliftModel, str] | None:
    """The uplift champion and its version; None when no uplift model has been promoted
    (lists then rank by risk alone)."""
    version = uplift_champion(connect(config), config)
    return None if version is None else (load_uplift_version(config, version), version)


def register(client: MlflowClient, model_uri: str, name: str) -> ModelVersion:
    """Register a logged model as a new version of ``name`` and mark it ``challenger``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        version = mlflow.register_model(model_uri, name)
    set_alias(client, name, CHALLENGER, version.version)
    return version


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [
        f"{p}=={version(p)}"
        for p in ("mlflow", "lightgbm", "pandas", "numpy", "scikit-learn", "pyarrow")
    ]


def alias_version(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version ``alias`` names; None only when the model or the alias does not exist.

    Any other failure (a locked or unreachable store) raises: "cannot tell" must never be
    read as "no champion yet".
    """
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        return None
    aliases = client.get_registered_model(name).aliases
    if alias not in aliases:
        return None
    return client.get_model_version(name, str(aliases[alias]))


def set_alias(client: MlflowClient, name: str, alias: str, version: str | int) -> None:
    client.set_registered_model_alias(name, alias, str(version))
    log.info("%s version %s is now '%s'", name, version, alias)


def load_version(config: RadarConfig, version: str | int) -> CalibratedModel:
    """The model inside a registered version (pinned, never 'latest') of the configured store."""
    connect(config)  # MLflow's store is process-global: always say which one
    pyfunc = mlflow.pyfunc.load_model(f"models:/{config.registry.model_name}/{version}")
    return pyfunc.unwrap_python_model().model


def resolve_version(client: MlflowClient, name: str, pinned: int | None) -> str:
    """The version to serve: the pinned one, else the champion's at this moment."""
    if pinned is not None:
        client.get_model_version(name, str(pinned))  # fails clearly if it does not exist
        return str(pinned)
    champion = alias_version(client, name, CHAMPION)
    if champion is None:
        raise LookupError(
            f"registered model '{name}' has no '{CHAMPION}' alias yet: run `radar train` first"
        )
    return str(champion.version)


def fail_dead_runs(client: MlflowClient, experiment: str) -> list[str]:
    """Mark FAILED the runs of ``experiment`` left RUNNING by a process of this host that
    no longer exists (killed mid-run); return their ids."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    runs = client.search_runs(
        [found.experiment_id],
        filter_string=f"attributes.status = 'RUNNING' and tags.`{HOST_TAG}` = '{socket.gethostname()}'",
    )
    dead = [r for r in runs if not process_alive(int(r.data.tags.get(PID_TAG, "0")))]
    for run in dead:
        client.set_terminated(run.info.run_id, status="FAILED")
        log.warning(
            "run %s was left running by process %s, which has died: marked FAILED",
            run.info.run_id,
            run.data.tags.get(PID_TAG),
        )
    return [r.info.run_id for r in dead]


def owner_tags() -> dict[str, str]:
    """Tags that let a later run tell whether this run's process is still alive."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}
