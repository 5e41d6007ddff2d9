"""One MLflow run per training: parameters, data lineage, metrics of every predictor, the figure,
the servable model, its registered version and the gate's decision."""

from __future__ import annotations

import os
import tempfile
from importlib.metadata import version as installed

import mlflow
import pandas as pd

from nyctaxi import logs
from nyctaxi.config import Settings
from nyctaxi.ml import registry
from nyctaxi.ml.evaluation import METRICS
from nyctaxi.ml.plots import evaluation_figure, importance_figure, residual_figure
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


def run_name(spec) -> str:
    """ "green 2025-01 → 2025-02": the service, the training months and the evaluation month."""
    return f"{spec.service} {'+'.join(map(str, spec.train_months))} → {spec.eval_month}"


def save_evaluation_figure(spec, evaluation, path: str) -> str:
    """The evaluation figure as a PNG at ``path`` (logged with the run, and kept in the lake)."""
    evaluation_figure(evaluation.sample, evaluation.by_hour, run_name(spec)).savefig(path, dpi=80)
    return path


MODEL_DESCRIPTION = (
    "Trip duration in minutes of NYC TLC taxi trips, from what a request knows at pickup (service, "
    "pickup time, pickup and drop-off zones, distance, passengers, vendor, rate code). XGBoost on "
    "gold trip_features; versions are trained on one month and evaluated on the next, and the gate "
    "makes a version champion only when it beats both baselines (and the current champion)."
)


def _description(spec, results: dict) -> str:
    model, median = results["model"], results["median_baseline"]
    return (
        f"Trained on {spec.service} {', '.join(map(str, spec.train_months))}, evaluated on {spec.eval_month}: "
        f"RMSE {model['rmse']:.3f} min vs the median baseline's {median['rmse']:.3f} and the linear "
        f"baseline's {results['linear_baseline']['rmse']:.3f}."
    )


def datasets(spec, inputs: list[dict]) -> list[tuple]:
    """The gold partitions the run read, as MLflow datasets at their Delta versions (no data is
    read to log them: the version and the bronze file's sha256 identify the rows)."""
    from mlflow.data.delta_dataset_source import DeltaDatasetSource
    from mlflow.data.meta_dataset import MetaDataset

    trained = {str(m) for m in spec.train_months}
    found = []
    for item in inputs:
        if item.get("table") != "trip_features":
            continue
        source = DeltaDatasetSource(path=item["uri"], delta_table_version=item["version"])
        name = f"gold.trip_features {spec.service} {item['month']}"
        digest = f"v{item['version']}-{(item.get('source_sha256') or 'unknown')[:8]}"
        context = "training" if item["month"] in trained else "evaluation"
        found.append((MetaDataset(source, name=name, digest=digest), context))
    return found


def log_training_run(
    settings: Settings, spec, evaluation, inputs: list[dict], started_ms: int, figure: str
) -> dict:
    """Log the run (with ``figure``, a PNG), register the model (``challenger``), apply the gate;
    returns the summary. The run starts at ``started_ms`` (when the job began reading gold): its
    duration in MLflow is the training's, not only the logging's."""
    models = registry.ModelRegistry.from_settings(settings)
    results = evaluation.results
    decision = registry.champion_gate(
        results["model"]["rmse"],
        {name: results[name]["rmse"] for name in BASELINES},
        results["champion"]["rmse"] if "champion" in results else None,
    )
    created = models.client.create_run(models.experiment_id(), start_time=started_ms, run_name=run_name(spec))
    with (
        models.tracking() as client,
        mlflow.start_run(run_id=created.info.run_id) as run,
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
                "demand_features": bool(evaluation.model.demand),
                **{f"feature_view.{name}": number for name, number in evaluation.feature_views.items()},
            }
        )
        mlflow.set_tags({**lineage(inputs), **spec.tags, "mlflow.note.content": _description(spec, results)})
        for dataset, context in datasets(spec, inputs):
            mlflow.log_input(dataset, context=context)
        mlflow.log_metrics(_flat_metrics(results))
        mlflow.log_artifact(figure)
        mlflow.log_figure(
            importance_figure(evaluation.model.booster, run_name(spec)), "feature_importance.png"
        )
        mlflow.log_figure(residual_figure(evaluation.sample, run_name(spec)), "residuals.png")
        with tempfile.TemporaryDirectory() as folder, logs.prints_to_log():
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=TripDurationPyfunc(),
                artifacts={ARTIFACT_KEY: evaluation.model.save(os.path.join(folder, "model"))},
                signature=signature(evaluation.model.demand),
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
    client.update_registered_model(registry.MODEL_NAME, description=MODEL_DESCRIPTION)
    client.update_model_version(
        registry.MODEL_NAME, version, description=f"{_description(spec, results)} Gate: {decision.reason}."
    )
    return {
        "run_id": run.info.run_id,
        "model_name": registry.MODEL_NAME,
        "model_version": version,
        "champion": decision.promote,
        "decision": decision.reason,
        "metrics": results,
    }
