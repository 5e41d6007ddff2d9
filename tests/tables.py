"""Reading the lake's Delta tables back in tests."""

from __future__ import annotations

from chispa import assert_approx_df_equality
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
