"""`nyctaxi …` — the same jobs as spark-submit and the DAG, by name. Failures print one clear line."""

from __future__ import annotations

import functools
import logging
import subprocess
import sys
import traceback
from collections.abc import Callable
from typing import Annotated

import typer

from nyctaxi.config import Settings
from nyctaxi.errors import InvalidArgument
from nyctaxi.months import Month, parse_month_range, parse_service

app = typer.Typer(
    help="NYC TLC trips: ingest → bronze → silver → gold on Spark + Delta.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
_state = {"verbose": False}

ServiceOpt = Annotated[str, typer.Option("--service", help="yellow or green")]
MonthOpt = Annotated[str | None, typer.Option("--month", help="YYYY-MM")]
MonthsOpt = Annotated[str | None, typer.Option("--months", help="YYYY-MM..YYYY-MM (inclusive)")]


def _fail(message: str) -> None:
    if _state["verbose"]:
        traceback.print_exc()
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(1)


def command(fn: Callable) -> Callable:
    """Register a command whose failures print one clear line (traceback only with --verbose)."""
    return app.command()(_handled(fn))


def _handled(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from nyctaxi.failures import error_line

        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as error:  # ours, a bug or an environment problem: one line either way
            _fail(error_line(fn.__name__, error))

    return wrapper


def _months(month: str | None, months: str | None) -> list[Month]:
    if bool(month) == bool(months):
        raise InvalidArgument("give exactly one of --month YYYY-MM or --months YYYY-MM..YYYY-MM")
    return parse_month_range(months) if months else [Month.parse(month)]


@app.callback()
def _main(
    ctx: typer.Context, verbose: Annotated[bool, typer.Option("--verbose", help="show tracebacks")] = False
) -> None:
    from nyctaxi.logs import start

    _state["verbose"] = verbose
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
    start(Settings().log_dir, ctx.invoked_subcommand or "nyctaxi")


@command
def ingest(
    service: ServiceOpt,
    month: MonthOpt = None,
    months: MonthsOpt = None,
    file: Annotated[str | None, typer.Option(help="ingest this local file instead of the TLC source")] = None,
) -> None:
    """Download monthly trip files (and the zone lookup) into bronze, with manifests."""
    from nyctaxi.ingest.bronze import ingest_local_file, ingest_month, ingest_zone_lookup

    service, wanted = parse_service(service), _months(month, months)
    settings = Settings()
    if file and len(wanted) != 1:
        raise InvalidArgument("--file takes a single --month")
    for m in wanted:
        result = ingest_local_file(settings, file, service, m) if file else ingest_month(settings, service, m)
        typer.echo(
            f"{service} {m}: {result.action} {result.uri} ({result.size:,} bytes, sha256 {result.sha256[:12]}…)"
        )
    zones = ingest_zone_lookup(settings)
    typer.echo(f"zone lookup: {zones.action} {zones.uri}")


def _run_stages(stages: list[str], service: str, month: str | None, months: str | None) -> list:
    """Run ``stages`` month by month in one SparkSession; print a line per stage and month."""
    from nyctaxi.jobs import run_job
    from nyctaxi.spark import build_session

    service, wanted = parse_service(service), _months(month, months)
    settings = Settings()
    spark = build_session(settings, f"nyctaxi-{'-'.join(stages)}")
    reports = []
    for m in wanted:
        for stage in stages:
            report = run_job(stage, spark, settings, service, m)
            typer.echo(
                f"{stage} {service} {m}: {report.status}, rows in {report.rows_in:,}, out {report.rows_out:,}"
            )
            reports.append(report)
    return reports


@command
def preprocess(service: ServiceOpt, month: MonthOpt = None, months: MonthsOpt = None) -> None:
    """Bronze → silver `trips` + `quarantine` (contract §2–§3)."""
    _run_stages(["preprocess"], service, month, months)


@command
def features(service: ServiceOpt, month: MonthOpt = None, months: MonthsOpt = None) -> None:
    """Silver → gold `trip_features` + `zone_hourly` (contract §4)."""
    _run_stages(["features"], service, month, months)


@command
def run(service: ServiceOpt, month: MonthOpt = None, months: MonthsOpt = None) -> None:
    """The whole pipeline: ingest → preprocess → features, then a summary."""
    from nyctaxi.quality.report import format_report

    ingest(service, month, months, None)
    reports = _run_stages(["preprocess", "features"], service, month, months)
    typer.echo("")
    for report in reports:
        typer.echo(format_report(report.to_dict()))
        typer.echo("")


@command
def report(
    service: ServiceOpt,
    month: MonthOpt = None,
    months: MonthsOpt = None,
    stage: Annotated[str | None, typer.Option(help="preprocess or features (default: both)")] = None,
) -> None:
    """Print the run reports of a (service, month) readably."""
    from nyctaxi.lake import Lake, exists
    from nyctaxi.quality.report import format_report, load_report

    service, wanted = parse_service(service), _months(month, months)
    lake = Lake.from_settings(Settings())
    for m in wanted:
        for name in [stage] if stage else ["preprocess", "features"]:
            if not exists(lake.report(name, service, m)):
                raise InvalidArgument(f"no {name} report for {service} {m} in {lake.gold}")
            typer.echo(format_report(load_report(lake, name, service, m)))


@command
def synth(
    service: ServiceOpt,
    month: Annotated[str, typer.Option(help="YYYY-MM: decides the schema era")],
    rows: Annotated[int, typer.Option(min=1)] = 100_000,
    seed: int = 42,
    defect_rate: Annotated[float, typer.Option(help="share of rows given each defect")] = 0.002,
    out: Annotated[str | None, typer.Option(help="output file (.parquet or .csv)")] = None,
) -> None:
    """Write a TLC-shaped synthetic month (realistic, seeded, with defects per cleaning rule)."""
    from nyctaxi.ingest.synthetic import SynthSpec, write_synthetic

    service, m = parse_service(service), Month.parse(month)
    path = out or f"{service}_tripdata_{m}.parquet"
    spec = SynthSpec(service=service, month=m, rows=rows, seed=seed, defect_rate=defect_rate)
    counts = write_synthetic(spec, path)
    typer.echo(f"wrote {rows:,} rows to {path}; injected defects: {counts}")


@command
def validate(service: ServiceOpt, month: MonthOpt = None, months: MonthsOpt = None) -> None:
    """Check silver and gold of a month against the data expectations (JSON + HTML report in gold)."""
    from nyctaxi.lake import Lake

    reports = _run_stages(["validate"], service, month, months)
    lake = Lake.from_settings(Settings())
    for report in reports:
        typer.echo(
            f"  {len(report.summary['expectations'])} expectations passed; report {lake.report('validate', report.service, Month.parse(report.month))}"
        )


@command
def train(
    service: ServiceOpt,
    train_months: Annotated[str, typer.Option(help="YYYY-MM or YYYY-MM..YYYY-MM")],
    eval_month: Annotated[str, typer.Option(help="YYYY-MM, after the training months")],
    sample_fraction: Annotated[float, typer.Option(help="train on this share of the rows")] = 1.0,
    seed: int = 42,
) -> None:
    """Train on gold months, evaluate on the next against both baselines, register (MLflow), gate."""
    from nyctaxi.jobs import train as job
    from nyctaxi.spark import build_session

    settings = Settings()
    spec = job.TrainSpec(
        parse_service(service),
        parse_month_range(train_months),
        Month.parse(eval_month),
        sample_fraction,
        seed,
    )
    spec.check()
    report = job.run(build_session(settings, "nyctaxi-train"), settings, spec)
    typer.echo(format_training(report.summary))


def format_training(summary: dict) -> str:
    lines = [f"{'':<18}{'RMSE':>8}{'MAE':>8}{'within 5 min':>14}"]
    for who, values in summary["metrics"].items():
        label = f"champion v{values['version']}" if who == "champion" else who.replace("_", " ")
        lines.append(f"{label:<18}{values['rmse']:>8.3f}{values['mae']:>8.3f}{values['within_5_min']:>14.1%}")
    alias = "champion" if summary["champion"] else "challenger"
    lines.append(
        f"{summary['model_name']} version {summary['model_version']}: {alias} ({summary['decision']})"
    )
    return "\n".join(lines)


@command
def score(
    service: ServiceOpt,
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    model_version: Annotated[
        str | None, typer.Option(help="registry version (default: the champion)")
    ] = None,
) -> None:
    """Score a month of gold trip_features with the champion (or a version) → gold `predictions`."""
    from nyctaxi.jobs import score as job
    from nyctaxi.spark import build_session

    settings = Settings()
    report = job.run(
        build_session(settings, "nyctaxi-score"),
        settings,
        parse_service(service),
        Month.parse(month),
        model_version,
    )
    typer.echo(
        f"score {report.service} {report.month}: {report.rows_out:,} trips scored with "
        f"{report.summary['model_name']} version {report.summary['model_version']}"
    )


@command
def monitor(
    service: ServiceOpt,
    reference: Annotated[
        str, typer.Option(help="YYYY-MM, or 'champion': the champion's last training month")
    ],
    current: Annotated[str, typer.Option(help="YYYY-MM: the month to check")],
) -> None:
    """Feature/prediction drift and model error of a month vs the reference; alerts past the limits."""
    from nyctaxi.jobs import monitor as job
    from nyctaxi.spark import build_session

    settings = Settings()
    spark = build_session(settings, "nyctaxi-monitor")
    baseline = None if reference == "champion" else Month.parse(reference)
    report = job.run(spark, settings, parse_service(service), baseline, Month.parse(current))
    summary = report.summary
    typer.echo(
        f"monitor {report.service} {report.month} vs {summary['reference']}: no alert; "
        f"{len(summary['drifted_features'])} drifted feature(s) {summary['drifted_features']}, "
        f"RMSE ratio {summary['errors']['ratio'] or float('nan'):.2f}; report {report.outputs[-1]['uri']}"
    )


@command
def serve(
    host: Annotated[str | None, typer.Option(help="default NYCTAXI_SERVING_HOST (127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="default NYCTAXI_SERVING_PORT (8000)")] = None,
    workers: Annotated[
        int | None, typer.Option(help="processes; default NYCTAXI_SERVING_WORKERS (1)")
    ] = None,
) -> None:
    """Serve the registry's champion over HTTP (FastAPI + uvicorn; docs at /docs)."""
    import uvicorn

    settings = Settings()
    uvicorn.run(
        "nyctaxi.serving.app:app_from_environment",
        factory=True,  # each worker process builds its app (and loads the model) itself
        host=host or settings.serving_host,
        port=port or settings.serving_port,
        workers=workers or settings.serving_workers,
    )


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@_handled
def submit(
    ctx: typer.Context,
    job: Annotated[str, typer.Argument(help="a job name: preprocess, features, validate, train, score")],
    service: ServiceOpt,
) -> None:
    """Run a job through spark-submit on NYCTAXI_SPARK_MASTER (any master URL); the job's own
    options follow (e.g. --month 2025-01, or --train-months … --eval-month …)."""
    from nyctaxi.jobs import JOB_FILES, parse_job_args
    from nyctaxi.spark import submit_command, submit_env

    if job not in JOB_FILES:
        raise InvalidArgument(f"unknown job {job!r}: expected one of {', '.join(JOB_FILES)}")
    argv = ["--service", parse_service(service), *ctx.args]
    try:
        parse_job_args(job, argv)  # refuse bad options here, before a JVM starts
    except SystemExit as exit_:
        raise typer.Exit(2) from exit_
    command = submit_command(Settings(), str(JOB_FILES[job]), argv)
    raise typer.Exit(subprocess.call(command, env=submit_env()))


cluster_app = typer.Typer(help="A local Spark standalone cluster (master + one worker) on 127.0.0.1.")
app.add_typer(cluster_app, name="cluster")


def _cluster_command(fn: Callable) -> Callable:
    return cluster_app.command()(_handled(fn))


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
@_handled
def storage_init() -> None:
    """Create the buckets of the layer roots (and MLflow's artifacts) on object storage (idempotent)."""
    from nyctaxi.lake import Lake
    from nyctaxi.storage import create_buckets

    settings = Settings()
    buckets = create_buckets([*Lake.from_settings(settings).roots.values(), settings.mlflow_artifacts])
    typer.echo("buckets ready: " + ", ".join(buckets) if buckets else "no layer root is on object storage")


def main() -> None:
    """Console entry point."""
    app()
