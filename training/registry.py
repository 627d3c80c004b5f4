"""MLflow tracking and registry: the embedded SQLite store by default, aliases
``challenger`` (every new version) and ``champion`` (the version that serves).
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from radar.config import RadarConfig
from training.model import RiskModel
from training.pyfunc_model import MODEL_ARTIFACT

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
PYFUNC_CODE = Path(__file__).with_name("pyfunc_model.py")


def connect(config: RadarConfig) -> MlflowClient:
    """Point MLflow at the configured store and make sure the experiment exists."""
    uri = config.workspace.mlflow_uri
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(uri, uri)
    if client.get_experiment_by_name(config.registry.experiment) is None:
        artifact_root = config.workspace.artifact_root
        artifact_root.mkdir(parents=True, exist_ok=True)
        client.create_experiment(
            config.registry.experiment, artifact_location=artifact_root.as_uri()
        )
    mlflow.set_experiment(config.registry.experiment)
    return client


def log_risk_model(model: RiskModel, example: pd.DataFrame, name: str) -> ModelVersion:
    """Log ``model`` to the active run as a pyfunc (signature + input example) and register it."""
    example = example[model.feature_names].head(5).reset_index(drop=True)
    signature = infer_signature(
        example, pd.DataFrame({"probability": model.predict_proba(example)})
    )
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / MODEL_ARTIFACT)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info = mlflow.pyfunc.log_model(
                name=MODEL_ARTIFACT,
                python_model=str(PYFUNC_CODE),
                artifacts={MODEL_ARTIFACT: str(Path(tmp) / MODEL_ARTIFACT)},
                signature=signature,
                input_example=example,
                pip_requirements=_requirements(),
                registered_model_name=name,
            )
    return MlflowClient().get_model_version(name, str(info.registered_model_version))


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [
        f"{p}=={version(p)}"
        for p in ("mlflow", "lightgbm", "pandas", "numpy", "scikit-learn", "pyarrow")
    ]


def alias_version(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def set_alias(client: MlflowClient, name: str, alias: str, version: str | int) -> None:
    client.set_registered_model_alias(name, alias, str(version))
    log.info("%s version %s is now '%s'", name, version, alias)


def load_version(config: RadarConfig, version: str | int) -> RiskModel:
    """The ``RiskModel`` inside a registered version (pinned, never 'latest') of the configured store."""
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
