"""Job `features`: silver `trips` (service, month) → gold `trip_features` + `zone_hourly` + report."""

from __future__ import annotations

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from nyctaxi.config import Settings
from nyctaxi.contract import TRIP_STATS_COLUMNS, ZONE_HOURLY_STATS_COLUMNS
from nyctaxi.errors import MissingInput
from nyctaxi.holidays_calendar import federal_holidays
from nyctaxi.lake import Lake, exists, manifest_uri, read_json
from nyctaxi.months import Month
from nyctaxi.publication import MonthRecord, publish, published_partition, reconcile
from nyctaxi.quality.report import RunReport, reporting
from nyctaxi.readers import read_zone_lookup
from nyctaxi.schemas import GOLD_TRIP_FEATURES, GOLD_ZONE_HOURLY
from nyctaxi.storage import spark_uri
from nyctaxi.tables import (
    check_schema,
    commit_metadata,
    ensure_table,
    read_partition,
    write_partition,
)
from nyctaxi.transform.features import build_trip_features, build_zone_hourly


def run(spark: SparkSession, settings: Settings, service: str, month: Month) -> RunReport:
    lake = Lake.from_settings(settings)
    report = RunReport("features", service, str(month), engine=spark.sparkContext.master)
    with reporting(lake, report):
        reconcile(spark, lake, "gold", service, month, report.run_id)  # a killed run's commits
        try:
            record = _features(spark, lake, report, month)
        except Exception:
            reconcile(spark, lake, "gold", service, month, report.run_id, only_own=True)
            raise
        publish(lake, record)
    return report


def _features(spark: SparkSession, lake: Lake, report: RunReport, month: Month) -> MonthRecord:
    service = report.service
    zones_uri = lake.zone_lookup()
    if not exists(zones_uri):
        raise MissingInput(f"zone lookup missing at {zones_uri}: run `nyctaxi ingest` first")
    trips, version, silver = published_partition(spark, lake, "trips", service, month)
    zones_sha = read_json(manifest_uri(zones_uri)).get("sha256") if exists(manifest_uri(zones_uri)) else None
    report.inputs += [
        {"table": "trips", "uri": lake.table("trips"), "version": version},
        {"uri": zones_uri, "sha256": zones_sha},
    ]
    report.source_sha256 = silver.source_sha256
    report.rows_in = silver_rows = trips.count()  # a count reads no data columns (Parquet row counts)
    if silver_rows == 0:
        raise MissingInput(
            f"silver trips has no rows for {service} {month}: run `nyctaxi preprocess --service "
            f"{service} --month {month}`"
        )
    meta = commit_metadata(service, month, report.run_id, source_sha256=silver.source_sha256)
    ensure_table(spark, lake.table("trip_features"), GOLD_TRIP_FEATURES, TRIP_STATS_COLUMNS)
    ensure_table(spark, lake.table("zone_hourly"), GOLD_ZONE_HOURLY, ZONE_HOURLY_STATS_COLUMNS)
    # Pickups are inside the month (silver rule 2), so its year covers every holiday needed.
    features = build_trip_features(trips, read_zone_lookup(spark, zones_uri), federal_holidays([month.year]))
    features = check_schema(features, GOLD_TRIP_FEATURES, "trip_features")
    features_version = write_partition(features, lake.table("trip_features"), service, month, meta)
    report.rows_out = _rows_written(spark, lake.table("trip_features"), features_version)
    # zone_hourly from the trip features just written: a scan of the nine columns it needs
    written = read_partition(spark, lake.table("trip_features"), service, month, features_version)
    hourly = check_schema(build_zone_hourly(written), GOLD_ZONE_HOURLY, "zone_hourly")
    hourly_version = write_partition(hourly, lake.table("zone_hourly"), service, month, meta)
    tables = {"trip_features": features_version, "zone_hourly": hourly_version}
    report.outputs += [{"table": t, "uri": lake.table(t), "version": v} for t, v in tables.items()]
    report.rows_quarantined = 0
    return MonthRecord(
        "gold",
        service,
        str(month),
        report.run_id,
        silver.source_sha256,
        silver.source_file,
        tables,
        inputs={"trips": version},
    )


def _rows_written(spark: SparkSession, uri: str, version: int) -> int:
    """Rows a commit wrote, from its log entry (no data read)."""
    metrics = DeltaTable.forPath(spark, spark_uri(uri)).history().where(f"version = {version}").first()
    return int((metrics["operationMetrics"] or {}).get("numOutputRows", 0))
