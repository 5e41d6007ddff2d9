"""The model's feature vector (``contract.MODEL_FEATURES``) from the request inputs, without Spark:

- with pandas for a frame of requests (large batches, the MLflow model);
- in plain Python for one trip (``trip_vector``; serving's small requests, where pandas' fixed
  cost per call is most of the latency).

Both apply the rules of ``transform.features`` (gold) from the same constants (``contract``);
``ml.features`` computes the same vector on Spark from gold, and a parity test over real trips
checks that all three agree.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from nyctaxi.contract import (
    AIRPORT_ZONES,
    MODEL_FEATURES,
    NIGHT_END,
    NIGHT_START,
    RUSH_HOURS,
    UNKNOWN_ZONES,
)
from nyctaxi.holidays_calendar import federal_holiday_set


@dataclass(frozen=True)
class ZoneState:
    """The preprocessing state the model carries: each zone's borough and the boroughs' codes."""

    boroughs: Mapping[int, str]

    @property
    def vocabulary(self) -> list[str]:
        return sorted(set(self.boroughs.values()))

    def codes(self) -> dict[str, int]:
        return {name: code for code, name in enumerate(self.vocabulary)}

    @functools.cached_property
    def zone_codes(self) -> dict[int, int]:
        """Zone id → its borough's code (computed once per model)."""
        codes = self.codes()
        return {zone: codes[name] for zone, name in self.boroughs.items()}

    def to_dict(self) -> dict:
        return {"boroughs": {str(zone): name for zone, name in sorted(self.boroughs.items())}}

    @classmethod
    def from_dict(cls, payload: dict) -> ZoneState:
        return cls({int(zone): name for zone, name in payload["boroughs"].items()})


def request_features(inputs: pd.DataFrame, zones: ZoneState, demand: tuple[str, ...] = ()) -> pd.DataFrame:
    """Request inputs (``contract.MODEL_INPUTS``) → feature vectors, exactly as gold derives them;
    then the ``demand`` features, columns of ``inputs`` (the feature store's values; absent: NaN)."""
    pickup = pd.to_datetime(inputs["pickup_at"], format="ISO8601")
    hour, dow = pickup.dt.hour, pickup.dt.dayofweek + 1  # ISO: 1 = Monday … 7 = Sunday
    weekend = dow >= 6
    years = sorted({int(year) for year in pickup.dt.year.unique()})
    holidays = federal_holiday_set(tuple(years))
    pu, do = inputs["pu_location_id"].astype("Int64"), inputs["do_location_id"].astype("Int64")
    codes = zones.codes()
    pu_code = pu.map(zones.boroughs).map(codes)
    do_code = do.map(zones.boroughs).map(codes)
    pu_known, do_known = ~pu.isin(UNKNOWN_ZONES), ~do.isin(UNKNOWN_ZONES)
    features = {
        "is_green": inputs["service"] == "green",
        "pickup_hour": hour,
        "pickup_dow": dow,
        "is_weekend": weekend,
        "is_rush_hour": ~weekend & hour.isin(RUSH_HOURS),
        "is_night": (hour >= NIGHT_START) | (hour < NIGHT_END),
        "is_holiday": pickup.dt.date.isin(holidays),
        "pu_location_id": pu,
        "do_location_id": do,
        "pu_borough_code": pu_code,
        "do_borough_code": do_code,
        "is_airport_trip": pu.isin(AIRPORT_ZONES) | do.isin(AIRPORT_ZONES),
        "same_zone": pu == do,
        "same_borough": pu_known & do_known & (pu_code == do_code),
        "pu_zone_known": pu_known,
        "do_zone_known": do_known,
        "trip_distance": inputs["trip_distance"],
        "passenger_count": inputs.get("passenger_count"),
        "vendor_id": inputs.get("vendor_id"),
        "ratecode_id": inputs.get("ratecode_id"),
    }
    features.update({name: inputs.get(name) for name in demand})
    return pd.DataFrame(
        {name: _floats(features[name], inputs.index) for name in (*MODEL_FEATURES, *demand)},
        index=inputs.index,
    )


def trip_vector(trip: Mapping[str, object], zones: ZoneState, demand: tuple[str, ...] = ()) -> list[float]:
    """One trip's inputs (``contract.MODEL_INPUTS`` as Python values, ``pickup_at`` a datetime, and
    the ``demand`` features when known) → its feature vector: ``request_features`` for a single
    row, without pandas."""
    pickup: datetime = trip["pickup_at"]
    hour, dow = pickup.hour, pickup.isoweekday()  # 1 = Monday … 7 = Sunday
    weekend = dow >= 6
    pu, do = trip["pu_location_id"], trip["do_location_id"]
    pu_code, do_code = zones.zone_codes.get(pu), zones.zone_codes.get(do)
    pu_known, do_known = pu not in UNKNOWN_ZONES, do not in UNKNOWN_ZONES
    features = {
        "is_green": trip["service"] == "green",
        "pickup_hour": hour,
        "pickup_dow": dow,
        "is_weekend": weekend,
        "is_rush_hour": not weekend and hour in RUSH_HOURS,
        "is_night": hour >= NIGHT_START or hour < NIGHT_END,
        "is_holiday": pickup.date() in federal_holiday_set((pickup.year,)),
        "pu_location_id": pu,
        "do_location_id": do,
        "pu_borough_code": pu_code,
        "do_borough_code": do_code,
        "is_airport_trip": pu in AIRPORT_ZONES or do in AIRPORT_ZONES,
        "same_zone": pu == do,
        "same_borough": pu_known and do_known and pu_code is not None and pu_code == do_code,
        "pu_zone_known": pu_known,
        "do_zone_known": do_known,
        "trip_distance": trip["trip_distance"],
        "passenger_count": trip.get("passenger_count"),
        "vendor_id": trip.get("vendor_id"),
        "ratecode_id": trip.get("ratecode_id"),
    }
    features.update({name: trip.get(name) for name in demand})
    return [NAN if features[name] is None else float(features[name]) for name in (*MODEL_FEATURES, *demand)]


NAN = float("nan")


def _floats(values, index: pd.Index) -> np.ndarray:
    """Any column (bool, nullable int, absent) as float64 with NaN for missing, like ``ml.features._number``."""
    if isinstance(values, pd.Series) and values.dtype == np.float64:
        return values.to_numpy()  # already so (distances, the feature store's values)
    series = pd.Series(values, index=index, dtype="object" if values is None else None)
    return series.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
