"""One MLflow run per training: parameters, data lineage, metrics of every predictor, the figure,
the servable model, its registered version and the gate's decision."""

from __future__ import annotations

import os
import tempfile
from importlib.metadata import version as installed

import mlflow
import pandas as pd

from nyctaxi.config import Settings
from nyctaxi.ml import registry
from nyctaxi.ml.evaluation import METRICS
from nyctaxi.ml.plots import evaluation_figure
from nyctaxi.ml.pyfunc import ARTIFACT_KEY, TripDurationPyfunc, signature
from nyctaxi.ml.training import XGB_PARAMS

BASELINES = ("median_baseline", "linear_baseline")
# What the logged model needs to load outside this repo's virtualenv (besides the nyctaxi package).
RUNTIME_PACKAGES = ("xgboost-cpu", "pandas", "numpy", "holidays", "mlflow", "pyspark")

INPUT_EXAMPLE = pd.DataFrame(
    {
        "service": ["green", "green"],
        "pickup_at": ["2025-02-03T08:15:00", "2025-02-08T23:40:00"],
        "pu_location_id": [74, 132],
        "do_location_id": [75, 265],
        "trip_distance": [1.2, 17.5],
        "passenger_count": [1.0, None],
        "vendor_id": [2.0, 2.0],
        "ratecode_id": [1.0, 2.0],
    }
)


def _flat_metrics(results: dict[str, dict[str, float]]) -> dict[str, float]:
    return {f"{who}_{name}": values[name] for who, values in results.items() for name in METRICS}


def lineage(inputs: list[dict]) -> dict[str, str]:
    """Tags naming, per month read, the gold version and the bronze file it was built from."""
    months = [i for i in inputs if i.get("table") == "trip_features"]
    tags = {f"bronze_sha256.{i['month']}": i["source_sha256"] or "unknown" for i in months}
    return tags | {f"gold.trip_features.version.{i['month']}": str(i["version"]) for i in months}


def log_training_run(settings: Settings, spec, evaluation, inputs: list[dict]) -> dict:
    """Log the run, register the model (``challenger``), apply the gate; returns the summary."""
    models = registry.ModelRegistry.from_settings(settings)
    results = evaluation.results
    decision = registry.champion_gate(
        results["model"]["rmse"],
        {name: results[name]["rmse"] for name in BASELINES},
        results["champion"]["rmse"] if "champion" in results else None,
    )
    name = f"{spec.service} {'+'.join(map(str, spec.train_months))} → {spec.eval_month}"
    with (
        models.tracking() as client,
        mlflow.start_run(experiment_id=models.experiment_id(), run_name=name) as run,
    ):
        mlflow.log_params(
            {
                **XGB_PARAMS,
                "service": spec.service,
                "train_months": ",".join(map(str, spec.train_months)),
                "eval_month": str(spec.eval_month),
                "seed": spec.seed,
                "sample_fraction": spec.sample_fraction,
                "train_rows": evaluation.train_rows,
                "eval_rows": results["model"]["rows"],
                "spark_master": settings.spark_master,
            }
        )
        mlflow.set_tags({**lineage(inputs), **spec.tags})
        mlflow.log_metrics(_flat_metrics(results))
        mlflow.log_figure(evaluation_figure(evaluation.sample, evaluation.by_hour, name), "evaluation.png")
        with tempfile.TemporaryDirectory() as folder:
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=TripDurationPyfunc(),
                artifacts={ARTIFACT_KEY: evaluation.model.save(os.path.join(folder, "model"))},
                signature=signature(),
                input_example=INPUT_EXAMPLE,
                pip_requirements=[f"{package}=={installed(package)}" for package in RUNTIME_PACKAGES],
                registered_model_name=registry.MODEL_NAME,
            )
        version = str(info.registered_model_version)
        alias = registry.CHAMPION if decision.promote else registry.CHALLENGER
        gate = {"gate.decision": alias, "gate.reason": decision.reason}
        mlflow.set_tags(gate)
    client.set_registered_model_alias(registry.MODEL_NAME, registry.CHALLENGER, version)
    if decision.promote:
        client.set_registered_model_alias(registry.MODEL_NAME, registry.CHAMPION, version)
    for key, value in gate.items():
        client.set_model_version_tag(registry.MODEL_NAME, version, key, value)
    return {
        "run_id": run.info.run_id,
        "model_name": registry.MODEL_NAME,
        "model_version": version,
        "champion": decision.promote,
        "decision": decision.reason,
        "metrics": results,
    }
