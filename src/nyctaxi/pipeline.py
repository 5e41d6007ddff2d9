"""The production DAG's run of a month (airflow/dags/nyc_taxi_etl_production_dag.py), in one
process and one SparkSession, month after month: ingest → preprocess → features → materialize (the
feature store) → validate, then
train on the previous month and evaluate on this one → score with the champion → monitor against
the champion's training month.

The DAG's skip rules, the same here: without gold of the previous month there is nothing to train
on, and the model stages are skipped (:func:`gold_ready`, the DAG's ``training_data`` task); a
model stage whose input is missing (no champion yet: the gate refused the first model) is skipped
(the DAG's ``--skip-missing``). A data stage that fails stops the pipeline: later months would be
built on a month that is not there. A drift alert is the monitor's verdict on the month: it is kept
in the steps (and told to the notifier, as in the DAG), and the next month still runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nyctaxi.config import Settings
from nyctaxi.errors import DriftAlert, MissingInput
from nyctaxi.jobs import JOBS
from nyctaxi.lake import Lake
from nyctaxi.months import Month
from nyctaxi.quality.report import RunReport

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

Watch = Callable[[str, Month], AbstractContextManager]


def _unwatched(stage: str, month: Month) -> AbstractContextManager:
    return nullcontext()


STAGES = ("ingest", "preprocess", "features", "materialize", "validate", "train", "score", "monitor")
MODEL_STAGES = ("train", "score", "monitor")


@dataclass(frozen=True)
class Step:
    """One stage of one month: ``succeeded``, ``skipped`` (``note`` says why) or ``alert`` (the
    monitor's drift alert; ``note`` is its message). ``report``: the stage's RunReport (``Ingested``
    for ingest; for an alert the monitor's failed report, which holds the verdict), None when
    skipped."""

    stage: str
    month: Month
    outcome: str
    report: Any = None
    note: str = ""


def gold_ready(lake: Lake, service: str, month: Month) -> bool:
    """Gold holds ``month``: its features run succeeded (what training on it needs)."""
    report = lake.report("features", service, month)
    return lake.exists(report) and lake.read_json(report)["status"] == "succeeded"


def _options(stage: str, month: Month) -> dict:
    """The stage's options for the run of ``month``, as the DAG passes them."""
    if stage == "ingest":
        return {"month": month, "file": None}
    if stage == "train":
        return {"train_months": [month.previous()], "eval_month": month}
    if stage == "score":
        return {"month": month, "model_version": None}
    if stage == "monitor":
        return {"reference": None, "current": month}  # None: the champion's last training month
    return {"month": month}


def run_month(
    spark: SparkSession, settings: Settings, service: str, month: Month, watch: Watch = _unwatched
) -> Iterator[Step]:
    """The stages of one month, each yielded as it ends (a failed data stage raises); each stage
    runs inside ``watch(stage, month)`` (the CLI's progress display)."""
    lake = Lake.from_settings(settings)
    for stage in STAGES:
        if stage in MODEL_STAGES and not gold_ready(lake, service, month.previous()):
            yield Step(stage, month, "skipped", note=f"no gold {service} {month.previous()} to train on")
            continue
        job = JOBS[stage]
        try:
            with watch(stage, month):
                report = job.start(spark if job.spark else None, settings, service, _options(stage, month))
        except MissingInput as missing:
            if stage not in MODEL_STAGES:
                raise
            yield Step(stage, month, "skipped", note=str(missing))
            continue
        except DriftAlert as alert:  # the run's report was written as failed, with the verdict
            failed = lake.read_json(lake.report(stage, service, month, failed=True))
            yield Step(stage, month, "alert", RunReport(**failed), str(alert))
            continue
        yield Step(stage, month, "succeeded", report)


def run(
    spark: SparkSession,
    settings: Settings,
    service: str,
    months: list[Month],
    on_step: Callable[[Step], None] = lambda step: None,
    watch: Watch = _unwatched,
) -> list[Step]:
    """Every month of ``months`` in order; ``on_step`` hears of each step as it ends."""
    steps = []
    for month in months:
        for step in run_month(spark, settings, service, month, watch):
            on_step(step)
            steps.append(step)
    return steps
