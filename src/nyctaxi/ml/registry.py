"""MLflow tracking and the model registry: where runs go, and the champion gate.

Aliases, not the deprecated stages: every new version is ``challenger``; ``champion`` moves to
it only when its RMSE beats both baselines and the current champion on the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

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


@dataclass(frozen=True)
class ModelRegistry:
    """The MLflow tracking store and model registry of the settings, as an object that is passed
    down (nothing process-wide is set: MLflow's fluent logging API is pointed at it only inside
    :meth:`tracking`). Embedded default and tests: a local SQLite store and an artifact folder."""

    tracking_uri: str
    experiment: str
    artifacts: str

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelRegistry:
        return cls(settings.mlflow_tracking_uri, settings.mlflow_experiment, settings.mlflow_artifacts)

    @cached_property
    def client(self) -> MlflowClient:
        return MlflowClient(self.tracking_uri, self.tracking_uri)

    @contextmanager
    def tracking(self) -> Iterator[MlflowClient]:
        """MLflow's fluent API (``mlflow.start_run``, ``log_model``) writes to this store within the
        block, and to whatever it wrote to before after it (MLflow's own scoped switch)."""
        # Private in MLflow 3 (no public scoped switch): the pinned version has it, and the
        # registry tests (tests/unit/test_imports.py, tests/integration/test_model.py) fail first if
        # an upgrade drops it.
        from mlflow.tracking._tracking_service.utils import _use_tracking_uri

        with _use_tracking_uri(self.tracking_uri):
            yield self.client

    def experiment_id(self, name: str | None = None) -> str:
        """The id of experiment ``name`` (default: the training one), creating it (with a local
        artifact folder for a local store) once."""
        name = name or self.experiment
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        local = self.tracking_uri.startswith(("sqlite:", "file:"))
        location = f"file://{self.artifacts}" if local else None
        try:
            return self.client.create_experiment(name, artifact_location=location)
        except MlflowException:  # created meanwhile by a concurrent run
            return self.client.get_experiment_by_name(name).experiment_id

    def versions(self) -> list[str]:
        """The model's registered versions, oldest first (none when it was never registered)."""
        found = self.client.search_model_versions(f"name='{MODEL_NAME}'")
        return [str(v) for v in sorted(int(found_version.version) for found_version in found)]

    def version_by_alias(self, alias: str) -> ModelVersion | None:
        try:
            return self.client.get_model_version_by_alias(MODEL_NAME, alias)
        except MlflowException as error:
            if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise

    def load(self, version: str | int):
        """The native model (``TripDurationModel``) of a registered version, read from this store
        (``download_artifacts(registry_uri=…)`` still resolved ``models:/`` through the
        process-wide registry, so the load runs inside :meth:`tracking`)."""
        from nyctaxi.ml.pyfunc import load_model

        with self.tracking():
            return load_model(model_uri(version))


def model_uri(version: str | int) -> str:
    return f"models:/{MODEL_NAME}/{version}"
