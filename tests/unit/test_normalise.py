"""Source drift → one silver shape: names, case, int/double/string types, flags, missing columns."""

from __future__ import annotations

from datetime import datetime

import pytest
from pyspark.sql import types as T

from nyctaxi.contract import SOURCE_VALUE_COLUMNS
from nyctaxi.errors import BadSourceFile
from nyctaxi.transform.normalise import map_columns, normalise

YELLOW_2024 = [
    "VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime", "passenger_count", "trip_distance",
    "RatecodeID", "store_and_fwd_flag", "PULocationID", "DOLocationID", "payment_type", "fare_amount",
    "extra", "mta_tax", "tip_amount", "tolls_amount", "improvement_surcharge", "total_amount",
    "congestion_surcharge", "Airport_fee",
]  # fmt: skip


def test_airport_fee_matches_either_case_and_extras_are_reported():
    mapping = map_columns(YELLOW_2024 + ["__index_level_0__"], "yellow", "f.parquet")
    assert mapping.sources["airport_fee"] == "Airport_fee"
    assert mapping.unexpected == ["__index_level_0__"]
    lower = map_columns([c.replace("Airport_fee", "airport_fee") for c in YELLOW_2024], "yellow", "f.parquet")
    assert lower.sources["airport_fee"] == "airport_fee"


def test_missing_required_columns_name_file_and_columns():
    columns = [
        "lpep_pickup_datetime",
        "lpep_dropoff_datetime",
        "trip_distance",
        "PULocationID",
        "DOLocationID",
    ]
    with pytest.raises(BadSourceFile) as error:
        map_columns(columns, "green", "green_tripdata_2022-01_5cols.parquet")
    assert str(error.value).startswith(
        "green_tripdata_2022-01_5cols.parquet: required green columns missing: fare_amount, total_amount"
    )


def test_a_green_file_is_not_accepted_as_yellow():
    green = [c.replace("tpep", "lpep") for c in YELLOW_2024]
    with pytest.raises(BadSourceFile, match="tpep_pickup_datetime, tpep_dropoff_datetime"):
        map_columns(green, "yellow", "green_tripdata_2025-01.parquet")


def test_two_columns_for_one_silver_column_are_refused():
    with pytest.raises(BadSourceFile, match="all map to silver column 'airport_fee'"):
        map_columns(YELLOW_2024 + ["airport_fee"], "yellow", "f.parquet")


def test_csv_text_is_cast_explicitly(spark):
    """CSV columns arrive as text: '1.0' counts, '.80' distances, quoted flags, empty fields."""
    header = ["VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime", "passenger_count", "trip_distance",
              "RatecodeID", "store_and_fwd_flag", "PULocationID", "DOLocationID", "fare_amount", "total_amount"]  # fmt: skip
    rows = [
        [
            "1",
            "2020-07-01 00:25:32",
            "2020-07-01 00:33:39",
            "1.0",
            ".80",
            "7",
            "N",
            "238",
            "75",
            "6.5",
            "8.3",
        ],
        [
            "2",
            "2020-04-25 14:25:29.000000",
            "2020-04-25 14:30:00.000000",
            "",
            "1.50",
            "",
            "y",
            "1",
            "264",
            "5",
            "6",
        ],
        ["x", "not a time", "2020-07-01 00:33:39", "two", "1", "99", "?", "1", "2", "5", "6"],
    ]
    raw = spark.createDataFrame(rows, T.StructType([T.StructField(c, T.StringType()) for c in header]))
    mapping = map_columns(header, "yellow", "f.csv")
    out = normalise(raw, "yellow", "f.csv", mapping)
    assert out.columns == ["service", *SOURCE_VALUE_COLUMNS, "source_file", "cast_failed", "raw_record"]
    assert dict(out.dtypes)["pickup_at"] == "timestamp_ntz"
    got = [r.asDict() for r in out.collect()]
    assert got[0]["passenger_count"] == 1 and got[0]["trip_distance"] == 0.8
    assert got[0]["ratecode_id"] == 99, "a non-null code outside 1..6/99 becomes 99"
    assert (
        got[0]["store_and_fwd"] is False
        and got[1]["store_and_fwd"] is True
        and got[2]["store_and_fwd"] is None
    )
    assert got[1]["pickup_at"] == datetime(2020, 4, 25, 14, 25, 29)
    assert got[1]["passenger_count"] is None and got[1]["ratecode_id"] is None
    assert got[2]["vendor_id"] is None and got[2]["pickup_at"] is None and got[2]["passenger_count"] is None
    # what did not convert is named (empty fields are absent, not failures; flags are null by rule)
    assert [r["cast_failed"] for r in got] == [[], [], ["vendor_id", "pickup_at", "passenger_count"]]
    assert (
        got[0]["airport_fee"] is None and got[0]["cbd_congestion_fee"] is None and got[0]["trip_type"] is None
    )


def test_double_counts_and_ltz_timestamps(spark):
    """2024 parquet stores counts as double; an LTZ timestamp keeps its wall-clock reading."""
    schema = T.StructType(
        [
            T.StructField("lpep_pickup_datetime", T.TimestampType()),
            T.StructField("lpep_dropoff_datetime", T.TimestampNTZType()),
            T.StructField("passenger_count", T.DoubleType()),
            T.StructField("trip_type", T.DoubleType()),
            T.StructField("PULocationID", T.LongType()),
            T.StructField("DOLocationID", T.IntegerType()),
            T.StructField("trip_distance", T.DoubleType()),
            T.StructField("fare_amount", T.DoubleType()),
            T.StructField("total_amount", T.DoubleType()),
        ]
    )
    raw = spark.createDataFrame(
        [(datetime(2024, 3, 10, 2, 30), datetime(2024, 3, 10, 2, 45), 2.0, 1.0, 74, 75, 1.0, 5.0, 6.0)],
        schema,
    )
    row = normalise(raw, "green", "g.parquet", map_columns(raw.columns, "green", "g.parquet")).collect()[0]
    assert row["passenger_count"] == 2 and row["trip_type"] == 1
    # 02:30 on 2024-03-10 does not exist in New York (DST gap); the session zone is UTC, so it survives.
    assert row["pickup_at"] == datetime(2024, 3, 10, 2, 30)


def test_integers_never_truncate_and_zoned_text_becomes_new_york_time(spark):
    """74.7 / 265.9 / NaN are cast failures, not 74 / 265; '…-05:00' and '…Z' are instants."""
    header = ["lpep_pickup_datetime", "lpep_dropoff_datetime", "PULocationID", "DOLocationID",
              "passenger_count", "trip_distance", "fare_amount", "total_amount"]  # fmt: skip
    rows = [
        ["2025-01-01 00:18:38-05:00", "2025-01-01T05:30:00Z", "74.7", "265.9", "NaN", "1", "5", "6"],
        ["2025-01-01 00:18:38", "2025-01-01 00:30:00", "74.0", " 75 ", "2.0", "1", "5", "6"],
    ]
    raw = spark.createDataFrame(rows, T.StructType([T.StructField(c, T.StringType()) for c in header]))
    got = normalise(raw, "green", "g.csv", map_columns(header, "green", "g.csv")).collect()
    assert got[0]["pickup_at"] == datetime(2025, 1, 1, 0, 18, 38)
    assert got[0]["dropoff_at"] == datetime(2025, 1, 1, 0, 30), "05:30 UTC is 00:30 in New York"
    assert got[0]["pu_location_id"] is None and got[0]["do_location_id"] is None
    assert got[0]["cast_failed"] == ["passenger_count", "pu_location_id", "do_location_id"]
    assert (got[1]["pu_location_id"], got[1]["do_location_id"], got[1]["passenger_count"]) == (74, 75, 2)
    assert got[1]["cast_failed"] == []


def test_parquet_instants_and_nanoseconds_by_their_metadata(spark):
    """A zoned column (per the file's Arrow schema) is converted to New York wall clock; a
    nanosecond column arrives as long and is converted exactly."""
    from nyctaxi.transform.normalise import SourceTimestamps

    schema = T.StructType(
        [
            T.StructField("lpep_pickup_datetime", T.TimestampType()),
            T.StructField("lpep_dropoff_datetime", T.LongType()),
            T.StructField("PULocationID", T.DoubleType()),
            T.StructField("DOLocationID", T.DoubleType()),
            T.StructField("trip_distance", T.DoubleType()),
            T.StructField("fare_amount", T.DoubleType()),
            T.StructField("total_amount", T.DoubleType()),
        ]
    )
    utc = datetime(2025, 7, 1, 16, 0)  # 12:00 in New York (EDT)
    nanos = 1_735_732_800_123_456_789  # 2025-01-01 12:00:00.123456789 wall clock
    raw = spark.createDataFrame([(utc, nanos, 74.0, float("nan"), 1.0, 5.0, 6.0)], schema)
    stored = SourceTimestamps(
        zoned=frozenset({"lpep_pickup_datetime"}), nanos=frozenset({"lpep_dropoff_datetime"})
    )
    row = normalise(raw, "green", "g.parquet", map_columns(raw.columns, "green", "g.parquet"), stored).first()
    assert row["pickup_at"] == datetime(2025, 7, 1, 12, 0)
    assert row["dropoff_at"] == datetime(2025, 1, 1, 12, 0, 0, 123456)
    assert row["pu_location_id"] == 74 and row["do_location_id"] is None
    assert row["cast_failed"] == ["do_location_id"]


def test_unreadable_column_types_are_refused_by_name(spark):
    from nyctaxi.transform.normalise import SourceTimestamps, check_source_types

    columns = ["lpep_pickup_datetime", "lpep_dropoff_datetime", "PULocationID", "DOLocationID",
               "trip_distance", "total_amount"]  # fmt: skip
    base = [T.StructField(c, T.TimestampNTZType() if "datetime" in c else T.DoubleType()) for c in columns]
    fare = T.StructField("fare_amount", T.StructType([T.StructField("value", T.DoubleType())]))
    schema = T.StructType([*base, fare])
    mapping = map_columns(schema.fieldNames(), "green", "g.parquet")
    with pytest.raises(
        BadSourceFile, match=r"g.parquet: column fare_amount is struct<value:double>, expected a number"
    ):
        check_source_types(schema, mapping, SourceTimestamps(), "g.parquet")
    ints = T.StructType(
        [T.StructField(f.name, T.LongType()) if "pickup" in f.name else f for f in base] + [fare]
    )
    with pytest.raises(BadSourceFile, match="column lpep_pickup_datetime is bigint, expected a timestamp"):
        check_source_types(
            ints, map_columns(ints.fieldNames(), "green", "g.parquet"), SourceTimestamps(), "g.parquet"
        )
