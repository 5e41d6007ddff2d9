"""Commands over the lake as a whole: the pipeline in one go, reports, synthetic months."""

from __future__ import annotations

from typing import Annotated

import typer

from nyctaxi.cli.base import MonthOpt, MonthsOpt, ServiceOpt, command, months_of
from nyctaxi.cli.jobs import run_each, run_stages, said
from nyctaxi.config import Settings
from nyctaxi.errors import InvalidArgument
from nyctaxi.jobs import JOBS
from nyctaxi.months import Month, parse_service


@command
def run(service: ServiceOpt, month: MonthOpt = None, months: MonthsOpt = None) -> None:
    """The whole pipeline: ingest → preprocess → features, then a summary."""
    from nyctaxi.quality.report import format_report

    service, wanted = parse_service(service), months_of(month, months)
    for landed in run_each(JOBS["ingest"], service, {"file": None}, wanted):
        typer.echo(said(landed))
    reports = run_stages(["preprocess", "features"], service, wanted)
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
    from nyctaxi.lake import Lake
    from nyctaxi.quality.report import format_report, load_report

    service, wanted = parse_service(service), months_of(month, months)
    lake = Lake.from_settings(Settings())
    for m in wanted:
        for name in [stage] if stage else ["preprocess", "features"]:
            if not lake.exists(lake.report(name, service, m)):
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
