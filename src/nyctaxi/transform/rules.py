"""Cleaning rules of contract §3: named boolean columns, then `reject_reasons` in table order.

Each rule is a `rule_<code>` column. A predicate over null inputs does not fire (coalesced to
false), except `missing_required`, whose whole point is nulls.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from nyctaxi.contract import (
    FINITE_COLUMNS,
    MAX_DISTANCE_MI,
    MAX_DURATION_MIN,
    MAX_FARE,
    MAX_PASSENGERS,
    MAX_SPEED_MPH,
    MAX_ZONE,
    MIN_DURATION_MIN,
    MIN_ZONE,
    REASON_CODES,
    REQUIRED_COLUMNS,
    SOURCE_VALUE_COLUMNS,
    TRIP_ID_SEEDS,
)
from nyctaxi.months import Month
from nyctaxi.transform.normalise import non_finite, present


def with_trip_id(df: DataFrame) -> DataFrame:
    """trip_id: 32 hex digits, two xxhash64 over the service, a null mask and every normalised
    source value, typed (no text casts: hashing `cast(string)` with sha256 cost twice as much).

    Equal rows ⇒ equal id, independent of the file the row came from and of the source dtype
    (1.0 and 1 normalise to the same int before hashing). Spark's hash skips nulls, so the mask
    (bit i = column i is null) is what tells (null, 1) from (1, null).
    """
    # raw_record is null except on a malformed CSV record (whose values are all null): it keeps
    # two different malformed records apart, and changes no other row's id (nulls are skipped).
    values = [F.col("service")] + [F.col(c) for c in SOURCE_VALUE_COLUMNS] + [F.col("raw_record")]
    null_mask = sum(
        F.col(c).isNull().cast("long") * F.lit(1 << i) for i, c in enumerate(SOURCE_VALUE_COLUMNS)
    )
    halves = [F.xxhash64(F.lit(seed), null_mask, *values) for seed in TRIP_ID_SEEDS]
    return df.withColumn("trip_id", F.format_string("%016x%016x", *halves))


def pickup_outside(month: Month) -> Column:
    """Rule `pickup_outside_month` (also the mislabeled-file check, before anything is written)."""
    start = F.lit(str(month.start)).cast("timestamp_ntz")
    end = F.lit(str(month.end)).cast("timestamp_ntz")
    return (F.col("pickup_at") < start) | (F.col("pickup_at") >= end)


def with_duration(df: DataFrame) -> DataFrame:
    """duration_min from wall-clock NTZ times: exact microseconds, no zone involved."""
    micros = F.expr("timestampdiff(MICROSECOND, pickup_at, dropoff_at)")
    return df.withColumn("duration_min", micros / F.lit(60_000_000.0))


def _fires(predicate: Column) -> Column:
    return F.coalesce(predicate, F.lit(False))


def with_rule_flags(df: DataFrame, month: Month) -> DataFrame:
    """Add one boolean column per rule (needs trip_id and duration_min)."""
    pickup, dropoff = F.col("pickup_at"), F.col("dropoff_at")
    duration, distance = F.col("duration_min"), F.col("trip_distance")
    fare, total = F.col("fare_amount"), F.col("total_amount")
    passengers = F.col("passenger_count")
    malformed = F.col("raw_record").isNotNull()
    first_copy = Window.partitionBy("trip_id").orderBy("trip_id")

    def zone_invalid(name: str) -> Column:
        # present in the source but not a whole number (74.7, "abc"): the cast left it null
        not_whole = F.array_contains("cast_failed", name)
        return ~F.col(name).between(MIN_ZONE, MAX_ZONE) | not_whole

    predicates = {
        "missing_required": F.greatest(*[F.col(c).isNull() for c in REQUIRED_COLUMNS]),
        "pickup_outside_month": pickup_outside(month),
        "non_positive_duration": dropoff <= pickup,
        "duration_out_of_range": (duration < MIN_DURATION_MIN) | (duration > MAX_DURATION_MIN),
        "distance_out_of_range": (distance <= 0) | (distance > MAX_DISTANCE_MI),
        "speed_out_of_range": (duration > 0)
        & (distance > 0)
        & (distance / (duration / 60.0) > MAX_SPEED_MPH),
        "amount_out_of_range": (fare < 0) | (total < 0) | (fare > MAX_FARE),
        "invalid_zone": zone_invalid("pu_location_id") | zone_invalid("do_location_id"),
        "passenger_count_out_of_range": (passengers < 0) | (passengers > MAX_PASSENGERS),
        "duplicate": ~malformed & (F.row_number().over(first_copy) > 1),
        "non_finite_value": F.greatest(*[non_finite(c) for c in FINITE_COLUMNS]),
        "malformed_record": malformed,
    }
    return df.withColumns({f"rule_{code}": _fires(predicates[code]) for code in REASON_CODES})


def with_reject_reasons(df: DataFrame) -> DataFrame:
    """`reject_reasons`: codes of every rule that fired, in contract order (empty = clean). A
    malformed record has no values to judge: `malformed_record` is its only reason (rule 12)."""
    fired = [F.when(F.col(f"rule_{code}"), F.lit(code)) for code in REASON_CODES]
    reasons = F.when(F.col("rule_malformed_record"), F.array(F.lit("malformed_record"))).otherwise(
        present(fired)
    )
    return df.withColumn("reject_reasons", reasons)


def classify(df: DataFrame, month: Month) -> DataFrame:
    """Normalised rows → rows with trip_id, duration_min, rule flags and reject_reasons."""
    return (
        df.transform(with_trip_id)
        .transform(with_duration)
        .transform(with_rule_flags, month)
        .transform(with_reject_reasons)
    )
