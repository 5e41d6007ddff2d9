"""`nyctaxi …` — the same jobs as spark-submit and the DAG, by name. Failures print one clear line."""

from __future__ import annotations

import functools
import inspect
import logging
import shlex
import subprocess
import sys
import traceback
from collections.abc import Callable
from typing import Annotated

import typer

from nyctaxi.config import Settings
from nyctaxi.errors import InvalidArgument
from nyctaxi.jobs import JOBS, Job
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


def _handled(fn: Callable, name: str | None = None) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from nyctaxi.failures import error_line

        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as error:  # ours, a bug or an environment problem: one line either way
            _fail(error_line(name or fn.__name__, error))

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


def _run_stages(stages: list[str], service: str, wanted: list[Month]) -> list:
    """Run ``stages`` month by month in one SparkSession; print a line per stage and month."""
    from nyctaxi.spark import build_session

    settings = Settings()
    spark = build_session(settings, f"nyctaxi-{'-'.join(stages)}")
    reports = []
    for m in wanted:
        for stage in stages:
            report = JOBS[stage].start(spark, settings, service, {"month": m})
            typer.echo(
                f"{stage} {service} {m}: {report.status}, rows in {report.rows_in:,}, out {report.rows_out:,}"
            )
            reports.append(report)
    return reports


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


def _said(report) -> str:
    """What a job's command prints when it succeeds, beyond the rows line of monthly jobs."""
    summary = report.summary
    if report.stage == "validate":
        html = report.outputs[-1]["uri"]
        return f"  {len(summary['expectations'])} expectations passed; report {html}"
    if report.stage == "train":
        return format_training(summary)
    if report.stage == "score":
        return (
            f"score {report.service} {report.month}: {report.rows_out:,} trips scored with "
            f"{summary['model_name']} version {summary['model_version']}"
        )
    if report.stage == "monitor":
        return (
            f"monitor {report.service} {report.month} vs {summary['reference']}: no alert; "
            f"{len(summary['drifted_features'])} drifted feature(s) {summary['drifted_features']}, "
            f"RMSE ratio {summary['errors']['ratio'] or float('nan'):.2f}; report {report.outputs[-1]['uri']}"
        )
    return ""


def _job_command(job: Job) -> None:
    """The job's command, its options from the registry (the ones spark-submit takes); a monthly
    job also takes --months and runs them one after another in one session."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("service", keyword, annotation=ServiceOpt)]
    if job.monthly:
        params += [
            inspect.Parameter("month", keyword, annotation=MonthOpt, default=None),
            inspect.Parameter("months", keyword, annotation=MonthsOpt, default=None),
        ]
    for option in () if job.monthly else job.options:
        if option.flag:  # --skip-missing is for the DAG: a user is told what is missing
            continue
        kind = str if option.required else str | None
        default = inspect.Parameter.empty if option.required else None
        annotation = Annotated[kind, typer.Option(option.switch, help=option.help)]
        params.append(inspect.Parameter(option.name, keyword, annotation=annotation, default=default))

    def run_job(**values) -> None:
        service = parse_service(values.pop("service"))
        if job.monthly:
            reports = _run_stages([job.name], service, _months(values["month"], values["months"]))
        else:
            from nyctaxi.spark import build_session

            options = job.typed(values)  # a bad value fails here, before a JVM starts
            settings = Settings()
            reports = [job.start(build_session(settings, f"nyctaxi-{job.name}"), settings, service, options)]
        for report in reports:
            if said := _said(report):
                typer.echo(said)

    run_job.__signature__ = inspect.Signature(params)
    run_job.__annotations__ = {p.name: p.annotation for p in params}
    run_job.__doc__ = job.help
    app.command(job.name)(_handled(run_job, job.name))


for _job in JOBS.values():
    _job_command(_job)


@command
def run(service: ServiceOpt, month: MonthOpt = None, months: MonthsOpt = None) -> None:
    """The whole pipeline: ingest → preprocess → features, then a summary."""
    from nyctaxi.quality.report import format_report

    ingest(service, month, months, None)
    reports = _run_stages(["preprocess", "features"], parse_service(service), _months(month, months))
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
    name: Annotated[str, typer.Argument(metavar="JOB", help=f"one of: {', '.join(JOBS)}")],
    service: ServiceOpt,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print the spark-submit command, run nothing")
    ] = False,
    plan: Annotated[
        bool, typer.Option("--plan", help="print the submission as JSON (the DAG's tasks)")
    ] = False,
) -> None:
    """Run a job through spark-submit on NYCTAXI_SPARK_MASTER (any master URL); the job's own
    options follow (e.g. --month 2025-01, or --train-months … --eval-month …)."""
    from nyctaxi.jobs import job
    from nyctaxi.sparkconf import submit_env, submit_plan

    argv = ["--service", parse_service(service), *ctx.args]
    try:
        job(name).parse(argv)  # refuse bad options here, before a JVM starts
    except SystemExit as exit_:
        raise typer.Exit(2) from exit_
    settings = Settings()
    submission = submit_plan(settings, name, argv)
    if plan or dry_run:
        typer.echo(submission.to_json() if plan else shlex.join(submission.command(settings.spark_master)))
        return
    raise typer.Exit(subprocess.call(submission.command(settings.spark_master), env=submit_env()))


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
