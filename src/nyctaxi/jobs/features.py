"""Job `features`: silver `trips` (service, month) → gold `trip_features` + `zone_hourly` + report."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from nyctaxi.config import Settings
from nyctaxi.errors import MissingInput
from nyctaxi.holidays_calendar import federal_holidays
from nyctaxi.jobs import envelope
from nyctaxi.jobs.envelope import JobContext, Result
from nyctaxi.lake import manifest_uri
from nyctaxi.months import Month
from nyctaxi.publication import MonthRecord, publish, reconcile
from nyctaxi.quality.report import RunReport
from nyctaxi.readers import read_zone_lookup
from nyctaxi.transform.features import build_trip_features, build_zone_hourly


def run(spark: SparkSession, settings: Settings, service: str, month: Month) -> RunReport:
    return envelope.run("features", _features, spark, settings, service, month)


def _features(ctx: JobContext) -> Result:
    reconcile(ctx.spark, ctx.lake, "gold", ctx.service, ctx.month, ctx.run_id)  # a killed run's commits
    try:
        record, result = _write(ctx)
    except Exception:
        reconcile(ctx.spark, ctx.lake, "gold", ctx.service, ctx.month, ctx.run_id, only_own=True)
        raise
    publish(ctx.lake, record)
    return result


def _write(ctx: JobContext) -> tuple[MonthRecord, Result]:
    service, month = ctx.service, ctx.month
    zones_uri = ctx.lake.zone_lookup()
    if not ctx.lake.exists(zones_uri):
        raise MissingInput(f"zone lookup missing at {zones_uri}: run `nyctaxi ingest` first")
    trips = ctx.read("trips")
    zones_sha = (
        ctx.lake.read_json(manifest_uri(zones_uri)).get("sha256")
        if ctx.lake.exists(manifest_uri(zones_uri))
        else None
    )
    ctx.used(uri=zones_uri, sha256=zones_sha)
    silver_rows = trips.frame.count()  # a count reads no data columns (Parquet row counts)
    if silver_rows == 0:
        raise MissingInput(
            f"silver trips has no rows for {service} {month}: run `nyctaxi preprocess --service "
            f"{service} --month {month}`"
        )
    source = trips.record.source_sha256
    # Pickups are inside the month (silver rule 2), so its year covers every holiday needed.
    zones = read_zone_lookup(ctx.spark, zones_uri)
    features = ctx.write(
        build_trip_features(trips.frame, zones, federal_holidays([month.year])),
        "trip_features",
        source_sha256=source,
    )
    # zone_hourly from the trip features just written: a scan of the nine columns it needs
    written = ctx.catalog.read("trip_features", service, month, features.version).frame
    hourly = ctx.write(build_zone_hourly(written), "zone_hourly", source_sha256=source)
    tables = {"trip_features": features.version, "zone_hourly": hourly.version}
    shown = month_profile(ctx.catalog.read("zone_hourly", service, month, hourly.version).frame, zones)
    record = MonthRecord(
        "gold", service, str(month), ctx.run_id, source, trips.record.source_file, tables,
        inputs={"trips": trips.version},
    )  # fmt: skip
    return record, Result(silver_rows, features.rows, 0, source_sha256=source, summary={"profile": shown})


BUSIEST_ZONES = 10


def month_profile(hourly: DataFrame, zones: DataFrame) -> dict:
    """What the month report draws, from the month's zone_hourly rows (a few thousand): trips
    by pickup hour and weekday (ISO, Monday = 1), and the busiest pickup zones with their names."""
    weekday = ((F.dayofweek("pickup_date") + 5) % 7 + 1).alias("weekday")
    by_hour = {
        r["pickup_hour"]: r["trips"]
        for r in hourly.groupBy("pickup_hour").agg(F.sum("trips").alias("trips")).collect()
    }
    by_day = {
        r["weekday"]: r["trips"] for r in hourly.groupBy(weekday).agg(F.sum("trips").alias("trips")).collect()
    }
    busiest = (
        hourly.groupBy("pu_location_id")
        .agg(F.sum("trips").alias("trips"))
        .orderBy(F.desc("trips"), "pu_location_id")
        .limit(BUSIEST_ZONES)
        .join(
            zones.select(F.col("LocationID").alias("pu_location_id"), "Zone", "Borough"),
            "pu_location_id",
            "left",
        )
        .orderBy(F.desc("trips"), "pu_location_id")
        .collect()
    )
    return {
        "trips_by_hour": [int(by_hour.get(h, 0)) for h in range(24)],
        "trips_by_weekday": [int(by_day.get(d, 0)) for d in range(1, 8)],
        "busiest_zones": [
            {
                "zone_id": r["pu_location_id"],
                "zone": r["Zone"],
                "borough": r["Borough"],
                "trips": int(r["trips"]),
            }
            for r in busiest
        ],
    }
