"""Job `score`: gold trip_features (service, month) + a registered model → gold `predictions`."""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from nyctaxi.config import Settings
from nyctaxi.errors import MissingInput
from nyctaxi.lake import Lake
from nyctaxi.ml import registry
from nyctaxi.ml.features import model_vectors
from nyctaxi.ml.scoring import with_predictions
from nyctaxi.months import Month
from nyctaxi.publication import published_partition
from nyctaxi.quality.report import RunReport, reporting
from nyctaxi.schemas import GOLD_PREDICTIONS
from nyctaxi.tables import check_schema, commit_metadata, ensure_table, read_partition, write_partition


def run(
    spark: SparkSession, settings: Settings, service: str, month: Month, model_version: str | None = None
) -> RunReport:
    """Score every gold trip of the month with ``model_version`` (default: the champion)."""
    lake = Lake.from_settings(settings)
    report = RunReport("score", service, str(month), engine=spark.sparkContext.master)
    with reporting(lake, report):
        _score(spark, settings, lake, report, month, model_version)
    return report


def resolve_version(settings: Settings, model_version: str | None) -> str:
    client = registry.connect(settings)
    if model_version:
        client.get_model_version(registry.MODEL_NAME, model_version)  # clear MLflow error if absent
        return str(model_version)
    champion = registry.version_by_alias(client, registry.CHAMPION)
    if champion is None:
        raise MissingInput(
            f"no '{registry.CHAMPION}' version of model {registry.MODEL_NAME} at "
            f"{settings.mlflow_tracking_uri}: run `nyctaxi train` first, or pass --model-version"
        )
    return str(champion.version)


def _score(
    spark: SparkSession,
    settings: Settings,
    lake: Lake,
    report: RunReport,
    month: Month,
    model_version: str | None,
) -> None:
    from nyctaxi.ml.pyfunc import load_model

    service = report.service
    features_uri, predictions_uri = lake.gold_table("trip_features"), lake.gold_table("predictions")
    gold, version, _ = published_partition(spark, lake, "trip_features", service, month)
    model_version = resolve_version(settings, model_version)
    model = load_model(registry.model_uri(model_version))
    report.inputs = [
        {"table": "trip_features", "uri": features_uri, "version": version},
        {"model": registry.MODEL_NAME, "version": model_version},
    ]
    report.rows_in = gold.count()
    if report.rows_in == 0:
        raise MissingInput(f"gold trip_features has no rows for {service} {month}: run `nyctaxi features`")
    predictions = with_predictions(model_vectors(gold, model.zones), model.booster).select(
        "trip_id",
        F.lit(service).alias("service"),
        F.lit(str(month)).alias("month"),
        "prediction",
        F.lit(registry.MODEL_NAME).alias("model_name"),
        F.lit(model_version).alias("model_version"),
    )
    ensure_table(spark, predictions_uri, GOLD_PREDICTIONS, None)
    written = write_partition(
        check_schema(predictions, GOLD_PREDICTIONS, "predictions"),
        predictions_uri,
        service,
        month,
        commit_metadata(service, month, report.run_id, model_version=model_version),
    )
    report.rows_out = read_partition(spark, predictions_uri, service, month, written).count()
    report.outputs.append({"table": "predictions", "uri": predictions_uri, "version": written})
    report.summary = {
        "model_name": registry.MODEL_NAME,
        "model_version": model_version,
        "rows_scored": report.rows_out,
    }
