"""Job `monitor`: a month's gold trips against the reference month, through the champion model:
feature and prediction drift (Evidently) and model error; HTML + JSON in the lake and in MLflow;
an alert (notifier + failure) past the limits."""

from __future__ import annotations

import os
import tempfile
from functools import partial

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from nyctaxi.config import Settings
from nyctaxi.errors import DriftAlert, MissingInput
from nyctaxi.jobs import envelope
from nyctaxi.jobs.envelope import JobContext, Result
from nyctaxi.ml import registry
from nyctaxi.ml.evaluation import metrics
from nyctaxi.ml.features import model_vectors, training_rows
from nyctaxi.ml.scoring import with_predictions
from nyctaxi.months import Month
from nyctaxi.quality.report import RunReport


def run(
    spark: SparkSession, settings: Settings, service: str, reference: Month | None, current: Month
) -> RunReport:
    """``reference`` None: the champion's last training month."""
    return envelope.run("monitor", partial(_monitor, reference=reference), spark, settings, service, current)


def _scored(ctx: JobContext, month: Month, model):
    """The month's published trips (a seeded sample of at most ``drift_sample_rows``) with features
    and the model's prediction; ``evaluated`` marks the rows the evaluation protocol scores."""
    gold = ctx.read("trip_features", month).frame
    rows, limit = gold.count(), ctx.settings.drift_sample_rows
    if rows == 0:
        raise MissingInput(
            f"gold trip_features has no rows for {ctx.service} {month}: run "
            f"`nyctaxi features --service {ctx.service} --month {month}` first"
        )
    if rows > limit:
        gold = gold.sample(fraction=limit / rows, seed=42)
    gold = gold.withColumn("evaluated", training_rows(gold))
    if model.demand:  # trained with the feature store: the same point-in-time values as training
        from nyctaxi.feature_store import store

        gold = store.with_demand(ctx.spark, ctx.settings, gold, ctx.service, [month])
    vectors = model_vectors(gold, model.zones, model.features).join(
        gold.select("trip_id", "evaluated"), "trip_id"
    )
    return with_predictions(vectors, model), rows


def _error(scored: DataFrame) -> float | None:
    evaluated = scored.where(F.col("evaluated"))
    return metrics(evaluated)["rmse"] if evaluated.limit(1).count() else None


def _monitor(ctx: JobContext, reference: Month | None) -> Result:
    from nyctaxi.monitoring.drift import Limits, drift_page, drift_report, judge
    from nyctaxi.preflight import need_model

    settings, current = ctx.settings, ctx.month
    models = registry.ModelRegistry.from_settings(settings)
    model_version = need_model(settings, ctx.service, current, None, "monitor")
    model = models.load(model_version)
    ctx.used(model=registry.MODEL_NAME, version=model_version)
    reference = reference or Month.parse(model.metadata["train_months"][-1])
    frames, errors = _compared(ctx, {"reference": reference, "current": current}, model)
    # The error to compare with is the model's own out-of-sample RMSE, logged when it was trained
    # (its error on the reference = training month is in-sample, hence optimistic).
    errors["reference_rmse"] = _logged_rmse(models, model_version)
    limits = Limits(settings.drift_column_threshold, settings.drift_share_max, settings.drift_error_ratio_max)
    snapshot, columns = drift_report(frames["reference"], frames["current"], limits, model.features)
    summary, reasons = judge(columns, errors, limits)
    summary |= {"model_version": model_version, "reference": str(reference), "limits": vars(limits)}
    result = Result(errors["current_rows"], errors["current_rows"], summary=summary)
    html_uri = ctx.lake.report("monitor", ctx.service, current).removesuffix(".json") + ".html"
    with tempfile.TemporaryDirectory() as folder:
        html = os.path.join(folder, "drift.html")
        with open(html, "w", encoding="utf-8") as out:
            out.write(drift_page(snapshot, summary, ctx.service, str(current)))
        _log_to_mlflow(models, settings.mlflow_drift_experiment, ctx.service, current, summary, html)
        ctx.lake.publish_file(html, html_uri)
    ctx.made(report="html", uri=html_uri)
    if reasons:
        _alert(settings, ctx, result, reasons, html_uri)
    return result


def _compared(ctx: JobContext, months: dict[str, Month], model):
    """Each named month's scored sample as pandas, and its row count (plus the current month's RMSE)."""
    frames, errors = {}, {}
    for name, month in months.items():
        scored, rows = _scored(ctx, month, model)
        scored = scored.cache()
        frames[name] = scored.toPandas()
        errors[f"{name}_rows"] = rows
        if name == "current":
            errors["current_rmse"] = _error(scored)
        scored.unpersist()
    return frames, errors


def _alert(settings: Settings, ctx: JobContext, result: Result, reasons: list[str], html_uri: str) -> None:
    """Tell the notifier, then fail the run (a drifted month needs a look before it is trusted)."""
    from nyctaxi.monitoring.alerts import notifier_for

    summary, month = result.summary, str(ctx.month)
    message = f"drift alert for {ctx.service} {month} vs {summary['reference']}: " + "; ".join(reasons)
    notifier_for(settings.alert_webhook_url).send(
        {"message": message, "service": ctx.service, "month": month, "reference": summary["reference"],
         "model_version": summary["model_version"], "reasons": reasons, "report": html_uri}
    )  # fmt: skip
    raise DriftAlert(message, result=result)


def _logged_rmse(models: registry.ModelRegistry, model_version: str) -> float | None:
    run_id = models.client.get_model_version(registry.MODEL_NAME, model_version).run_id
    return models.client.get_run(run_id).data.metrics.get("model_rmse") if run_id else None


def _log_to_mlflow(
    models: registry.ModelRegistry, experiment: str, service: str, month: Month, summary: dict, html: str
) -> None:
    import mlflow

    name = f"drift {service} {summary['reference']} → {month}"
    with models.tracking(), mlflow.start_run(experiment_id=models.experiment_id(experiment), run_name=name):
        mlflow.set_tags(
            {"kind": "drift", "model_version": summary["model_version"], "alert": str(summary["alert"])}
        )
        values = {f"drift.{name}": result["score"] for name, result in summary["columns"].items()}
        values["drifted_share"] = summary["drifted_share"]
        values |= {k: v for k, v in summary["errors"].items() if isinstance(v, int | float)}
        mlflow.log_metrics(values)
        mlflow.log_artifact(html)
        mlflow.log_dict({k: v for k, v in summary.items()}, "drift_summary.json")
