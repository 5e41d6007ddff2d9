"""Request and response bodies of the serving API (model-and-serving.md, Serving)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, NaiveDatetime, Tag, field_validator

from nyctaxi.contract import MAX_DISTANCE_MI, MAX_PASSENGERS, MAX_ZONE, MIN_ZONE

MAX_BATCH = 1_000  # the spec's limit per request
# Times the TLC could have recorded (yellow data starts 2009) and pandas can represent.
EARLIEST, LATEST = datetime(2009, 1, 1), datetime(2100, 1, 1)

Zone = Annotated[int, Field(ge=MIN_ZONE, le=MAX_ZONE, description="TLC taxi zone id (1–265)")]


class Trip(BaseModel):
    """What is known at pickup time."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "service": "green",
                    "pickup_at": "2025-02-03T08:15:00",
                    "pu_location_id": 74,
                    "do_location_id": 75,
                    "trip_distance": 1.2,
                }
            ]
        },
    )

    service: Literal["yellow", "green"]
    pickup_at: NaiveDatetime = Field(description="wall-clock NYC time, ISO-8601 without offset")
    pu_location_id: Zone
    do_location_id: Zone
    trip_distance: float = Field(
        ge=0.0, le=MAX_DISTANCE_MI, allow_inf_nan=False, description="miles (routed)"
    )
    passenger_count: int | None = Field(default=None, ge=0, le=MAX_PASSENGERS)
    vendor_id: int | None = Field(default=None, ge=0, le=99)
    ratecode_id: int | None = Field(default=None, ge=1, le=99)

    @field_validator("pickup_at")
    @classmethod
    def _plausible(cls, value: datetime) -> datetime:
        if not EARLIEST <= value < LATEST:
            raise ValueError(f"pickup_at must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
        return value


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trips: list[Trip] = Field(min_length=1, max_length=MAX_BATCH)


def _shape(body: object) -> str:
    return "batch" if isinstance(body, dict) and "trips" in body else "trip"


# One trip, or {"trips": [...]}: the shape picks the model, so errors name only that model's fields.
PredictRequest = Annotated[
    Annotated[Trip, Tag("trip")] | Annotated[Batch, Tag("batch")], Discriminator(_shape)
]


class Prediction(BaseModel):
    duration_min: float


class PredictResponse(BaseModel):
    model_name: str
    model_version: str
    predictions: list[Prediction]


class ModelInfo(BaseModel):
    name: str
    version: str
    alias: str
    run_id: str | None
    training_months: list[str]
    eval_month: str | None
    metrics: dict[str, float]
    loaded_at: str
