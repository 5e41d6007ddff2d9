"""Gold ``zone_hourly`` → gold ``zone_demand``: the feature store's demand features, lagged so
that a row holds only what was known at its time (pure transform; `nyctaxi.jobs.materialize`
writes it, `nyctaxi.feature_store` serves it).

A row per zone (``contract.DEMAND_ZONES``) and hour of the month, stamped at the hour's start:

- zone × hour of the week: ``trips_1w`` and ``avg_duration_1w``, the same zone and hour one week
  earlier; ``trips_4w_mean``, the mean of that hour over the four previous weeks;
- zone, one value per day (the row of the day's midnight): ``zone_trips_per_hour_28d``, the mean
  hourly pickups over the 28 days before the day; ``zone_avg_speed_mph_7d``, miles per hour of the
  trips picked up in the 7 days that closed ``DEMAND_SETTLE_HOURS`` before the day (all of them had
  ended by then).

An hour of a month that gold does not hold is unknown, not quiet: it counts as no trips only when
its month is in ``observed``. A value whose window holds no known hour is null (the model's
"missing"), as in the first weeks of the first month.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from nyctaxi.contract import DEMAND_LOOKBACK_DAYS, DEMAND_SETTLE_HOURS, DEMAND_ZONES, HOURS_PER_WEEK
from nyctaxi.months import Month
from nyctaxi.schemas import GOLD_ZONE_DEMAND


def _hours(at: Column) -> Column:
    """Hours since 1970 of a wall-clock timestamp (the session zone is UTC: no DST gaps)."""
    return F.floor(F.unix_timestamp(at) / 3600).cast("long")


def _hour_number(wall_clock: datetime) -> int:
    """The same count for a wall-clock time in Python (read as UTC, like the session)."""
    return int(wall_clock.replace(tzinfo=UTC).timestamp()) // 3600


def hour_of_week(at: Column) -> Column:
    """0 = Monday 00:00 … 167 = Sunday 23:00 (ISO weekdays, as gold's pickup_dow)."""
    return (((F.dayofweek(at) + 5) % 7) * 24 + F.hour(at)).cast("int")


def build_zone_demand(
    spark: SparkSession, hourly: DataFrame, service: str, month: Month, observed: Iterable[Month]
) -> DataFrame:
    """``month``'s rows from the zone_hourly rows of ``month`` and the month before it (``observed``:
    the months of those that gold holds), in the declared column order."""
    first, end = month.previous().start, month.end  # the month before covers every window
    hours = spark.range(_hour_number(first), _hour_number(end)).select(F.col("id").alias("hour"))
    zones = spark.createDataFrame([(zone,) for zone in DEMAND_ZONES], "pu_location_id int")
    counted = hourly.select(
        "pu_location_id",
        (_hours(F.col("pickup_date").cast("timestamp")) + F.col("pickup_hour")).alias("hour"),
        "trips",
        (F.col("avg_duration_min") * F.col("trips")).alias("minutes"),
        (F.col("avg_trip_distance") * F.col("trips")).alias("miles"),
    )
    at = F.timestamp_seconds(F.col("hour") * 3600)
    known = F.date_format(at, "yyyy-MM").isin(*[str(m) for m in observed])
    grid = (
        zones.crossJoin(hours)
        .join(counted, ["pu_location_id", "hour"], "left")
        .select(
            "pu_location_id",
            "hour",
            at.alias("feature_at"),
            hour_of_week(at).alias("hour_of_week"),
            *[F.when(known, F.coalesce(c, F.lit(0))).alias(c) for c in ("trips", "minutes", "miles")],
        )
    )
    slot = Window.partitionBy("pu_location_id", "hour_of_week").orderBy("hour")  # one row a week
    zone = Window.partitionBy("pu_location_id").orderBy("hour")
    days_28 = zone.rangeBetween(-DEMAND_LOOKBACK_DAYS * 24, -1)
    settled_7d = zone.rangeBetween(-(HOURS_PER_WEEK + DEMAND_SETTLE_HOURS), -(DEMAND_SETTLE_HOURS + 1))
    rolling = grid.select(
        "*",
        F.lag("trips").over(slot).alias("trips_1w"),
        F.lag(F.try_divide("minutes", F.nullif("trips", F.lit(0)))).over(slot).alias("avg_duration_1w"),
        F.avg("trips").over(slot.rowsBetween(-4, -1)).alias("trips_4w_mean"),
        F.try_divide(F.sum("trips").over(days_28), F.count("trips").over(days_28)).alias("trips_28d"),
        F.try_divide(F.sum("miles").over(settled_7d), F.sum("minutes").over(settled_7d) / 60.0).alias(
            "speed_7d"
        ),
    )
    day = Window.partitionBy("pu_location_id", F.to_date("feature_at"))
    at_midnight = {
        name: F.first(F.when(F.hour("feature_at") == 0, F.col(source)), ignorenulls=True).over(day)
        for name, source in (("zone_trips_per_hour_28d", "trips_28d"), ("zone_avg_speed_mph_7d", "speed_7d"))
    }
    rows = (
        rolling.where(F.col("hour") >= _hour_number(month.start))
        .withColumns(at_midnight)
        .withColumns({"service": F.lit(service), "month": F.lit(str(month))})
    )
    return rows.select(*[F.col(f.name).cast(f.dataType) for f in GOLD_ZONE_DEMAND.fields])
