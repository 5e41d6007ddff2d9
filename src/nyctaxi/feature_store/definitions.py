"""The feature repository: entities and feature views over gold ``zone_demand`` (built by
`nyctaxi.transform.demand`: one row per service, zone and hour, stamped at the hour's start).

Entities: the service, the pickup zone and the hour of the week. ``zone_hour_demand`` joins on
all three, ``zone_demand`` on service and zone. Both sources have a row for every hour, so a trip
is joined to its own hour's row: a TTL of one hour refuses any older one (an hour that was never
built gives nulls, never last week's values).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from feast import Entity, FeatureView, Field, ValueType
from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import SparkSource
from feast.table_format import DeltaFormat
from feast.types import Float64, Int64

from nyctaxi.contract import ZONE_FEATURES, ZONE_HOUR_FEATURES

SOURCE_NAME = "zone_demand"
TIMESTAMP = "feature_at"
TTL = timedelta(hours=1)

ENTITIES = {
    "service": Entity(
        name="service", join_keys=["service"], value_type=ValueType.STRING, description="TLC service"
    ),
    "pu_location_id": Entity(
        name="pickup_zone", join_keys=["pu_location_id"], value_type=ValueType.INT32, description="taxi zone"
    ),
    "hour_of_week": Entity(
        name="hour_of_week",
        join_keys=["hour_of_week"],
        value_type=ValueType.INT32,
        description="0 = Monday 00:00 … 167 = Sunday 23:00",
    ),
}
# The entity columns a trip carries into a lookup (training rows and serving requests alike).
JOIN_KEYS = tuple(ENTITIES)


@dataclass(frozen=True)
class View:
    name: str
    keys: tuple[str, ...]  # join keys, of ENTITIES
    features: tuple[str, ...]


VIEWS = (
    View("zone_hour_demand", ("service", "pu_location_id", "hour_of_week"), ZONE_HOUR_FEATURES),
    View("zone_demand", ("service", "pu_location_id"), ZONE_FEATURES),
)
_TYPES = {"trips_1w": Int64}


def repository(source_path: str) -> list:
    """The objects ``feast apply`` registers, the source at ``source_path`` (a Spark path of gold
    ``zone_demand``). Feast's registry numbers each view's versions (a changed schema is a new one)."""
    source = SparkSource(
        name=SOURCE_NAME, path=source_path, table_format=DeltaFormat(), timestamp_field=TIMESTAMP
    )
    views = [
        FeatureView(
            name=view.name,
            entities=[ENTITIES[key] for key in view.keys],
            ttl=TTL,
            schema=[Field(name=feature, dtype=_TYPES.get(feature, Float64)) for feature in view.features],
            source=source,
            online=True,
        )
        for view in VIEWS
    ]
    return [*ENTITIES.values(), *views]


def feature_refs() -> list[str]:
    """``view:feature`` of every demand feature, in ``contract.DEMAND_FEATURES`` order."""
    return [f"{view.name}:{feature}" for view in VIEWS for feature in view.features]
