"""Every table's schema, declared once (data contract §2, §4), and how TLC source columns map onto silver."""

from __future__ import annotations

from pyspark.sql import types as T

# ---- silver `trips` (contract §2) -----------------------------------------------------------------
# The columns that come from the source file, in contract order. trip_id hashes exactly these.
SOURCE_VALUE_FIELDS = [
    T.StructField("vendor_id", T.IntegerType()),
    T.StructField("pickup_at", T.TimestampNTZType()),
    T.StructField("dropoff_at", T.TimestampNTZType()),
    T.StructField("passenger_count", T.IntegerType()),
    T.StructField("trip_distance", T.DoubleType()),
    T.StructField("ratecode_id", T.IntegerType()),
    T.StructField("store_and_fwd", T.BooleanType()),
    T.StructField("pu_location_id", T.IntegerType()),
    T.StructField("do_location_id", T.IntegerType()),
    T.StructField("payment_type", T.IntegerType()),
    T.StructField("fare_amount", T.DoubleType()),
    T.StructField("extra", T.DoubleType()),
    T.StructField("mta_tax", T.DoubleType()),
    T.StructField("tip_amount", T.DoubleType()),
    T.StructField("tolls_amount", T.DoubleType()),
    T.StructField("improvement_surcharge", T.DoubleType()),
    T.StructField("total_amount", T.DoubleType()),
    T.StructField("congestion_surcharge", T.DoubleType()),
    T.StructField("airport_fee", T.DoubleType()),
    T.StructField("cbd_congestion_fee", T.DoubleType()),
    T.StructField("ehail_fee", T.DoubleType()),
    T.StructField("trip_type", T.IntegerType()),
]
SOURCE_VALUE_COLUMNS = [f.name for f in SOURCE_VALUE_FIELDS]

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
PARTITION_COLUMNS = ["service", "month"]
# Tables of trips (silver trips/quarantine, gold trip_features) keep Delta min/max statistics only
# where a reader filters by value (time, place): a hash id or an amount skips no files.
TRIP_STATS_COLUMNS = ["pickup_at", "pu_location_id", "do_location_id"]
ZONE_HOURLY_STATS_COLUMNS = ["pu_location_id", "pickup_date"]

# Without these a row cannot be placed in time/space or priced: a file lacking any is refused.
REQUIRED_COLUMNS = (
    "pickup_at",
    "dropoff_at",
    "pu_location_id",
    "do_location_id",
    "trip_distance",
    "fare_amount",
    "total_amount",
)

# ---- source column names (TLC spelling, matched case-insensitively: case drifts by year) ----------
_COMMON_SOURCE_NAMES: dict[str, tuple[str, ...]] = {
    "vendor_id": ("VendorID",),
    "passenger_count": ("passenger_count",),
    "trip_distance": ("trip_distance",),
    "ratecode_id": ("RatecodeID",),
    "store_and_fwd": ("store_and_fwd_flag",),
    "pu_location_id": ("PULocationID",),
    "do_location_id": ("DOLocationID",),
    "payment_type": ("payment_type",),
    "fare_amount": ("fare_amount",),
    "extra": ("extra",),
    "mta_tax": ("mta_tax",),
    "tip_amount": ("tip_amount",),
    "tolls_amount": ("tolls_amount",),
    "improvement_surcharge": ("improvement_surcharge",),
    "total_amount": ("total_amount",),
    "congestion_surcharge": ("congestion_surcharge",),
    "cbd_congestion_fee": ("cbd_congestion_fee",),
}
# `airport_fee` became `Airport_fee` in 2023-02: matching is case-insensitive, so one name serves.
SOURCE_NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "yellow": {
        **_COMMON_SOURCE_NAMES,
        "pickup_at": ("tpep_pickup_datetime",),
        "dropoff_at": ("tpep_dropoff_datetime",),
        "airport_fee": ("airport_fee",),
    },
    "green": {
        **_COMMON_SOURCE_NAMES,
        "pickup_at": ("lpep_pickup_datetime",),
        "dropoff_at": ("lpep_dropoff_datetime",),
        "ehail_fee": ("ehail_fee",),
        "trip_type": ("trip_type",),
    },
}
# Great Expectations' public taxi samples (yellow_tripdata_sample_YYYY-MM.csv) rename the TLC
# columns to snake_case. They carry the same values, so we accept these names too — explicitly,
# one by one, rather than by fuzzy matching that could silently map a wrong column.
GX_SAMPLE_ALIASES: dict[str, tuple[str, ...]] = {
    "vendor_id": ("vendor_id",),
    "pickup_at": ("pickup_datetime",),
    "dropoff_at": ("dropoff_datetime",),
    "ratecode_id": ("rate_code_id",),
    "pu_location_id": ("pickup_location_id",),
    "do_location_id": ("dropoff_location_id",),
}


def source_names(service: str) -> dict[str, tuple[str, ...]]:
    """Accepted source names (TLC spelling first) for every silver column of ``service``."""
    names = dict(SOURCE_NAMES[service])
    for column, aliases in GX_SAMPLE_ALIASES.items():
        names[column] = names.get(column, ()) + aliases
    return names


# ---- cleaning rules (contract §3): codes in the order reject_reasons lists them -------------------
REASON_CODES = (
    "missing_required",
    "pickup_outside_month",
    "non_positive_duration",
    "duration_out_of_range",
    "distance_out_of_range",
    "speed_out_of_range",
    "amount_out_of_range",
    "invalid_zone",
    "passenger_count_out_of_range",
    "duplicate",
    "non_finite_value",
    "malformed_record",
)
# Rule 11 (`non_finite_value`): NaN or ±infinity in any of these fails the row.
FINITE_COLUMNS = (
    "trip_distance",
    "fare_amount",
    "extra",
    "mta_tax",
    "tip_amount",
    "tolls_amount",
    "improvement_surcharge",
    "total_amount",
    "congestion_surcharge",
    "airport_fee",
    "cbd_congestion_fee",
    "ehail_fee",
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

# ---- gold feature definitions (contract §4): one place for gold's Spark job and serving's pandas
AIRPORT_ZONES = (1, 132, 138)  # EWR, JFK, LaGuardia
UNKNOWN_ZONES = (264, 265)  # "Unknown" and "Outside of NYC": valid in silver, flagged in gold
RUSH_HOURS = (*range(7, 10), *range(16, 20))  # 7–9 am and 4–7 pm, Monday to Friday
NIGHT_START, NIGHT_END = 22, 6  # 22:00–05:59

# ---- model (model-and-serving.md) -----------------------------------------------------------------
# What a caller knows at pickup time: the serving request and the model's input signature.
# Optional inputs may be null, so MLflow types them double (a pandas int column cannot hold null);
# everything else the model sees is derived from these.
MODEL_INPUTS: dict[str, tuple[str, bool]] = {  # name → (MLflow type, required)
    "service": ("string", True),
    "pickup_at": ("string", True),  # ISO-8601 wall-clock NYC time, no offset
    "pu_location_id": ("long", True),
    "do_location_id": ("long", True),
    "trip_distance": ("double", True),
    "passenger_count": ("double", False),
    "vendor_id": ("double", False),
    "ratecode_id": ("double", False),
}
# The model's feature vector, in order: gold's time and place features (contract §4) of the
# inputs above. Outcomes (duration, speed, fares, tips, payment type, dropoff) never appear.
MODEL_FEATURES = (
    "is_green",
    "pickup_hour",
    "pickup_dow",
    "is_weekend",
    "is_rush_hour",
    "is_night",
    "is_holiday",
    "pu_location_id",
    "do_location_id",
    "pu_borough_code",
    "do_borough_code",
    "is_airport_trip",
    "same_zone",
    "same_borough",
    "pu_zone_known",
    "do_zone_known",
    "trip_distance",
    "passenger_count",
    "vendor_id",
    "ratecode_id",
)
