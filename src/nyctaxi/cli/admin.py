"""Commands that start or prepare services: serving, the local Spark cluster, object storage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from nyctaxi.cli.base import app, command, handled
from nyctaxi.config import Settings


@command
def serve(
    host: Annotated[str | None, typer.Option(help="default NYCTAXI_SERVING_HOST (127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="default NYCTAXI_SERVING_PORT (8000)")] = None,
    workers: Annotated[
        int | None, typer.Option(help="processes; default NYCTAXI_SERVING_WORKERS (1)")
    ] = None,
) -> None:
    """Serve the registry's champion over HTTP (FastAPI + uvicorn; docs at /docs)."""
    import socket

    import uvicorn

    from nyctaxi.errors import InvalidArgument

    settings = Settings()
    host, port = host or settings.serving_host, port or settings.serving_port
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:  # uvicorn would say "[Errno 98] …" and exit 3: say which port and what to do
            probe.bind((host, port))
        except OSError as error:
            raise InvalidArgument(
                f"cannot listen on {host}:{port} ({error.strerror}): is another `nyctaxi serve` running? "
                f"stop it, or pass --port {port + 1}"
            ) from None
    uvicorn.run(
        "nyctaxi.serving.app:app_from_environment",
        factory=True,  # each worker process builds its app (and loads the model) itself
        host=host,
        port=port,
        workers=workers or settings.serving_workers,
    )


cluster_app = typer.Typer(help="A local Spark standalone cluster (master + one worker) on 127.0.0.1.")
app.add_typer(cluster_app, name="cluster")


def _cluster_command(fn: Callable) -> Callable:
    return cluster_app.command()(handled(fn))


@_cluster_command
def up() -> None:
    """Start the master (UI :8081) and one worker (UI :8082); pid files and logs in .run/cluster."""
    from nyctaxi import cluster

    info = cluster.up(Settings())
    typer.echo(f"master {info.master_url}  UI {info.ui_url}  workers alive: {len(info.workers)}")
    typer.echo(f"use it: export NYCTAXI_SPARK_MASTER={info.master_url}")


@_cluster_command
def down() -> None:
    """Stop exactly the processes `cluster up` started."""
    from nyctaxi import cluster

    stopped = cluster.down(Settings())
    typer.echo("stopped " + ", ".join(stopped) if stopped else "nothing was running")


@_cluster_command
def status() -> None:
    """Master URL, workers and running applications (from the master's JSON endpoint)."""
    from nyctaxi import cluster

    info = cluster.status(Settings())
    typer.echo(f"master {info.master_url}  UI {info.ui_url}")
    for worker in info.workers:
        typer.echo(
            f"  worker {worker['id']} {worker['state']} cores {worker['coresused']}/{worker['cores']}"
            f" memory {worker['memoryused']}/{worker['memory']} MB  UI {worker['webuiaddress']}"
        )
    for application in info.active_apps:
        typer.echo(f"  app {application['id']} {application['name']} {application['state']}")
    if not info.active_apps:
        typer.echo("  no running applications")


storage_app = typer.Typer(help="Object storage (S3 / MinIO) for the lake.")
app.add_typer(storage_app, name="storage")


@storage_app.command("init")
@handled
def storage_init() -> None:
    """Create the buckets of the layer roots (and MLflow's artifacts) on object storage (idempotent)."""
    from nyctaxi.lake import Lake
    from nyctaxi.storage import create_buckets

    settings = Settings()
    lake = Lake.from_settings(settings)
    buckets = create_buckets(lake.store, [*lake.roots.values(), settings.mlflow_artifacts])
    typer.echo("buckets ready: " + ", ".join(buckets) if buckets else "no layer root is on object storage")
