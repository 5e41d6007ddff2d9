"""Metrics and the two baselines of the evaluation protocol, computed on Spark on the same rows."""

from __future__ import annotations

from pyspark.ml.feature import OneHotEncoder, StringIndexer, VectorAssembler
from pyspark.ml.regression import LinearRegression
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

LABEL = "duration_min"
WITHIN_MINUTES = 5.0  # "share of trips predicted within 5 minutes"
METRICS = ("rmse", "mae", "within_5_min")


def metrics(scored: DataFrame, prediction: str = "prediction") -> dict[str, float]:
    """RMSE, MAE and the share within 5 minutes of ``prediction`` against the label; one pass."""
    error = F.col(prediction) - F.col(LABEL)
    row = scored.agg(
        F.sqrt(F.avg(error * error)).alias("rmse"),
        F.avg(F.abs(error)).alias("mae"),
        F.avg((F.abs(error) <= WITHIN_MINUTES).cast("double")).alias("within_5_min"),
        F.count(F.lit(1)).alias("rows"),
    ).first()
    return {name: float(row[name]) for name in METRICS} | {"rows": int(row["rows"])}


def with_median_baseline(train: DataFrame, rows: DataFrame, column: str = "prediction") -> DataFrame:
    """Baseline (a): median training duration of the (pu, do) pair, else of the pickup zone,
    else the global median."""
    pair = train.groupBy("pu_location_id", "do_location_id").agg(F.median(LABEL).alias("_pair"))
    pickup = train.groupBy("pu_location_id").agg(F.median(LABEL).alias("_pu"))
    overall = train.agg(F.median(LABEL).alias("_all"))
    return (
        rows.join(F.broadcast(pair), on=["pu_location_id", "do_location_id"], how="left")
        .join(F.broadcast(pickup), on="pu_location_id", how="left")
        .crossJoin(F.broadcast(overall))
        .withColumn(column, F.coalesce("_pair", "_pu", "_all"))
        .drop("_pair", "_pu", "_all")
    )


def _with_pair(df: DataFrame) -> DataFrame:
    return df.withColumn("_pair", F.concat_ws("-", "pu_location_id", "do_location_id"))


def with_linear_baseline(train: DataFrame, rows: DataFrame, column: str = "prediction") -> DataFrame:
    """Baseline (b): least squares on one-hot (pu, do) pairs plus trip_distance. Pairs never seen
    in training share one extra "unseen" slot (handleInvalid="keep")."""
    indexer = StringIndexer(inputCol="_pair", outputCol="_pair_ix", handleInvalid="keep").fit(
        _with_pair(train)
    )
    encoder = OneHotEncoder(inputCols=["_pair_ix"], outputCols=["_pair_oh"], handleInvalid="keep")
    encoder = encoder.fit(indexer.transform(_with_pair(train)))
    assembler = VectorAssembler(inputCols=["_pair_oh", "trip_distance"], outputCol="_x")

    def design(df: DataFrame) -> DataFrame:
        return assembler.transform(encoder.transform(indexer.transform(_with_pair(df))))

    # Thousands of sparse one-hot columns: L-BFGS (the normal equations would be dense) and no
    # regularisation, as the textbook baseline has none.
    model = LinearRegression(
        featuresCol="_x", labelCol=LABEL, predictionCol=column, solver="l-bfgs", regParam=0.0, maxIter=200
    ).fit(design(train))
    return model.transform(design(rows)).drop("_pair", "_pair_ix", "_pair_oh", "_x")
