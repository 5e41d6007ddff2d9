"""Every table's Spark schema, declared once (data contract §2, §4). The names and numbers they
are built from live in the engine-free :mod:`nyctaxi.contract`."""

from __future__ import annotations

from pyspark.sql import types as T

from nyctaxi.contract import SOURCE_VALUES

_TYPES = {
    "int": T.IntegerType(),
    "double": T.DoubleType(),
    "boolean": T.BooleanType(),
    "timestamp_ntz": T.TimestampNTZType(),
}
# ---- silver `trips` (contract §2) -----------------------------------------------------------------
SOURCE_VALUE_FIELDS = [T.StructField(name, _TYPES[kind]) for name, kind in SOURCE_VALUES.items()]

SILVER_TRIPS = T.StructType(
    [T.StructField("trip_id", T.StringType()), T.StructField("service", T.StringType())]
    + SOURCE_VALUE_FIELDS
    + [
        T.StructField("duration_min", T.DoubleType()),
        T.StructField("source_file", T.StringType()),
        T.StructField("month", T.StringType()),
    ]
)
SILVER_QUARANTINE = T.StructType(
    SILVER_TRIPS.fields
    + [
        T.StructField("reject_reasons", T.ArrayType(T.StringType())),
        T.StructField("raw_record", T.StringType()),  # a malformed CSV record's text, else null
    ]
)

# ---- zone lookup (bronze reference) ---------------------------------------------------------------
ZONE_LOOKUP = T.StructType(
    [
        T.StructField("LocationID", T.IntegerType()),
        T.StructField("Borough", T.StringType()),
        T.StructField("Zone", T.StringType()),
        T.StructField("service_zone", T.StringType()),
    ]
)

# ---- gold (contract §4) ---------------------------------------------------------------------------
_ZONE_FIELDS = [
    T.StructField(f"{end}_{name}", dtype)
    for end in ("pu", "do")
    for name, dtype in (
        ("location_id", T.IntegerType()),
        ("borough", T.StringType()),
        ("zone", T.StringType()),
        ("service_zone", T.StringType()),
    )
]
GOLD_TRIP_FEATURES = T.StructType(
    [
        T.StructField("trip_id", T.StringType()),
        T.StructField("service", T.StringType()),
        T.StructField("month", T.StringType()),
        T.StructField("pickup_at", T.TimestampNTZType()),
        T.StructField("pickup_date", T.DateType()),
        T.StructField("pickup_hour", T.IntegerType()),
        T.StructField("pickup_dow", T.IntegerType()),
        T.StructField("is_weekend", T.BooleanType()),
        T.StructField("is_rush_hour", T.BooleanType()),
        T.StructField("is_night", T.BooleanType()),
        T.StructField("is_holiday", T.BooleanType()),
        *_ZONE_FIELDS,
        T.StructField("is_airport_trip", T.BooleanType()),
        T.StructField("same_zone", T.BooleanType()),
        T.StructField("same_borough", T.BooleanType()),
        T.StructField("pu_zone_known", T.BooleanType()),
        T.StructField("do_zone_known", T.BooleanType()),
        T.StructField("trip_distance", T.DoubleType()),
        T.StructField("passenger_count", T.IntegerType()),
        T.StructField("vendor_id", T.IntegerType()),
        T.StructField("ratecode_id", T.IntegerType()),
        T.StructField("payment_type", T.IntegerType()),
        T.StructField("duration_min", T.DoubleType()),
        T.StructField("avg_speed_mph", T.DoubleType()),
        T.StructField("fare_amount", T.DoubleType()),
        T.StructField("tip_amount", T.DoubleType()),
        T.StructField("total_amount", T.DoubleType()),
        T.StructField("tip_pct", T.DoubleType()),
    ]
)
GOLD_ZONE_HOURLY = T.StructType(
    [
        T.StructField("service", T.StringType()),
        T.StructField("month", T.StringType()),
        T.StructField("pu_location_id", T.IntegerType()),
        T.StructField("pickup_date", T.DateType()),
        T.StructField("pickup_hour", T.IntegerType()),
        T.StructField("trips", T.LongType()),
        T.StructField("avg_duration_min", T.DoubleType()),
        T.StructField("avg_trip_distance", T.DoubleType()),
        T.StructField("avg_fare_amount", T.DoubleType()),
        T.StructField("total_amount_sum", T.DoubleType()),
    ]
)
# The feature store's offline source (nyctaxi.feature_store): one row per service, zone and hour of
# the month, ``feature_at`` the hour's start (wall clock, held as a UTC instant: Feast's timestamps).
GOLD_ZONE_DEMAND = T.StructType(
    [
        T.StructField("service", T.StringType()),
        T.StructField("month", T.StringType()),
        T.StructField("pu_location_id", T.IntegerType()),
        T.StructField("hour_of_week", T.IntegerType()),  # 0 = Monday 00:00 … 167 = Sunday 23:00
        T.StructField("feature_at", T.TimestampType()),
        T.StructField("trips_1w", T.LongType()),
        T.StructField("avg_duration_1w", T.DoubleType()),
        T.StructField("trips_4w_mean", T.DoubleType()),
        T.StructField("zone_trips_per_hour_28d", T.DoubleType()),
        T.StructField("zone_avg_speed_mph_7d", T.DoubleType()),
    ]
)
GOLD_PREDICTIONS = T.StructType(
    [
        T.StructField("trip_id", T.StringType()),
        T.StructField("service", T.StringType()),
        T.StructField("month", T.StringType()),
        T.StructField("prediction", T.DoubleType()),
        T.StructField("model_name", T.StringType()),
        T.StructField("model_version", T.StringType()),
    ]
)
