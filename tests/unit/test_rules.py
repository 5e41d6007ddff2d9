"""Every cleaning rule at its boundaries, on tiny frames compared whole (chispa)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql import types as T

from nyctaxi.months import Month
from nyctaxi.schemas import SOURCE_VALUE_FIELDS
from nyctaxi.transform.rules import classify

MONTH = Month.parse("2025-01")
T0 = datetime(2025, 1, 15, 12, 0, 0)
NORMALISED = T.StructType(
    [T.StructField("label", T.StringType()), T.StructField("service", T.StringType())]
    + SOURCE_VALUE_FIELDS
    + [
        T.StructField("source_file", T.StringType()),
        T.StructField("cast_failed", T.ArrayType(T.StringType())),
        T.StructField("raw_record", T.StringType()),
    ]
)
RESULT = T.StructType(
    [
        T.StructField("label", T.StringType()),
        T.StructField("reject_reasons", T.ArrayType(T.StringType(), False)),
    ]
)


def trip(label: str, **overrides) -> dict:
    """A clean 10-minute, 2-mile trip; overrides make it awkward."""
    row = {f.name: None for f in SOURCE_VALUE_FIELDS}
    row.update(
        label=label,
        service="green",
        source_file="green_tripdata_2025-01.parquet",
        vendor_id=2,
        pickup_at=T0,
        dropoff_at=T0 + timedelta(minutes=10),
        passenger_count=1,
        trip_distance=2.0,
        pu_location_id=74,
        do_location_id=75,
        fare_amount=12.0,
        total_amount=15.0,
        cast_failed=[],
        raw_record=None,
    )
    row.update(overrides)
    return row


def reasons_of(spark, rows: list[dict]):
    frame = spark.createDataFrame(rows, NORMALISED)
    return classify(frame, MONTH).select("label", "reject_reasons")


def expect(spark, cases: dict[str, list[str]]):
    return spark.createDataFrame(list(cases.items()), RESULT)


def check(spark, rows, cases):
    actual = reasons_of(spark, rows)
    assert_df_equality(actual, expect(spark, cases), ignore_row_order=True, ignore_nullable=True)


def test_clean_trip_has_no_reasons(spark):
    check(spark, [trip("clean")], {"clean": []})


@pytest.mark.parametrize(
    "column",
    ["pickup_at", "pu_location_id", "do_location_id", "trip_distance", "fare_amount", "total_amount"],
)
def test_missing_required_fires_on_each_required_null(spark, column):
    check(spark, [trip("x", **{column: None})], {"x": ["missing_required"]})


def test_missing_dropoff_fires_only_missing_required(spark):
    # Duration rules have a null input and so do not fire.
    check(spark, [trip("x", dropoff_at=None)], {"x": ["missing_required"]})


def test_optional_nulls_do_not_fire(spark):
    check(spark, [trip("x", passenger_count=None, vendor_id=None, ratecode_id=None)], {"x": []})


def test_pickup_month_window_is_half_open(spark):
    start, end = MONTH.start, MONTH.end
    rows = [
        trip("first instant", pickup_at=start, dropoff_at=start + timedelta(minutes=5)),
        trip(
            "just before",
            pickup_at=start - timedelta(microseconds=1),
            dropoff_at=start + timedelta(minutes=5),
        ),
        trip(
            "last microsecond",
            pickup_at=end - timedelta(microseconds=1),
            dropoff_at=end + timedelta(minutes=5),
        ),
        trip("next month", pickup_at=end, dropoff_at=end + timedelta(minutes=5)),
    ]
    check(
        spark,
        rows,
        {
            "first instant": [],
            "just before": ["pickup_outside_month"],
            "last microsecond": [],
            "next month": ["pickup_outside_month"],
        },
    )


def test_duration_boundaries(spark):
    def lasting(label, delta):
        return trip(label, dropoff_at=T0 + delta, trip_distance=0.5)

    rows = [
        lasting("zero", timedelta(0)),
        lasting("negative", timedelta(minutes=-5)),
        lasting("59.999 s", timedelta(seconds=59, microseconds=999_000)),
        lasting("1 min", timedelta(minutes=1)),
        lasting("180 min", timedelta(minutes=180)),
        lasting("180 min + 1 s", timedelta(minutes=180, seconds=1)),
    ]
    check(
        spark,
        rows,
        {
            "zero": ["non_positive_duration", "duration_out_of_range"],
            "negative": ["non_positive_duration", "duration_out_of_range"],
            "59.999 s": ["duration_out_of_range"],
            "1 min": [],
            "180 min": [],
            "180 min + 1 s": ["duration_out_of_range"],
        },
    )


def test_distance_boundaries(spark):
    rows = [
        trip("zero", trip_distance=0.0),
        trip("negative", trip_distance=-9.88),
        trip("tiny", trip_distance=0.01),
        # 100 miles needs > 75 minutes to stay under 80 mph
        trip("100", trip_distance=100.0, dropoff_at=T0 + timedelta(minutes=90)),
        trip("100.01", trip_distance=100.01, dropoff_at=T0 + timedelta(minutes=90)),
    ]
    check(
        spark,
        rows,
        {
            "zero": ["distance_out_of_range"],
            "negative": ["distance_out_of_range"],
            "tiny": [],
            "100": [],
            "100.01": ["distance_out_of_range"],
        },
    )


def test_speed_boundary_is_strictly_above_80_mph(spark):
    rows = [
        trip("80 mph", trip_distance=40.0, dropoff_at=T0 + timedelta(minutes=30)),
        trip("80.04 mph", trip_distance=40.02, dropoff_at=T0 + timedelta(minutes=30)),
        # zero distance: speed is not evaluated (its own rule fires)
        trip("no distance", trip_distance=0.0, dropoff_at=T0 + timedelta(minutes=30)),
    ]
    check(
        spark,
        rows,
        {"80 mph": [], "80.04 mph": ["speed_out_of_range"], "no distance": ["distance_out_of_range"]},
    )


def test_amount_boundaries(spark):
    rows = [
        trip("zero fare", fare_amount=0.0, total_amount=0.0),
        trip("refund", fare_amount=-21.0, total_amount=-24.8),
        trip("negative total only", total_amount=-0.01),
        trip("1000", fare_amount=1000.0, total_amount=1010.0),
        trip("1000.01", fare_amount=1000.01, total_amount=1010.0),
    ]
    check(
        spark,
        rows,
        {
            "zero fare": [],
            "refund": ["amount_out_of_range"],
            "negative total only": ["amount_out_of_range"],
            "1000": [],
            "1000.01": ["amount_out_of_range"],
        },
    )


def test_zone_boundaries_keep_unknown_zones(spark):
    rows = [
        trip("1", pu_location_id=1),
        trip("264", pu_location_id=264),
        trip("265", do_location_id=265),
        trip("0", pu_location_id=0),
        trip("266", do_location_id=266),
    ]
    check(spark, rows, {"1": [], "264": [], "265": [], "0": ["invalid_zone"], "266": ["invalid_zone"]})


def test_passenger_boundaries(spark):
    rows = [trip(str(n), passenger_count=n) for n in (-1, 0, 8, 9)]
    check(
        spark,
        rows,
        {"-1": ["passenger_count_out_of_range"], "0": [], "8": [], "9": ["passenger_count_out_of_range"]},
    )


def test_duplicates_all_copies_but_one(spark):
    rows = [trip("a"), trip("b"), trip("c"), trip("other", fare_amount=13.0)]
    frame = spark.createDataFrame(rows, NORMALISED).drop("label")
    result = classify(frame, MONTH)
    counts = result.groupBy(F.col("reject_reasons").cast("string").alias("r")).count().collect()
    assert {row["r"]: row["count"] for row in counts} == {"[]": 2, "[duplicate]": 2}
    assert result.select("trip_id").distinct().count() == 2


def test_reasons_keep_contract_order_when_several_fire(spark):
    row = trip(
        "many",
        pickup_at=datetime(2024, 12, 31, 23, 0),
        dropoff_at=datetime(2024, 12, 31, 23, 0),
        trip_distance=0.0,
        fare_amount=-3.0,
        pu_location_id=300,
        passenger_count=9,
    )
    check(
        spark,
        [row],
        {
            "many": [
                "pickup_outside_month",
                "non_positive_duration",
                "duration_out_of_range",
                "distance_out_of_range",
                "amount_out_of_range",
                "invalid_zone",
                "passenger_count_out_of_range",
            ]
        },
    )


def test_trip_id_is_deterministic_and_ignores_the_file(spark):
    rows = [trip("a"), trip("b", source_file="elsewhere.csv"), trip("c", tip_amount=1.0)]
    ids = {
        r["label"]: r["trip_id"] for r in classify(spark.createDataFrame(rows, NORMALISED), MONTH).collect()
    }
    assert ids["a"] == ids["b"] != ids["c"]
    assert len(ids["a"]) == 32


def test_trip_id_tells_where_the_nulls_are(spark):
    # Spark's xxhash64 skips nulls: without the null mask the first two would share one id.
    rows = [
        trip("tip_null", tip_amount=None, tolls_amount=1.0),
        trip("tolls_null", tip_amount=1.0, tolls_amount=None),
        trip("zero", tip_amount=1.0, tolls_amount=0.0),
    ]
    ids = {
        r["label"]: r["trip_id"] for r in classify(spark.createDataFrame(rows, NORMALISED), MONTH).collect()
    }
    assert len(set(ids.values())) == 3, ids
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids.values())


@pytest.mark.parametrize(
    "column", ["trip_distance", "fare_amount", "tip_amount", "total_amount", "airport_fee", "ehail_fee"]
)
def test_nan_and_infinities_fire_non_finite_value(spark, column):
    rows = [trip(f"{column}={v}", **{column: v}) for v in (float("nan"), float("inf"), float("-inf"))]
    actual = {r["label"]: r["reject_reasons"] for r in reasons_of(spark, rows).collect()}
    assert all("non_finite_value" in reasons for reasons in actual.values()), actual
    if column in ("tip_amount", "airport_fee", "ehail_fee"):  # no other rule reads these
        assert set(map(tuple, actual.values())) == {("non_finite_value",)}


def test_a_zone_that_was_not_a_whole_number_is_invalid(spark):
    """74.7 in the source: the cast left null and named the column; rules 1 and 8 both fire."""
    rows = [
        trip("pu 74.7", pu_location_id=None, cast_failed=["pu_location_id"]),
        trip("do absent", do_location_id=None),
        trip("fare not a number", fare_amount=None, cast_failed=["fare_amount"]),
    ]
    check(
        spark,
        rows,
        {
            "pu 74.7": ["missing_required", "invalid_zone"],
            "do absent": ["missing_required"],
            "fare not a number": ["missing_required"],
        },
    )


def test_a_malformed_record_carries_only_malformed_record(spark):
    """Its values are all null (never shifted); no other rule is evaluated, not even duplicate."""
    empty = {f.name: None for f in SOURCE_VALUE_FIELDS}
    rows = [
        {**trip("short"), **empty, "raw_record": "1,2025-01-15 12:00:00"},
        {**trip("short again"), **empty, "raw_record": "1,2025-01-15 12:00:00"},
        {**trip("long"), **empty, "raw_record": "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21"},
        trip("clean"),
    ]
    check(
        spark,
        rows,
        {
            "short": ["malformed_record"],
            "short again": ["malformed_record"],
            "long": ["malformed_record"],
            "clean": [],
        },
    )
