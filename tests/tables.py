"""Reading the lake's Delta tables back in tests."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from nyctaxi.config import Settings
from nyctaxi.lake import Lake
from nyctaxi.months import Month
from nyctaxi.tables import read_partition, table_version


def latest_partition(
    spark: SparkSession,
    settings: Settings,
    table: str,
    service: str,
    month: Month,
    version: int | None = None,
) -> DataFrame:
    """One (service, month) of ``table`` at ``version`` (default: the latest)."""
    uri = Lake.from_settings(settings).table(table)
    return read_partition(
        spark, uri, service, month, table_version(spark, uri) if version is None else version
    )


def fingerprint(
    spark: SparkSession, settings: Settings, table: str, service: str, month: Month
) -> tuple[int, int, int]:
    """(table version, rows, order-independent hash of trip ids) of one partition."""
    version = table_version(spark, Lake.from_settings(settings).table(table))
    frame = latest_partition(spark, settings, table, service, month, version)
    row = frame.selectExpr("count(*) AS n", "sum(hash(trip_id)) AS h").collect()[0]
    return version, row["n"], row["h"]
