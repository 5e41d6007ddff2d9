"""Gold features on a handful of awkward trips: calendar edges, holidays, unknown zones, zero fares."""

from __future__ import annotations

from datetime import date, datetime

from nyctaxi.holidays_calendar import federal_holidays
from nyctaxi.schemas import GOLD_TRIP_FEATURES, SILVER_TRIPS, ZONE_LOOKUP
from nyctaxi.transform.features import build_trip_features, build_zone_hourly

ZONES = [
    (1, "EWR", "Newark Airport", "EWR"),
    (74, "Manhattan", "East Harlem North", "Boro Zone"),
    (75, "Manhattan", "East Harlem South", "Boro Zone"),
    (132, "Queens", "JFK Airport", "Airports"),
    (264, "Unknown", "N/A", "N/A"),
]


def silver(spark, rows: list[dict]):
    full = [{**{f.name: None for f in SILVER_TRIPS.fields}, **row} for row in rows]
    return spark.createDataFrame(full, SILVER_TRIPS)


def row(trip_id, pickup, pu, do, fare=10.0, tip=2.0, minutes=12.0, miles=3.0):
    return dict(
        trip_id=trip_id, service="green", month="2025-01", pickup_at=pickup, pu_location_id=pu,
        do_location_id=do, fare_amount=fare, tip_amount=tip, total_amount=fare + tip, duration_min=minutes,
        trip_distance=miles, passenger_count=1, vendor_id=2, ratecode_id=1, payment_type=1,
    )  # fmt: skip


def test_federal_holidays_include_observed_days():
    days = federal_holidays([2021])
    assert date(2021, 1, 1) in days and date(2021, 12, 24) in days  # Christmas on Saturday → Friday
    assert date(2021, 2, 12) not in days  # Lincoln's Birthday is a NY state holiday only


def test_trip_features(spark):
    trips = silver(
        spark,
        [
            row("rush", datetime(2025, 1, 15, 8, 59, 59), 74, 75),  # Wednesday morning rush
            row("new-year", datetime(2025, 1, 1, 23, 30), 132, 74, fare=0.0, tip=0.0),  # holiday night, JFK
            row("sunday", datetime(2025, 1, 19, 17, 0), 264, 264),  # weekend, unknown zones
        ],
    )
    zones = spark.createDataFrame(ZONES, ZONE_LOOKUP)
    features = build_trip_features(trips, zones, federal_holidays([2025]))
    assert features.schema == GOLD_TRIP_FEATURES
    got = {r["trip_id"]: r.asDict() for r in features.collect()}
    rush, holiday, sunday = got["rush"], got["new-year"], got["sunday"]
    assert (rush["pickup_hour"], rush["pickup_dow"], rush["is_rush_hour"], rush["is_night"]) == (
        8,
        3,
        True,
        False,
    )
    assert (rush["pu_borough"], rush["do_zone"], rush["same_borough"], rush["same_zone"]) == (
        "Manhattan", "East Harlem South", True, False,
    )  # fmt: skip
    assert rush["tip_pct"] == 0.2 and rush["avg_speed_mph"] == 15.0 and rush["is_holiday"] is False
    assert holiday["is_holiday"] and holiday["is_night"] and holiday["is_airport_trip"]
    assert holiday["tip_pct"] is None, "no tip share without a positive fare"
    assert holiday["pu_service_zone"] == "Airports"
    assert (sunday["pickup_dow"], sunday["is_weekend"], sunday["is_rush_hour"]) == (7, True, False)
    assert (
        sunday["pu_zone_known"] is False and sunday["same_zone"] is True and sunday["same_borough"] is False
    )
    assert sunday["pu_zone"] == "N/A", "the lookup's literal N/A is kept, not turned into null"

    hourly = {(r["pu_location_id"], r["pickup_hour"]): r for r in build_zone_hourly(features).collect()}
    assert hourly[(74, 8)]["trips"] == 1 and hourly[(74, 8)]["total_amount_sum"] == 12.0
    assert len(hourly) == 3


def test_zone_lookup_reads_literal_na(spark, zone_lookup):
    from nyctaxi.readers import read_zone_lookup

    zones = {r["LocationID"]: r for r in read_zone_lookup(spark, zone_lookup).collect()}
    assert len(zones) == 265
    assert (zones[264]["Borough"], zones[264]["Zone"]) == ("Unknown", "N/A")
    assert (zones[265]["Borough"], zones[265]["Zone"], zones[265]["service_zone"]) == (
        "N/A",
        "Outside of NYC",
        "N/A",
    )
