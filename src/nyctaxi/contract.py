"""The data contract's names and numbers, with no engine attached (no pyspark, no pandas).

Serving, monitoring, the CLI and the DuckDB reference read the same constants as the Spark jobs;
`schemas.py` turns the column lists here into Spark types. See ../shared/specs/data-contract.md.
"""

from __future__ import annotations

# ---- silver `trips` (contract §2) -----------------------------------------------------------------
# The columns that come from the source file, in contract order, with their silver type
# (`schemas.py` maps these names to Spark types). trip_id hashes exactly these.
SOURCE_VALUES: dict[str, str] = {
    "vendor_id": "int",
    "pickup_at": "timestamp_ntz",
    "dropoff_at": "timestamp_ntz",
    "passenger_count": "int",
    "trip_distance": "double",
    "ratecode_id": "int",
    "store_and_fwd": "boolean",
    "pu_location_id": "int",
    "do_location_id": "int",
    "payment_type": "int",
    "fare_amount": "double",
    "extra": "double",
    "mta_tax": "double",
    "tip_amount": "double",
    "tolls_amount": "double",
    "improvement_surcharge": "double",
    "total_amount": "double",
    "congestion_surcharge": "double",
    "airport_fee": "double",
    "cbd_congestion_fee": "double",
    "ehail_fee": "double",
    "trip_type": "int",
}
SOURCE_VALUE_COLUMNS = list(SOURCE_VALUES)
# Two seeds of xxhash64 make one 128-bit trip_id (collision odds ~1e-25 within a 10M-row month).
TRIP_ID_SEEDS = (1, 2)
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
# Thresholds of the rules, each with its reason:
MIN_DURATION_MIN = 1.0  # under a minute is a meter tap or a cancelled hail, not a trip
MAX_DURATION_MIN = 180.0  # TLC meters are not left running for hours on real trips
MAX_DISTANCE_MI = 100.0  # the farthest regular destinations (airports, Westchester) are well below
MAX_SPEED_MPH = 80.0  # faster than any legal NYC-area road; odometer/clock glitches produce these
MAX_FARE = 1000.0  # fares above this are data-entry errors (max real negotiated fares are far lower)
MIN_ZONE, MAX_ZONE = 1, 265  # taxi zones; 264/265 (Unknown/Outside NYC) are valid
MAX_PASSENGERS = 8  # largest vehicles the TLC licenses seat 8 passengers

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


# The model's rows (model-and-serving.md): a trip of 1–60 minutes between two known-or-unknown
# NYC zones (1..263), the same rows for training and evaluation.
TRAIN_MIN_DURATION_MIN, TRAIN_MAX_DURATION_MIN = 1.0, 60.0
TRAIN_FIRST_ZONE, TRAIN_LAST_ZONE = 1, 263

# ---- demand features (feature store, gold `zone_demand`): lagged from gold zone_hourly ------------
# One row per (service, pickup zone, hour) stamped at the hour's start: its values use only trips
# that had ended by then. A trip's own hour (and anything later) never contributes.
DEMAND_ZONES = range(TRAIN_FIRST_ZONE, TRAIN_LAST_ZONE + 1)  # the zones a model row can start in
DEMAND_LOOKBACK_DAYS = 28  # the longest window (the trailing 4-week means)
# Speeds need the trip's end: a window of pickups closes this long before the row's time, so every
# trip in it had ended (silver's longest trip, rule 4).
DEMAND_SETTLE_HOURS = int(MAX_DURATION_MIN // 60)
# zone × hour-of-week (entity ``zone_hour``): the same zone and hour of the week, one week earlier
# and over the previous four weeks. Zone (entity ``zone``): the zone over the days before the row's
# day (one value per day, so a day's trips all see the same one).
ZONE_HOUR_FEATURES = ("trips_1w", "avg_duration_1w", "trips_4w_mean")
ZONE_FEATURES = ("zone_trips_per_hour_28d", "zone_avg_speed_mph_7d")
DEMAND_FEATURES = (*ZONE_HOUR_FEATURES, *ZONE_FEATURES)
HOURS_PER_WEEK = 7 * 24  # hour_of_week runs 0 … 167


def hour_of_week_of(pickup) -> int:
    """0 = Monday 00:00 … 167 = Sunday 23:00 of a wall-clock datetime (``transform.demand`` on Spark)."""
    return (pickup.isoweekday() - 1) * 24 + pickup.hour


def model_features(demand: bool) -> tuple[str, ...]:
    """The feature vector of a model: the request's features, then (trained with the feature
    store) the demand features of the trip's zone and hour."""
    return (*MODEL_FEATURES, *DEMAND_FEATURES) if demand else MODEL_FEATURES
