"""Job `features`: silver `trips` (service, month) → gold `trip_features` + `zone_hourly` + report."""

from __future__ import annotations

from pyspark import StorageLevel
from pyspark.sql import SparkSession

from nyctaxi.config import Settings
from nyctaxi.errors import MissingInput
from nyctaxi.holidays_calendar import federal_holidays
from nyctaxi.lake import Lake, exists, manifest_uri, read_json
from nyctaxi.months import Month
from nyctaxi.quality.report import RunReport, reporting
from nyctaxi.schemas import GOLD_TRIP_FEATURES, GOLD_ZONE_HOURLY
from nyctaxi.tables import (
    check_schema,
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
    # Pickups are inside the month (silver rule 2), so its year covers every holiday needed.
    features = build_trip_features(trips, read_zone_lookup(spark, zones_uri), federal_holidays([month.year]))
    features = check_schema(features, GOLD_TRIP_FEATURES, "trip_features").persist(
        StorageLevel.MEMORY_AND_DISK
    )
    try:
        report.rows_in = report.rows_out = features.count()
        if report.rows_in == 0:
            raise MissingInput(f"silver trips has no rows for {service} {month}: run `nyctaxi preprocess`")
        for table, frame, schema in (
            ("trip_features", features, GOLD_TRIP_FEATURES),
            ("zone_hourly", build_zone_hourly(features), GOLD_ZONE_HOURLY),
        ):
            uri = lake.gold_table(table)
            write_partition(check_schema(frame, schema, table), uri, service, month)
            report.outputs.append({"table": table, "uri": uri, "version": table_version(spark, uri)})
    finally:
        features.unpersist()
    report.rows_quarantined = 0
