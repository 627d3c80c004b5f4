"""The registered uplift model, logged as code (no pickled objects): a feature frame in, each
customer's expected change of the 48-hour complaint probability if contacted out."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd

from training.uplift import UPLIFT_ARTIFACT, UpliftModel


class UpliftPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        self.model = UpliftModel.load(Path(context.artifacts[UPLIFT_ARTIFACT]))

    def predict(
        self, context, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        return pd.DataFrame({"expected_effect": self.model.predict_effect(model_input)})


mlflow.models.set_model(UpliftPyfunc())
