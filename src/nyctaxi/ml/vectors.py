"""The model's feature vector (``contract.MODEL_FEATURES``) from the request inputs, without Spark:

- with NumPy for many requests (``feature_matrix``), from a frame (``request_features``: the
  MLflow model) or from serving's validated rows (``row_columns``), with no pandas in between;
- in plain Python for one trip (``trip_vector``; serving's small requests, where even NumPy's fixed
  cost per call is most of the latency).

Both apply the rules of ``transform.features`` (gold) from the same constants (``contract``);
``ml.features`` computes the same vector on Spark from gold, and a parity test over real trips
checks that all of them agree.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

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

    @functools.cached_property
    def _code_table(self) -> np.ndarray:
        """Zone id → its borough's code (NaN: not a zone); the last entry is NaN, for the rest."""
        table = np.full(max(self.boroughs, default=0) + 2, np.nan)
        for zone, code in self.zone_codes.items():
            table[zone] = code
        return table

    def code_of(self, zones: np.ndarray) -> np.ndarray:
        """Each zone id's borough code, NaN for ids the lookup lacks (and for NaN)."""
        table = self._code_table
        inside = (zones >= 0) & (zones < len(table) - 1)  # False for NaN
        return table[np.where(inside, zones, len(table) - 1).astype(np.intp)]

    def to_dict(self) -> dict:
        return {"boroughs": {str(zone): name for zone, name in sorted(self.boroughs.items())}}

    @classmethod
    def from_dict(cls, payload: dict) -> ZoneState:
        return cls({int(zone): name for zone, name in payload["boroughs"].items()})


@dataclass(frozen=True)
class Columns:
    """Requests as columns, what ``feature_matrix`` reads: the service, the pickup's wall-clock
    hour and day (proleptic ordinal, ``date.toordinal``: 1 = Monday 1 January of year 1), the zones
    and the optional numbers (NaN: absent), then the ``demand`` features by name."""

    service: np.ndarray
    hour: np.ndarray
    day: np.ndarray
    pu: np.ndarray
    do: np.ndarray
    numbers: Mapping[str, np.ndarray]


NUMBERS = ("trip_distance", "passenger_count", "vendor_id", "ratecode_id")
EPOCH_DAY = date(1970, 1, 1).toordinal()


def row_columns(rows: Sequence[Mapping[str, object]], demand: tuple[str, ...] = ()) -> Columns:
    """Serving's validated trips (``contract.MODEL_INPUTS`` as Python values, ``pickup_at`` a
    datetime, None when absent; then the ``demand`` features) as ``Columns``."""
    pickups: list[datetime] = [row["pickup_at"] for row in rows]
    return Columns(
        service=np.array([row["service"] for row in rows]),
        hour=np.array([pickup.hour for pickup in pickups]),
        day=np.array([pickup.toordinal() for pickup in pickups]),
        pu=np.array([row["pu_location_id"] for row in rows], dtype=np.float64),
        do=np.array([row["do_location_id"] for row in rows], dtype=np.float64),
        numbers={
            name: np.array([row.get(name) for row in rows], dtype=np.float64) for name in (*NUMBERS, *demand)
        },  # None → NaN
    )


def frame_columns(inputs: pd.DataFrame, demand: tuple[str, ...] = ()) -> Columns:
    """A frame of request inputs (``pickup_at`` ISO-8601 strings or datetimes; optional columns may
    be absent) as ``Columns``."""
    pickup = pd.to_datetime(inputs["pickup_at"], format="ISO8601")
    if pickup.dt.tz is not None:  # an offset given: its wall-clock time, as .dt.hour reads it
        pickup = pickup.dt.tz_localize(None)
    seconds = pickup.to_numpy(dtype="datetime64[s]").astype(np.int64)
    return Columns(
        service=inputs["service"].to_numpy(),
        hour=seconds // 3600 % 24,
        day=seconds // 86400 + EPOCH_DAY,
        pu=_floats(inputs["pu_location_id"], len(inputs)),
        do=_floats(inputs["do_location_id"], len(inputs)),
        numbers={name: _floats(inputs.get(name), len(inputs)) for name in (*NUMBERS, *demand)},
    )


def request_features(inputs: pd.DataFrame, zones: ZoneState, demand: tuple[str, ...] = ()) -> pd.DataFrame:
    """Request inputs (``contract.MODEL_INPUTS``) → feature vectors, exactly as gold derives them;
    then the ``demand`` features, columns of ``inputs`` (the feature store's values; absent: NaN)."""
    matrix = feature_matrix(frame_columns(inputs, demand), zones, demand)
    return pd.DataFrame(matrix, columns=[*MODEL_FEATURES, *demand], index=inputs.index)


def feature_matrix(columns: Columns, zones: ZoneState, demand: tuple[str, ...] = ()) -> np.ndarray:
    """``Columns`` → one row per request, ``contract.MODEL_FEATURES`` then ``demand`` (float64)."""
    hour, day = columns.hour, columns.day
    dow = (day - 1) % 7 + 1  # ISO: 1 = Monday … 7 = Sunday (day 1 was a Monday)
    weekend = dow >= 6
    pu, do = columns.pu, columns.do
    pu_code, do_code = zones.code_of(pu), zones.code_of(do)
    pu_known, do_known = ~np.isin(pu, UNKNOWN_ZONES), ~np.isin(do, UNKNOWN_ZONES)
    either_missing = np.isnan(pu) | np.isnan(do)
    features = {
        "is_green": columns.service == "green",
        "pickup_hour": hour,
        "pickup_dow": dow,
        "is_weekend": weekend,
        "is_rush_hour": ~weekend & np.isin(hour, RUSH_HOURS),
        "is_night": (hour >= NIGHT_START) | (hour < NIGHT_END),
        "is_holiday": np.isin(day, _holiday_days(day)),
        "pu_location_id": pu,
        "do_location_id": do,
        "pu_borough_code": pu_code,
        "do_borough_code": do_code,
        "is_airport_trip": np.isin(pu, AIRPORT_ZONES) | np.isin(do, AIRPORT_ZONES),
        "same_zone": np.where(either_missing, np.nan, pu == do),  # null = null is null, as on Spark
        "same_borough": pu_known & do_known & (pu_code == do_code),
        "pu_zone_known": pu_known,
        "do_zone_known": do_known,
        **columns.numbers,
    }
    names = (*MODEL_FEATURES, *demand)
    matrix = np.empty((len(day), len(names)), dtype=np.float64)
    for i, name in enumerate(names):
        matrix[:, i] = features[name]
    return matrix


def _holiday_days(days: np.ndarray) -> np.ndarray:
    """The federal holidays (day ordinals) of every year ``days`` spans."""
    if len(days) == 0:
        return np.empty(0, dtype=np.int64)
    first, last = date.fromordinal(int(days.min())).year, date.fromordinal(int(days.max())).year
    holidays = federal_holiday_set(tuple(range(first, last + 1)))  # cached per years
    return np.array([day.toordinal() for day in holidays], dtype=np.int64)


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


def _floats(values: pd.Series | None, rows: int) -> np.ndarray:
    """A frame's column (bool, nullable int, object with None; absent: None) as float64, NaN for
    missing, like ``ml.features._number``."""
    if values is None:
        return np.full(rows, np.nan)
    return values.to_numpy(dtype=np.float64, na_value=np.nan)
