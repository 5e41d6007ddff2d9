"""One registry of Spark jobs by name: the CLI, spark-submit files and the DAG all use these names."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from pyspark.sql import SparkSession

from nyctaxi.config import PROJECT_ROOT, Settings
from nyctaxi.errors import NyctaxiError
from nyctaxi.jobs import features, preprocess
from nyctaxi.months import Month, parse_service
from nyctaxi.quality.report import RunReport
from nyctaxi.spark import build_session

JobFn = Callable[[SparkSession, Settings, str, Month], RunReport]

JOBS: dict[str, JobFn] = {
    "preprocess": preprocess.run,
    "features": features.run,
}
# The spark-submit entry point of each job (thin files under spark_jobs/).
JOB_FILES: dict[str, Path] = {
    "preprocess": PROJECT_ROOT / "spark_jobs" / "data_preprocessing_job.py",
    "features": PROJECT_ROOT / "spark_jobs" / "feature_engineering_job.py",
}


def run_job(name: str, spark: SparkSession, settings: Settings, service: str, month: Month) -> RunReport:
    return JOBS[name](spark, settings, service, month)


def submit_main(name: str, argv: list[str] | None = None) -> int:
    """Entry point of a spark_jobs/ file: parse args → settings → session → job → exit status."""
    parser = argparse.ArgumentParser(prog=JOB_FILES[name].name, description=f"nyctaxi job {name!r}")
    parser.add_argument("--service", required=True)
    parser.add_argument("--month", required=True)
    args = parser.parse_args(argv)
    try:
        service, month = parse_service(args.service), Month.parse(args.month)
        settings = Settings()
        spark = build_session(settings, f"nyctaxi-{name}-{service}-{month}")
        report = run_job(name, spark, settings, service, month)
    except NyctaxiError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{name} {service} {month}: {report.status}, rows in {report.rows_in}, out {report.rows_out}")
    return 0
