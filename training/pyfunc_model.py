"""The registered MLflow model, logged as code ("models from code", no pickled objects).

Feature frame in, calibrated probability out. ``mlflow models serve`` and Spark batch
scoring use it; the BentoML service loads the same registered version and adds reasons.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd

from training.model import load_model

MODEL_ARTIFACT = "risk_model"


class RiskModelPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        self.model = load_model(Path(context.artifacts[MODEL_ARTIFACT]))

    def predict(
        self, context, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        return pd.DataFrame({"probability": self.model.predict_proba(model_input)})


mlflow.models.set_model(RiskModelPyfunc())
