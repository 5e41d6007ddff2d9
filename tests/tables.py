"""Reading the lake's Delta tables back in tests."""

from __future__ import annotations

from chispa import assert_approx_df_equality
from pyspark.sql import DataFrame, SparkSession

from nyctaxi.catalog import TABLES
from nyctaxi.config import Settings
from nyctaxi.lake import Lake
from nyctaxi.months import Month
from nyctaxi.publication import published_partition
from nyctaxi.tables import read_partition, table_version


def latest_partition(
    spark: SparkSession,
    settings: Settings,
    table: str,
    service: str,
    month: Month,
    version: int | None = None,
) -> DataFrame:
    """One (service, month) of ``table`` at ``version`` (default: the version the month's
    publication record names, i.e. what stages read; predictions: the latest)."""
    lake = Lake.from_settings(settings)
    uri = lake.table(table)
    if version is None and TABLES[table].published_by:
        return published_partition(spark, lake, table, service, month)[0]
    return read_partition(
        spark, uri, service, month, table_version(spark, uri) if version is None else version
    )


def fingerprint(
    spark: SparkSession, settings: Settings, table: str, service: str, month: Month
) -> tuple[int, int, int]:
    """(published version, rows, order-independent hash of trip ids) of one partition."""
    lake = Lake.from_settings(settings)
    frame, version, _ = published_partition(spark, lake, table, service, month)
    row = frame.selectExpr("count(*) AS n", "sum(hash(trip_id)) AS h").collect()[0]
    return version, row["n"], row["h"]


def content_hash(frame: DataFrame) -> tuple[int, int]:
    """(rows, order-independent hash of every column of every row): equal ⇔ same rows."""
    row = frame.selectExpr(
        "count(*) AS n", f"sum(cast(xxhash64({', '.join(frame.columns)}) AS decimal(38, 0))) AS h"
    ).first()
    return row["n"], row["h"] or 0


PIPELINE_TABLES = ("trips", "quarantine", "trip_features", "zone_hourly")


def assert_same_tables(
    spark: SparkSession, expected: Settings, actual: Settings, service: str, month: Month
) -> None:
    """Every silver and gold table of (service, month) holds the same rows in both lakes."""
    for table in PIPELINE_TABLES:
        want = latest_partition(spark, expected, table, service, month)
        got = latest_partition(spark, actual, table, service, month)
        assert got.count() == want.count() > 0, table
        # zone_hourly averages may differ in the last bits with summation order
        assert_approx_df_equality(got, want, 1e-9, ignore_row_order=True, ignore_nullable=True)
