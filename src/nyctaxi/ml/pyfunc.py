"""The MLflow face of ``TripDurationModel``: a pyfunc over request inputs, loadable without Spark."""

from __future__ import annotations

import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

from nyctaxi.contract import MODEL_INPUTS
from nyctaxi.ml.model import TripDurationModel

ARTIFACT_KEY = "trip_duration_model"


class TripDurationPyfunc(mlflow.pyfunc.PythonModel):
    """``predict`` takes a frame of request inputs and returns minutes per row."""

    def load_context(self, context) -> None:
        self.model = TripDurationModel.load(context.artifacts[ARTIFACT_KEY])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.Series:
        return pd.Series(self.model.predict(model_input), index=model_input.index, name="duration_min")


def signature(demand: tuple[str, ...] = ()) -> ModelSignature:
    """The request inputs, and the demand features (optional doubles) of a model that reads them."""
    inputs = Schema(
        [ColSpec(kind, name, required=required) for name, (kind, required) in MODEL_INPUTS.items()]
        + [ColSpec("double", name, required=False) for name in demand]
    )
    return ModelSignature(inputs=inputs, outputs=Schema([ColSpec("double", "duration_min")]))


def load_model(model_uri: str) -> TripDurationModel:
    """The native model behind a logged pyfunc (a local folder, or a URI of the active store)."""
    return mlflow.pyfunc.load_model(model_uri).unwrap_python_model().model
