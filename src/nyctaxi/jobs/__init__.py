"""One registry of Spark jobs by name: the CLI, spark-submit files and the DAG all use these names.

A job's module is imported only when the job runs: a preprocess run loads no MLflow, XGBoost or
pandera, and building the CLI's or a spark-submit file's arguments loads no Spark.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from nyctaxi.config import PROJECT_ROOT, Settings
from nyctaxi.errors import MissingInput
from nyctaxi.failures import error_line
from nyctaxi.logs import start
from nyctaxi.months import Month, parse_month_range, parse_service

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from nyctaxi.quality.report import RunReport

MONTH = ("--month", {"required": True, "help": "YYYY-MM"})
# Jobs that depend on earlier months or on a registered model can be told to succeed without doing
# anything when those are not there yet (the DAG's first months: nothing to train on, no champion).
SKIP_MISSING = ("--skip-missing", {"action": "store_true", "help": "exit 0 when an input is missing"})


@dataclass(frozen=True)
class Job:
    """A job's spark-submit file, its options besides ``--service``, and how they call its module
    (``nyctaxi.jobs.<name>``, imported when the job starts)."""

    name: str
    file: Path
    options: tuple[tuple[str, dict], ...]
    call: Callable[[ModuleType, SparkSession, Settings, str, argparse.Namespace], RunReport]

    def start(
        self, spark: SparkSession, settings: Settings, service: str, args: argparse.Namespace
    ) -> RunReport:
        module = importlib.import_module(f"{__name__}.{self.name}")
        return self.call(module, spark, settings, service, args)


def _monthly(
    job, spark: SparkSession, settings: Settings, service: str, args: argparse.Namespace
) -> RunReport:
    return job.run(spark, settings, service, Month.parse(args.month))


def _train(job, spark: SparkSession, settings: Settings, service: str, args: argparse.Namespace) -> RunReport:
    spec = job.TrainSpec(
        service,
        parse_month_range(args.train_months),
        Month.parse(args.eval_month),
        args.sample_fraction,
        args.seed,
    )
    return job.run(spark, settings, spec)


def _score(job, spark: SparkSession, settings: Settings, service: str, args: argparse.Namespace) -> RunReport:
    return job.run(spark, settings, service, Month.parse(args.month), args.model_version)


def _monitor(
    job, spark: SparkSession, settings: Settings, service: str, args: argparse.Namespace
) -> RunReport:
    reference = None if args.reference == "champion" else Month.parse(args.reference)
    return job.run(spark, settings, service, reference, Month.parse(args.current))


_FILES = PROJECT_ROOT / "spark_jobs"
JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("preprocess", _FILES / "data_preprocessing_job.py", (MONTH,), _monthly),
        Job("features", _FILES / "feature_engineering_job.py", (MONTH,), _monthly),
        Job("validate", _FILES / "data_validation_job.py", (MONTH,), _monthly),
        Job(
            "train",
            _FILES / "model_training_job.py",
            (
                ("--train-months", {"required": True, "help": "YYYY-MM or YYYY-MM..YYYY-MM"}),
                ("--eval-month", {"required": True, "help": "YYYY-MM, after the training months"}),
                ("--sample-fraction", {"type": float, "default": 1.0, "help": "train on this share of rows"}),
                ("--seed", {"type": int, "default": 42}),
                SKIP_MISSING,
            ),
            _train,
        ),
        Job(
            "score",
            _FILES / "batch_scoring_job.py",
            (
                MONTH,
                ("--model-version", {"default": None, "help": "registry version (default: the champion)"}),
                SKIP_MISSING,
            ),
            _score,
        ),
        Job(
            "monitor",
            _FILES / "drift_monitoring_job.py",
            (
                (
                    "--reference",
                    {"required": True, "help": "YYYY-MM, or 'champion': its last training month"},
                ),
                ("--current", {"required": True, "help": "YYYY-MM to compare with it"}),
                SKIP_MISSING,
            ),
            _monitor,
        ),
    )
}
# The spark-submit entry point of each job (thin files under spark_jobs/).
JOB_FILES: dict[str, Path] = {name: job.file for name, job in JOBS.items()}
# Jobs whose only option is --month: the CLI runs these month by month in one session.
MONTHLY = tuple(name for name, job in JOBS.items() if job.options == (MONTH,))


def run_job(name: str, spark: SparkSession, settings: Settings, service: str, month: Month) -> RunReport:
    return JOBS[name].start(spark, settings, service, argparse.Namespace(month=str(month)))


def parse_job_args(name: str, argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=JOB_FILES[name].name, description=f"nyctaxi job {name!r}")
    parser.add_argument("--service", required=True)
    for flag, options in JOBS[name].options:
        parser.add_argument(flag, **options)
    return parser.parse_args(argv)


def submit_main(name: str, argv: list[str] | None = None) -> int:
    """Entry point of a spark_jobs/ file: parse args → settings → session → job → exit status."""
    args = parse_job_args(name, argv)
    try:
        service = parse_service(args.service)
        settings = Settings()
        start(settings.log_dir, name)
        from nyctaxi.spark import build_session

        spark = build_session(settings, f"nyctaxi-{name}-{service}")
        report = JOBS[name].start(spark, settings, service, args)
    except MissingInput as error:
        if getattr(args, "skip_missing", False):
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
