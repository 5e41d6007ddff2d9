"""Silver → gold (contract §4): trip features and zone-hour demand. Pure transforms."""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from nyctaxi.contract import AIRPORT_ZONES, NIGHT_END, NIGHT_START, RUSH_HOURS, UNKNOWN_ZONES
from nyctaxi.schemas import GOLD_TRIP_FEATURES, GOLD_ZONE_HOURLY


def with_time_features(df: DataFrame, holidays: list[date]) -> DataFrame:
    """Calendar features from the wall-clock pickup time (no zone conversion)."""
    hour = F.hour("pickup_at")
    # Spark's dayofweek is 1=Sunday…7=Saturday; the contract wants ISO 1=Monday…7=Sunday.
    dow = (F.dayofweek("pickup_at") + 5) % 7 + 1
    is_weekend = dow >= 6
    return df.withColumns(
        {
            "pickup_date": F.to_date("pickup_at"),
            "pickup_hour": hour,
            "pickup_dow": dow,
            "is_weekend": is_weekend,
            "is_rush_hour": ~is_weekend & hour.isin(*RUSH_HOURS),
            "is_night": (hour >= NIGHT_START) | (hour < NIGHT_END),
            "is_holiday": F.to_date("pickup_at").isin(*holidays) if holidays else F.lit(False),
        }
    )


def with_zones(df: DataFrame, zones: DataFrame) -> DataFrame:
    """Borough, zone and service zone of both ends (the lookup is tiny: broadcast, left joins)."""
    for end in ("pu", "do"):
        lookup = F.broadcast(
            zones.select(
                F.col("LocationID").alias(f"{end}_location_id"),
                F.col("Borough").alias(f"{end}_borough"),
                F.col("Zone").alias(f"{end}_zone"),
                F.col("service_zone").alias(f"{end}_service_zone"),
            )
        )
        df = df.join(lookup, on=f"{end}_location_id", how="left")
    return df


def _known(column: str) -> Column:
    return ~F.col(column).isin(*UNKNOWN_ZONES)


def with_place_features(df: DataFrame) -> DataFrame:
    pu_known, do_known = _known("pu_location_id"), _known("do_location_id")
    return df.withColumns(
        {
            "is_airport_trip": F.col("pu_location_id").isin(*AIRPORT_ZONES)
            | F.col("do_location_id").isin(*AIRPORT_ZONES),
            "same_zone": F.col("pu_location_id") == F.col("do_location_id"),
            # Two "Unknown" ends are not evidence of one borough.
            "same_borough": pu_known & do_known & (F.col("pu_borough") == F.col("do_borough")),
            "pu_zone_known": pu_known,
            "do_zone_known": do_known,
        }
    )


def with_outcomes(df: DataFrame) -> DataFrame:
    fare = F.col("fare_amount")
    return df.withColumns(
        {
            "avg_speed_mph": F.col("trip_distance") / (F.col("duration_min") / 60.0),
            "tip_pct": F.when(fare > 0, F.col("tip_amount") / fare),
        }
    )


def build_trip_features(trips: DataFrame, zones: DataFrame, holidays: list[date]) -> DataFrame:
    """One row per silver trip, in the declared gold column order."""
    return (
        trips.transform(with_time_features, holidays)
        .transform(with_zones, zones)
        .transform(with_place_features)
        .transform(with_outcomes)
        .select(*[F.col(f.name).cast(f.dataType) for f in GOLD_TRIP_FEATURES.fields])
    )


def build_zone_hourly(features: DataFrame) -> DataFrame:
    """Demand per service, pickup zone, date and hour."""
    return (
        features.groupBy("service", "month", "pu_location_id", "pickup_date", "pickup_hour")
        .agg(
            F.count(F.lit(1)).alias("trips"),
            F.avg("duration_min").alias("avg_duration_min"),
            F.avg("trip_distance").alias("avg_trip_distance"),
            F.avg("fare_amount").alias("avg_fare_amount"),
            F.sum("total_amount").alias("total_amount_sum"),
        )
        .select(*[F.col(f.name).cast(f.dataType) for f in GOLD_ZONE_HOURLY.fields])
    )
