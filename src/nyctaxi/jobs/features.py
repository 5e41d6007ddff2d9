"""Job `features`: silver `trips` (service, month) → gold `trip_features` + `zone_hourly` + report."""

from __future__ import annotations

from pyspark.sql import SparkSession

from nyctaxi.config import Settings
from nyctaxi.errors import MissingInput
from nyctaxi.holidays_calendar import federal_holidays
from nyctaxi.lake import Lake, exists, manifest_uri, read_json
from nyctaxi.months import Month
from nyctaxi.quality.report import RunReport, reporting
from nyctaxi.schemas import GOLD_TRIP_FEATURES, GOLD_ZONE_HOURLY, TRIP_STATS_COLUMNS
from nyctaxi.tables import (
    check_schema,
    last_commit,
    read_partition,
    read_zone_lookup,
    table_version,
    write_partition,
)
from nyctaxi.transform.features import build_trip_features, build_zone_hourly


def run(spark: SparkSession, settings: Settings, service: str, month: Month) -> RunReport:
    lake = Lake.from_settings(settings)
    report = RunReport("features", service, str(month), engine=spark.sparkContext.master)
    with reporting(lake, report):
        _features(spark, lake, report, month)
    return report


def _features(spark: SparkSession, lake: Lake, report: RunReport, month: Month) -> None:
    service = report.service
    trips_uri, zones_uri = lake.silver_table("trips"), lake.zone_lookup()
    if not exists(zones_uri):
        raise MissingInput(f"zone lookup missing at {zones_uri}: run `nyctaxi ingest` first")
    version = table_version(spark, trips_uri)
    zones_sha = read_json(manifest_uri(zones_uri)).get("sha256") if exists(manifest_uri(zones_uri)) else None
    report.inputs += [
        {"table": "trips", "uri": trips_uri, "version": version},
        {"uri": zones_uri, "sha256": zones_sha},
    ]
    trips = read_partition(spark, trips_uri, service, month, version)
    report.rows_in = trips.count()  # a count reads no data columns (Parquet row counts)
    if report.rows_in == 0:
        raise MissingInput(f"silver trips has no rows for {service} {month}: run `nyctaxi preprocess`")
    # Pickups are inside the month (silver rule 2), so its year covers every holiday needed.
    features = build_trip_features(trips, read_zone_lookup(spark, zones_uri), federal_holidays([month.year]))
    features_uri = lake.gold_table("trip_features")
    features = check_schema(features, GOLD_TRIP_FEATURES, "trip_features")
    write_partition(features, features_uri, service, month, TRIP_STATS_COLUMNS)
    features_version, report.rows_out = last_commit(spark, features_uri)
    report.outputs.append({"table": "trip_features", "uri": features_uri, "version": features_version})
    # zone_hourly from the trip features just written: a scan of the nine columns it needs
    written = read_partition(spark, features_uri, service, month, features_version)
    hourly_uri = lake.gold_table("zone_hourly")
    write_partition(
        check_schema(build_zone_hourly(written), GOLD_ZONE_HOURLY, "zone_hourly"), hourly_uri, service, month
    )
    report.outputs.append(
        {"table": "zone_hourly", "uri": hourly_uri, "version": table_version(spark, hourly_uri)}
    )
    report.rows_quarantined = 0
