"""Commands over the lake as a whole: the whole pipeline in one go (`pipeline`), the data layers
only (`run`), reports, synthetic months."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from nyctaxi.cli.base import MonthOpt, MonthsOpt, ServiceOpt, command, months_of
from nyctaxi.cli.jobs import html_of, run_each, run_stages, said, watcher
from nyctaxi.config import Settings
from nyctaxi.errors import InvalidArgument
from nyctaxi.jobs import JOBS
from nyctaxi.months import Month, parse_service
from nyctaxi.pipeline import STAGES
from nyctaxi.quality.report import format_report, format_training, validation_counts


@command
def pipeline(
    service: ServiceOpt,
    month: MonthOpt = None,
    months: MonthsOpt = None,
    fail_on_alert: Annotated[
        bool, typer.Option("--fail-on-alert", help="exit 1 when the monitor raises a drift alert")
    ] = False,
) -> None:
    """Everything the production DAG runs, month by month in one Spark session: ingest →
    preprocess → features → validate → train on the previous month → score → monitor; then one
    summary. The DAG's skip rules: no previous month in gold, no model stages; no champion, no
    scoring or monitoring."""
    from nyctaxi import pipeline as flow
    from nyctaxi.lake import Lake
    from nyctaxi.month_report import write_month_report
    from nyctaxi.spark import build_session

    service, wanted = parse_service(service), months_of(month, months)
    settings = Settings()
    lake, pages = Lake.from_settings(settings), {}
    span = str(wanted[0]) if len(wanted) == 1 else f"{wanted[0]}..{wanted[-1]}"
    spark = build_session(settings, f"nyctaxi-pipeline-{service}-{span}")

    def on_step(step) -> None:
        typer.echo(step_line(step))
        if step.stage == flow.STAGES[-1]:  # the month is done: its page
            pages[str(step.month)] = write_month_report(lake, service, step.month)

    steps = flow.run(spark, settings, service, wanted, on_step=on_step, watch=watcher(spark))
    typer.echo("")
    typer.echo(pipeline_summary(service, span, steps, pages))
    alerts = [step for step in steps if step.outcome == "alert"]
    if alerts and fail_on_alert:
        raise typer.Exit(1)


def step_line(step) -> str:
    """What a step of `nyctaxi pipeline` prints as it ends."""
    head = f"{step.stage} {step.month}"
    if step.outcome == "skipped":
        return f"{head}: skipped ({step.note})"
    if step.outcome == "alert":
        return f"{head}: drift ALERT: {step.note}"
    if step.stage == "ingest":
        return "\n".join(step.report.lines())
    line = f"{head}: {step.report.status}, rows in {step.report.rows_in:,}, out {step.report.rows_out:,}"
    extra = said(step.report)
    return f"{line}\n{extra}" if extra and step.stage != "train" else line


def pipeline_summary(service: str, span: str, steps: list, pages: dict[str, str] | None = None) -> str:
    """The end of `nyctaxi pipeline`: rows per layer and month, the model against both baselines,
    the champion, the drift verdict and where the reports are."""
    by = {(step.stage, str(step.month)): step for step in steps}
    months = list(dict.fromkeys(str(step.month) for step in steps))
    lines = [f"pipeline {service} {span}", ""]
    lines.append(f"{'month':<9}{'bronze':>10}{'silver':>10}{'quarantined':>13}{'gold':>10}  validation")
    reports = []
    for m in months:
        pre, feat, valid = (by.get((stage, m)) for stage in ("preprocess", "features", "validate"))
        row = f"{m:<9}{_count(pre, 'rows_in'):>10}{_count(pre, 'rows_out'):>10}"
        row += f"{_count(pre, 'rows_quarantined'):>13}{_count(feat, 'rows_out'):>10}"
        if valid:
            row += f"  {validation_counts(valid.report.summary)}"
            reports.append(f"  validation {m}  {html_of(valid.report)}")
        lines.append(row)
    for m in months:
        train, score, monitor = (by.get((stage, m)) for stage in ("train", "score", "monitor"))
        lines.append("")
        if train is None or train.outcome == "skipped":
            lines.append(f"model {m}: skipped ({train.note if train else 'not run'})")
            continue
        lines.append(f"model trained on {Month.parse(m).previous()}, evaluated on {m}:")
        lines.append(format_training(train.report.summary, indent="  "))
        if score and score.outcome == "succeeded":
            version = score.report.summary["model_version"]
            lines.append(f"scored {m}: {score.report.rows_out:,} trips with version {version}")
        elif score:
            lines.append(f"scored {m}: skipped ({score.note})")
        if monitor and monitor.outcome == "skipped":
            lines.append(f"drift {m}: skipped ({monitor.note})")
        elif monitor:
            lines.append(drift_line(m, monitor.report.summary, alert=monitor.outcome == "alert"))
            reports.append(f"  drift {m}       {html_of(monitor.report)}")
    reports += [f"  month {m}       {uri}" for m, uri in (pages or {}).items()]
    if reports:
        lines += ["", "reports:", *reports]
    return "\n".join(lines)


def drift_line(month: str, summary: dict, alert: bool) -> str:
    drifted, share = summary["drifted_features"], summary["drifted_share"]
    limits, ratio = summary["limits"], summary["errors"]["ratio"]
    verdict = "ALERT" if alert else "no alert"
    figures = f"{len(drifted)} drifted feature(s) ({share:.0%}; alert at {limits['drifted_share']:.0%})" + (
        f", RMSE ratio {ratio:.2f} (alert at {limits['error_ratio']:.2f})" if ratio is not None else ""
    )
    return (
        f"drift {month} vs {summary['reference']} (version {summary['model_version']}): {verdict}; {figures}"
    )


def _count(step, field: str) -> str:
    value = getattr(step.report, field, None) if step is not None and step.report is not None else None
    return "-" if value is None else f"{value:,}"


@command
def run(service: ServiceOpt, month: MonthOpt = None, months: MonthsOpt = None) -> None:
    """The data layers only: ingest → preprocess → features, then a summary (`nyctaxi pipeline`
    runs the model stages too)."""
    service, wanted = parse_service(service), months_of(month, months)
    for landed in run_each(JOBS["ingest"], service, {"file": None}, wanted):
        typer.echo(said(landed))
    reports = run_stages(["preprocess", "features"], service, wanted)
    typer.echo("")
    for report in reports:
        typer.echo(format_report(report.to_dict()))
        typer.echo("")


REPORTED = tuple(stage for stage in STAGES if stage != "ingest")  # the stages that write a run report
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of text")]


@command
def status(service: ServiceOpt, as_json: JsonOpt = False) -> None:
    """Which months the lake holds in bronze / silver / gold / predictions, with the table
    versions, each stage's last result, and the champion model (reads files only: no Spark)."""
    from nyctaxi.status import format_status, lake_status

    found = lake_status(Settings(), parse_service(service))
    typer.echo(json.dumps(found, indent=2) if as_json else format_status(found))


@command
def report(
    service: ServiceOpt,
    month: MonthOpt = None,
    months: MonthsOpt = None,
    stage: Annotated[
        str | None, typer.Option(help=f"one of {', '.join(REPORTED)} (default: every one that ran)")
    ] = None,
    as_json: JsonOpt = False,
    html: Annotated[
        bool, typer.Option("--html", help="write the month's HTML page (rows, charts, model, drift)")
    ] = False,
) -> None:
    """Print the run reports of a (service, month) readably (--json: the reports themselves;
    --html: write the month's self-contained page and print where it is)."""
    from nyctaxi.lake import Lake
    from nyctaxi.quality.report import load_report

    service, wanted = parse_service(service), months_of(month, months)
    if stage is not None and stage not in REPORTED:
        raise InvalidArgument(f"unknown stage {stage!r}: expected one of {', '.join(REPORTED)}")
    lake, shown = Lake.from_settings(Settings()), {}
    for m in wanted:
        asked = [stage] if stage else REPORTED
        found = [name for name in asked if lake.exists(lake.report(name, service, m))]
        if not found:
            name = stage or "preprocess"
            raise InvalidArgument(
                f"no {name} report for {service} {m} in {lake.gold}: run "
                f"`nyctaxi {'pipeline' if stage is None else name} --service {service} --month {m}` first"
            )
        if html:
            from nyctaxi.month_report import write_month_report

            typer.echo(f"month report {service} {m}: {write_month_report(lake, service, m)}")
            continue
        for name in found:
            shown[f"{m}/{name}"] = load_report(lake, name, service, m)
            if not as_json:
                typer.echo(format_report(shown[f"{m}/{name}"]))
                typer.echo("")
    if as_json and not html:
        typer.echo(json.dumps(list(shown.values()), indent=2))


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
