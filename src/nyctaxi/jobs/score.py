"""Job `score`: gold trip_features (service, month) + a registered model → gold `predictions`."""

from __future__ import annotations

from functools import partial

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from nyctaxi.config import Settings
from nyctaxi.errors import MissingInput
from nyctaxi.jobs import envelope
from nyctaxi.jobs.envelope import JobContext, Result
from nyctaxi.ml import registry
from nyctaxi.ml.features import model_vectors
from nyctaxi.ml.scoring import with_predictions
from nyctaxi.months import Month
from nyctaxi.preflight import need_model
from nyctaxi.quality.report import RunReport


def run(
    spark: SparkSession, settings: Settings, service: str, month: Month, model_version: str | None = None
) -> RunReport:
    """Score every gold trip of the month with ``model_version`` (default: the champion)."""
    return envelope.run(
        "score", partial(_score, model_version=model_version), spark, settings, service, month
    )


def _score(ctx: JobContext, model_version: str | None) -> Result:
    service, month = ctx.service, ctx.month
    gold = ctx.read("trip_features")
    models = registry.ModelRegistry.from_settings(ctx.settings)
    model_version = need_model(ctx.settings, service, month, model_version, "score")
    model = models.load(model_version)
    ctx.used(model=registry.MODEL_NAME, version=model_version)
    rows_in = gold.frame.count()
    if rows_in == 0:
        raise MissingInput(f"gold trip_features has no rows for {service} {month}: run `nyctaxi features`")
    trips = gold.frame
    if model.demand:  # trained with the feature store: the same point-in-time values as training
        from nyctaxi.feature_store import store

        trips = store.with_demand(ctx.spark, ctx.settings, trips, service, [month])
    predictions = with_predictions(model_vectors(trips, model.zones, model.features), model).select(
        "trip_id",
        F.lit(service).alias("service"),
        F.lit(str(month)).alias("month"),
        "prediction",
        F.lit(registry.MODEL_NAME).alias("model_name"),
        F.lit(model_version).alias("model_version"),
    )
    written = ctx.write(predictions, "predictions", model_version=model_version)
    summary = {"model_name": registry.MODEL_NAME, "model_version": model_version, "rows_scored": written.rows}
    return Result(rows_in, written.rows, summary=summary)
