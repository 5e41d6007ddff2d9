"""One registry of jobs by name, with typed options: the CLI's commands, the spark-submit entry
point's arguments (`python -m nyctaxi.jobs <job> …`) and the DAG's tasks are all built from it.

A job's module (``nyctaxi.jobs.<name>``) is imported only when the job runs: a preprocess run
loads no MLflow, XGBoost or pandera, and parsing arguments loads no Spark.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nyctaxi.config import Settings, process_defaults
from nyctaxi.errors import InvalidArgument, MissingInput
from nyctaxi.failures import error_line
from nyctaxi.logs import start
from nyctaxi.months import Month, parse_month_range, parse_service

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from nyctaxi.quality.report import RunReport

REQUIRED = object()


@dataclass(frozen=True)
class Option:
    """One option of a job: ``--train-months`` for ``train_months``, parsed into its type."""

    name: str
    help: str
    parse: Callable[[str], Any] = str
    default: Any = REQUIRED
    flag: bool = False  # a switch (store_true)
    one_month: bool = False  # given with --months, the CLI refuses it (e.g. one --file)

    @property
    def switch(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED and not self.flag


def _reference(value: str) -> Month | None:
    return None if value == "champion" else Month.parse(value)


MONTH = Option("month", "YYYY-MM", Month.parse)
# Jobs that depend on earlier months or on a registered model can be told to succeed without doing
# anything when those are not there yet (the DAG's first months: nothing to train on, no champion).
SKIP_MISSING = Option("skip_missing", "exit 0 when an input is missing", bool, False, flag=True)


@dataclass(frozen=True)
class Job:
    """A job: its name, what it does, and its options besides ``--service``. Its module's
    ``run(spark, settings, service, **options)`` runs it (in `nyctaxi.jobs.envelope`)."""

    name: str
    help: str
    options: tuple[Option, ...] = (MONTH,)
    spark: bool = True  # False: run(settings, service, **options), in any Python, no session
    group: str | None = None  # the CLI command group it is under (`nyctaxi feature-store materialize`)

    @property
    def monthly(self) -> bool:
        """Its only option is --month: the CLI runs it month by month in one session."""
        return self.options == (MONTH,)

    def parser(self) -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(prog=f"python -m nyctaxi.jobs {self.name}", description=self.help)
        parser.add_argument("--service", required=True, help="yellow or green")
        for option in self.options:
            if option.flag:
                parser.add_argument(option.switch, action="store_true", help=option.help)
            else:
                default = None if option.required else option.default
                parser.add_argument(
                    option.switch, required=option.required, default=default, help=option.help
                )
        return parser

    def parse(self, argv: list[str]) -> tuple[str, dict[str, Any]]:
        """(service, typed options) from the command line; ``SystemExit(2)`` on a malformed one."""
        args = vars(self.parser().parse_args(argv))
        return parse_service(args.pop("service")), self.typed(args)

    def typed(self, values: dict[str, Any]) -> dict[str, Any]:
        """Option values as given (strings) → their types; InvalidArgument names a bad one. An
        option left out (None, as the CLI passes it) takes its default, as spark-submit's does."""
        typed = {}
        for option in self.options:
            value = values.get(option.name)
            if value is None and option.default is not REQUIRED:
                value = option.default
            typed[option.name] = option.parse(value) if isinstance(value, str) else value
        return typed

    def preflight(self, settings: Settings, service: str, options: dict) -> None:
        """Refuse at once (no session yet) what cannot run on this lake: `nyctaxi.preflight`."""
        from nyctaxi.preflight import check

        check(self.name, settings, service, options)

    def start(self, spark: SparkSession | None, settings: Settings, service: str, options: dict) -> RunReport:
        module = importlib.import_module(f"{__name__}.{self.name}")
        options = {k: v for k, v in options.items() if k != SKIP_MISSING.name}
        if not self.spark:
            return module.run(settings, service, **options)
        return module.run(spark, settings, service, **options)


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "ingest",
            "Download a monthly trip file (and the zone lookup) into bronze, with manifests.",
            (
                MONTH,
                Option("file", "ingest this local file instead of the TLC source", str, None, one_month=True),
            ),
            spark=False,
        ),
        Job("preprocess", "Bronze → silver `trips` + `quarantine` (contract §2–§3)."),
        Job("features", "Silver → gold `trip_features` + `zone_hourly` (contract §4)."),
        Job(
            "materialize",
            "Gold zone_hourly → gold zone_demand (lagged demand features) → the online store (Feast).",
            group="feature-store",
        ),
        Job("validate", "The data expectations of a month over silver and gold (JSON + HTML report)."),
        Job(
            "train",
            "Train on gold months, evaluate on the next against both baselines, register, gate.",
            (
                Option("train_months", "YYYY-MM or YYYY-MM..YYYY-MM", parse_month_range),
                Option("eval_month", "YYYY-MM, after the training months", Month.parse),
                Option("sample_fraction", "train on this share of the rows", float, 1.0),
                Option("seed", "random seed", int, 42),
                SKIP_MISSING,
            ),
        ),
        Job(
            "score",
            "Score a month of gold trip_features with the champion (or a version) → gold `predictions`.",
            (
                MONTH,
                Option("model_version", "registry version (default: the champion)", str, None),
                SKIP_MISSING,
            ),
        ),
        Job(
            "monitor",
            "Feature/prediction drift and model error of a month vs the reference; alerts past the limits.",
            (
                Option("reference", "YYYY-MM, or 'champion': the champion's last training month", _reference),
                Option("current", "YYYY-MM: the month to check", Month.parse),
                SKIP_MISSING,
            ),
        ),
    )
}


def job(name: str) -> Job:
    if name not in JOBS:
        raise InvalidArgument(f"unknown job {name!r}: expected one of {', '.join(JOBS)}")
    return JOBS[name]


def main(argv: list[str] | None = None) -> int:
    """`python -m nyctaxi.jobs <job> --service … [options]` (what spark-submit runs): parse →
    settings → session → job → exit status, failures as one line."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in JOBS:
        print(f"usage: python -m nyctaxi.jobs {{{','.join(JOBS)}}} --service … [options]", file=sys.stderr)
        return 2
    name, chosen = argv[0], JOBS[argv[0]]
    skip_missing = SKIP_MISSING.switch in argv[1:]
    try:
        service, options = chosen.parse(argv[1:])
        process_defaults()
        settings = Settings()
        start(settings.log_dir, name)
        if not chosen.spark:
            print("\n".join(chosen.start(None, settings, service, options).lines()))
            return 0
        chosen.preflight(settings, service, options)
        from nyctaxi.spark import build_session

        # Named as the DAG's --name (the month the job writes): the Spark UI tells runs apart.
        month = next((value for value in options.values() if isinstance(value, Month)), None)
        spark = build_session(settings, "-".join(map(str, filter(None, ("nyctaxi", name, service, month)))))
        report = chosen.start(spark, settings, service, options)
    except MissingInput as error:
        if skip_missing:
            print(f"{name} skipped (--skip-missing): {error}")
            return 0
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # ours, a bug or an environment problem: one line either way
        print(f"error: {error_line(name, error)}", file=sys.stderr)
        return 1
    print(
        f"{name} {service} {report.month}: {report.status}, rows in {report.rows_in}, out {report.rows_out}"
    )
    return 0
