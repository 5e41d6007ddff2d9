"""MLflow tracking and the model registry: where runs go, and the champion gate.

Aliases, not the deprecated stages: every new version is ``challenger``; ``champion`` moves to
it only when its RMSE beats both baselines and the current champion on the same rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from nyctaxi.config import Settings

MODEL_NAME = "nyc-taxi-trip-duration"
CHAMPION, CHALLENGER = "champion", "challenger"


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str


def champion_gate(candidate: float, baselines: dict[str, float], champion: float | None) -> GateDecision:
    """The registry rule on RMSE (lower is better), with the numbers in the reason."""
    for name, rmse in baselines.items():
        if not candidate < rmse:
            return GateDecision(False, f"RMSE {candidate:.4f} does not beat the {name} baseline ({rmse:.4f})")
    if champion is not None and not candidate < champion:
        return GateDecision(
            False, f"RMSE {candidate:.4f} does not beat the current champion ({champion:.4f})"
        )
    against = " and the current champion" if champion is not None else " (no champion yet)"
    return GateDecision(True, f"RMSE {candidate:.4f} beats both baselines{against}")


def connect(settings: Settings) -> MlflowClient:
    """Point MLflow at the configured store (embedded: a SQLite file under the working directory)."""
    # MLflow 3 reports usage to its vendor unless told not to; our jobs talk only to the stores
    # they are configured with. An explicit setting in the environment still wins.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_registry_uri(settings.mlflow_tracking_uri)
    return MlflowClient(settings.mlflow_tracking_uri, settings.mlflow_tracking_uri)


def use_experiment(client: MlflowClient, settings: Settings) -> str:
    """The experiment id, creating it (with a local artifact folder for a local store) once."""
    experiment = client.get_experiment_by_name(settings.mlflow_experiment)
    if experiment is not None:
        return experiment.experiment_id
    local = settings.mlflow_tracking_uri.startswith(("sqlite:", "file:"))
    location = f"file://{settings.mlflow_artifacts}" if local else None
    try:
        return client.create_experiment(settings.mlflow_experiment, artifact_location=location)
    except MlflowException:  # created meanwhile by a concurrent run
        return client.get_experiment_by_name(settings.mlflow_experiment).experiment_id


def version_by_alias(client: MlflowClient, alias: str) -> ModelVersion | None:
    try:
        return client.get_model_version_by_alias(MODEL_NAME, alias)
    except MlflowException as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def model_uri(version: str | int) -> str:
    return f"models:/{MODEL_NAME}/{version}"
