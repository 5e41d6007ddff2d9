"""The jobs' commands, generated from the registry's typed options (`nyctaxi.jobs.JOBS`), and
`nyctaxi submit`, which runs any of them through spark-submit."""

from __future__ import annotations

import inspect
import shlex
import subprocess
from typing import Annotated

import typer

from nyctaxi.cli.base import GROUPS, MonthOpt, MonthsOpt, ServiceOpt, app, handled, months_of
from nyctaxi.config import Settings
from nyctaxi.errors import InvalidArgument
from nyctaxi.jobs import JOBS, MONTH, Job
from nyctaxi.months import Month, parse_service
from nyctaxi.quality.report import format_training, validation_counts


def watcher(spark):
    """``watch(stage, month)``: the live progress of a stage of this session (`nyctaxi.progress`)."""
    from nyctaxi import progress

    def watch(stage: str, month) -> object:
        rounds = None
        if stage == "train":  # XGBoost is loaded only by the jobs that use it
            from nyctaxi.ml.training import XGB_PARAMS

            rounds = int(XGB_PARAMS["n_estimators"])
        return progress.stage(spark if JOBS[stage].spark else None, f"{stage} {month}", rounds)

    return watch


def run_stages(stages: list[str], service: str, wanted: list[Month]) -> list:
    """Run ``stages`` month by month in one SparkSession; print a line per stage and month."""
    from nyctaxi.spark import build_session

    settings = Settings()
    for m in wanted:  # the later stages' inputs are made by the first
        JOBS[stages[0]].preflight(settings, service, {"month": m})
    spark = build_session(settings, f"nyctaxi-{'-'.join(stages)}")
    reports, watch = [], watcher(spark)
    for m in wanted:
        for stage in stages:
            with watch(stage, m):
                report = JOBS[stage].start(spark, settings, service, {"month": m})
            typer.echo(
                f"{stage} {service} {m}: {report.status}, rows in {report.rows_in:,}, out {report.rows_out:,}"
            )
            reports.append(report)
    return reports


def html_of(report) -> str:
    return next(item["uri"] for item in report.outputs if item.get("report") == "html")


def said(report) -> str:
    """What a job's command prints when it succeeds, beyond the rows line of monthly jobs."""
    from nyctaxi.jobs.ingest import Ingested

    if isinstance(report, Ingested):
        return "\n".join(report.lines())
    summary = report.summary
    if report.stage == "validate":
        return f"  {validation_counts(summary)}; report {html_of(report)}"
    if report.stage == "train":
        return format_training(summary)
    if report.stage == "materialize":
        online = (
            f"online store ({summary['online_store']}) loaded"
            if summary["online"]
            else f"online store left as it is: it holds a later month (to {summary['online_holds_later']})"
        )
        return f"  zone_demand {report.month}: {report.rows_out:,} rows; {online}"
    if report.stage == "score":
        return (
            f"score {report.service} {report.month}: {report.rows_out:,} trips scored with "
            f"{summary['model_name']} version {summary['model_version']}"
        )
    if report.stage == "monitor":
        return (
            f"monitor {report.service} {report.month} vs {summary['reference']}: no alert; "
            f"{len(summary['drifted_features'])} drifted feature(s) {summary['drifted_features']}, "
            f"RMSE ratio {summary['errors']['ratio'] or float('nan'):.2f}; report {html_of(report)}"
        )
    return ""


def run_each(job: Job, service: str, options: dict, wanted: list[Month] | None) -> list:
    """Run ``job`` once, or once per month of ``wanted`` (one SparkSession for all of them)."""
    if job.monthly:
        return run_stages([job.name], service, wanted)
    spark = None
    settings = Settings()
    for each in [options] if wanted is None else [{**options, "month": m} for m in wanted]:
        job.preflight(settings, service, each)
    if job.spark:
        from nyctaxi.spark import build_session

        spark = build_session(settings, f"nyctaxi-{job.name}")
    watch, reports = watcher(spark), []
    for each in [options] if wanted is None else [{**options, "month": m} for m in wanted]:
        with watch(job.name, each.get("month") or each.get("eval_month") or each.get("current") or ""):
            reports.append(job.start(spark, settings, service, each))
    return reports


def _job_command(job: Job) -> None:
    """The job's command, its options from the registry (the ones spark-submit takes); a job whose
    first option is --month also takes --months and runs them one after another."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    per_month = job.options[:1] == (MONTH,)
    params = [inspect.Parameter("service", keyword, annotation=ServiceOpt)]
    if per_month:
        params += [
            inspect.Parameter("month", keyword, annotation=MonthOpt, default=None),
            inspect.Parameter("months", keyword, annotation=MonthsOpt, default=None),
        ]
    for option in job.options[1:] if per_month else job.options:
        if option.flag:  # --skip-missing is for the DAG: a user is told what is missing
            continue
        kind = str if option.required else str | None
        default = inspect.Parameter.empty if option.required else None
        shown = False if option.required or option.default is None else str(option.default)
        annotation = Annotated[kind, typer.Option(option.switch, help=option.help, show_default=shown)]
        params.append(inspect.Parameter(option.name, keyword, annotation=annotation, default=default))

    def run_job(**values) -> None:
        service = parse_service(values.pop("service"))
        wanted = months_of(values.pop("month"), values.pop("months")) if per_month else None
        options = job.typed(values)  # a bad value fails here, before a JVM starts
        for option in job.options:
            if option.one_month and options[option.name] is not None and len(wanted) > 1:
                raise InvalidArgument(f"{option.switch} takes a single --month")
        for report in run_each(job, service, options, wanted):
            if line := said(report):
                typer.echo(line)

    run_job.__signature__ = inspect.Signature(params)
    run_job.__annotations__ = {p.name: p.annotation for p in params}
    run_job.__doc__ = job.help
    (GROUPS[job.group] if job.group else app).command(job.name)(handled(run_job, job.name))


for _job in JOBS.values():
    _job_command(_job)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@handled
def submit(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(metavar="JOB", help=f"one of: {', '.join(n for n, j in JOBS.items() if j.spark)}")
    ],
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
    if not job(name).spark:
        raise InvalidArgument(
            f"{name} runs no Spark: run `nyctaxi {name}` (or `python -m nyctaxi.jobs {name}`)"
        )
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
