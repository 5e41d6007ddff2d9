"""The model's feature vector (``contract.MODEL_FEATURES``) on Spark, from gold ``trip_features``
(training, evaluation, batch scoring): gold already holds the time and place features, so the
vector is gold's columns, encoded as numbers. ``ml.vectors`` computes the same vector from the
request inputs without Spark (serving, the MLflow model).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from nyctaxi.contract import (
    MODEL_FEATURES,
    MODEL_INPUTS,
    TRAIN_FIRST_ZONE,
    TRAIN_LAST_ZONE,
    TRAIN_MAX_DURATION_MIN,
    TRAIN_MIN_DURATION_MIN,
)
from nyctaxi.ml.vectors import ZoneState


def zone_state(zones: DataFrame) -> ZoneState:
    """The zone lookup (bronze reference, read by Spark) → the state the model carries."""
    rows = zones.select("LocationID", "Borough").collect()
    return ZoneState({row.LocationID: row.Borough for row in rows if row.LocationID is not None})


def training_rows(df: DataFrame) -> Column:
    """The spec's row filter for training and evaluation (same rows on both sides)."""
    return (
        F.col("duration_min").between(TRAIN_MIN_DURATION_MIN, TRAIN_MAX_DURATION_MIN)
        & F.col("pu_location_id").between(TRAIN_FIRST_ZONE, TRAIN_LAST_ZONE)
        & F.col("do_location_id").between(TRAIN_FIRST_ZONE, TRAIN_LAST_ZONE)
    )


def filter_training_rows(df: DataFrame) -> DataFrame:
    return df.where(training_rows(df))


def _number(column: Column) -> Column:
    """Booleans and integers as doubles; a missing value is NaN, XGBoost's "missing"."""
    return F.coalesce(column.cast("double"), F.lit(float("nan")))


def with_model_features(
    gold: DataFrame, zones: ZoneState, features: tuple[str, ...] = MODEL_FEATURES
) -> DataFrame:
    """Gold trip_features → the same rows with the model's feature columns (as doubles); demand
    features (``contract.DEMAND_FEATURES``) are columns the feature store joined to the rows."""
    codes = F.create_map(
        *[item for name, code in zones.codes().items() for item in (F.lit(name), F.lit(code))]
    )
    derived = {
        "is_green": F.col("service") == "green",
        "pu_borough_code": codes[F.col("pu_borough")],
        "do_borough_code": codes[F.col("do_borough")],
    }
    return gold.withColumns(
        {name: _number(derived[name] if name in derived else F.col(name)) for name in features}
    )


def request_inputs(gold: DataFrame) -> DataFrame:
    """What a caller would have sent for each gold trip (the serving request / model input)."""
    columns = {name: F.col(name) for name in MODEL_INPUTS}
    columns["pickup_at"] = F.date_format("pickup_at", "yyyy-MM-dd'T'HH:mm:ss")
    return gold.select(*[column.alias(name) for name, column in columns.items()])


def model_vectors(gold: DataFrame, zones: ZoneState, features: tuple[str, ...] = MODEL_FEATURES) -> DataFrame:
    """Only what scoring needs: trip_id, the label (for evaluation) and the feature columns."""
    return with_model_features(gold, zones, features).select("trip_id", "duration_min", *features)
