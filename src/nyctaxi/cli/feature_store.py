"""`nyctaxi feature-store apply | list | get` (`materialize` is a Spark job: `nyctaxi.jobs`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from nyctaxi.cli.base import ServiceOpt, feature_store_app, handled
from nyctaxi.config import Settings
from nyctaxi.contract import hour_of_week_of
from nyctaxi.errors import InvalidArgument
from nyctaxi.months import parse_service


@feature_store_app.command("apply")
@handled
def apply_() -> None:
    """Register the entities and feature views (idempotent), over gold zone_demand."""
    from nyctaxi.feature_store import store

    settings = Settings()
    versions = store.apply(settings)
    shown = ", ".join(f"{name} v{number}" for name, number in versions.items())
    typer.echo(f"feature store {settings.feature_registry}: applied {shown}")


@feature_store_app.command("list")
@handled
def list_() -> None:
    """The feature views: entities, features, TTL and the materialized intervals."""
    from nyctaxi.feature_store import store

    feast = store.open_store(Settings())
    store.view_versions(feast)  # a clear error before the first apply
    for view in feast.list_feature_views():
        typer.echo(
            f"{view.name} (v{view.current_version_number}): entities {', '.join(view.entities)}; ttl {view.ttl}"
        )
        for field in view.features:
            typer.echo(f"  {field.name}: {field.dtype}")
        for start, end in view.materialization_intervals:
            typer.echo(f"  materialized {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M}")


@feature_store_app.command("get")
@handled
def get(
    service: ServiceOpt,
    zone: Annotated[int, typer.Option("--zone", help="pickup zone (LocationID)")],
    at: Annotated[str, typer.Option("--at", help="pickup time, YYYY-MM-DDTHH:MM (NYC wall clock)")],
) -> None:
    """One pickup zone's online demand features for the hour of the week of --at."""
    from nyctaxi.feature_store import store

    try:
        pickup = datetime.fromisoformat(at)
    except ValueError as error:
        raise InvalidArgument(f"--at {at!r} is not a time (expected YYYY-MM-DDTHH:MM)") from error
    hour_of_week = hour_of_week_of(pickup)
    feast = store.open_store(Settings())
    store.view_versions(feast)
    key = {"service": parse_service(service), "pu_location_id": zone, "hour_of_week": hour_of_week}
    (values,) = store.online_features(feast, [key])
    typer.echo(f"{key['service']} zone {zone}, hour of week {hour_of_week}:")
    for name, value in values.items():
        typer.echo(f"  {name}: {'—' if value is None else value}")
