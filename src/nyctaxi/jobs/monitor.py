"""Job `monitor`: a month's gold trips against the reference month, through the champion model:
feature and prediction drift (Evidently) and model error; HTML + JSON in the lake and in MLflow;
an alert (notifier + failure) past the limits."""

from __future__ import annotations

import os
import tempfile

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from nyctaxi.config import Settings
from nyctaxi.errors import DriftAlert, MissingInput
from nyctaxi.lake import Lake, publish_file
from nyctaxi.ml import registry
from nyctaxi.ml.evaluation import metrics
from nyctaxi.ml.features import model_vectors, training_rows
from nyctaxi.ml.scoring import with_predictions
from nyctaxi.months import Month
from nyctaxi.publication import published_partition, published_version
from nyctaxi.quality.report import RunReport, reporting


def run(
    spark: SparkSession, settings: Settings, service: str, reference: Month | None, current: Month
) -> RunReport:
    """``reference`` None: the champion's last training month."""
    lake = Lake.from_settings(settings)
    report = RunReport("monitor", service, str(current), engine=spark.sparkContext.master)
    with reporting(lake, report):
        _monitor(spark, settings, lake, report, reference, current)
    return report


def _scored(spark: SparkSession, settings: Settings, lake: Lake, service: str, month: Month, model):
    """The month's published trips (a seeded sample of at most ``drift_sample_rows``) with features
    and the model's prediction; ``evaluated`` marks the rows the evaluation protocol scores."""
    gold = published_partition(spark, lake, "trip_features", service, month)[0]
    rows = gold.count()
    if rows == 0:
        raise MissingInput(f"gold trip_features has no rows for {service} {month}: run `nyctaxi run` first")
    if rows > settings.drift_sample_rows:
        gold = gold.sample(fraction=settings.drift_sample_rows / rows, seed=42)
    gold = gold.withColumn("evaluated", training_rows(gold))
    vectors = model_vectors(gold, model.zones).join(gold.select("trip_id", "evaluated"), "trip_id")
    return with_predictions(vectors, model.booster), rows


def _error(scored: DataFrame) -> float | None:
    evaluated = scored.where(F.col("evaluated"))
    return metrics(evaluated)["rmse"] if evaluated.limit(1).count() else None


def _monitor(
    spark: SparkSession,
    settings: Settings,
    lake: Lake,
    report: RunReport,
    reference: Month | None,
    current: Month,
) -> None:
    from nyctaxi.jobs.score import resolve_version
    from nyctaxi.ml.pyfunc import load_model
    from nyctaxi.monitoring.drift import Limits, drift_report, judge

    uri = lake.gold_table("trip_features")
    model_version = resolve_version(settings, None)
    model = load_model(registry.model_uri(model_version))
    reference = reference or Month.parse(model.metadata["train_months"][-1])
    report.inputs = [
        {
            "table": "trip_features",
            "uri": uri,
            "versions": {
                str(m): published_version(lake, "trip_features", report.service, m)
                for m in (reference, current)
            },
        },
        {"model": registry.MODEL_NAME, "version": model_version},
    ]
    frames, errors = _compared(
        spark, settings, lake, report.service, {"reference": reference, "current": current}, model
    )
    # The error to compare with is the model's own out-of-sample RMSE, logged when it was trained
    # (its error on the reference = training month is in-sample, hence optimistic).
    errors["reference_rmse"] = _logged_rmse(settings, model_version)
    limits = Limits(settings.drift_column_threshold, settings.drift_share_max, settings.drift_error_ratio_max)
    snapshot, columns = drift_report(frames["reference"], frames["current"], limits)
    summary, reasons = judge(columns, errors, limits)
    report.rows_in = report.rows_out = errors["current_rows"]
    report.summary = summary | {
        "model_version": model_version,
        "reference": str(reference),
        "limits": vars(limits),
    }
    html_uri = lake.report("monitor", report.service, current).removesuffix(".json") + ".html"
    with tempfile.TemporaryDirectory() as folder:
        html = os.path.join(folder, "drift.html")
        snapshot.save_html(html)
        _log_to_mlflow(settings, report, html)
        publish_file(html, html_uri)
    report.outputs.append({"report": "html", "uri": html_uri})
    if reasons:
        _alert(settings, report, reasons, html_uri)


def _compared(spark, settings: Settings, lake: Lake, service: str, months: dict[str, Month], model):
    """Each named month's scored sample as pandas, and its row count (plus the current month's RMSE)."""
    frames, errors = {}, {}
    for name, month in months.items():
        scored, rows = _scored(spark, settings, lake, service, month, model)
        scored = scored.cache()
        frames[name] = scored.toPandas()
        errors[f"{name}_rows"] = rows
        if name == "current":
            errors["current_rmse"] = _error(scored)
        scored.unpersist()
    return frames, errors


def _alert(settings: Settings, report: RunReport, reasons: list[str], html_uri: str) -> None:
    """Tell the notifier, then fail the run (a drifted month needs a look before it is trusted)."""
    from nyctaxi.monitoring.alerts import notifier_for

    summary = report.summary
    message = f"drift alert for {report.service} {report.month} vs {summary['reference']}: " + "; ".join(
        reasons
    )
    notifier_for(settings.alert_webhook_url).send(
        {"message": message, "service": report.service, "month": report.month, "reference": summary["reference"],
         "model_version": summary["model_version"], "reasons": reasons, "report": html_uri}
    )  # fmt: skip
    raise DriftAlert(message)


def _logged_rmse(settings: Settings, model_version: str) -> float | None:
    client = registry.connect(settings)
    run_id = client.get_model_version(registry.MODEL_NAME, model_version).run_id
    return client.get_run(run_id).data.metrics.get("model_rmse") if run_id else None


def _log_to_mlflow(settings: Settings, report: RunReport, html: str) -> None:
    import mlflow

    client = registry.connect(settings)
    experiment = registry.use_experiment(client, settings)
    summary = report.summary
    with mlflow.start_run(
        experiment_id=experiment, run_name=f"drift {report.service} {summary['reference']} → {report.month}"
    ):
        mlflow.set_tags(
            {"kind": "drift", "model_version": summary["model_version"], "alert": str(summary["alert"])}
        )
        values = {f"drift.{name}": result["score"] for name, result in summary["columns"].items()}
        values["drifted_share"] = summary["drifted_share"]
        values |= {k: v for k, v in summary["errors"].items() if isinstance(v, int | float)}
        mlflow.log_metrics(values)
        mlflow.log_artifact(html)
        mlflow.log_dict({k: v for k, v in summary.items()}, "drift_summary.json")
