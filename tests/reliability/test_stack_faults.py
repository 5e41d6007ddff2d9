"""Faults on the production stack (docker-compose.yml under podman; fixtures in tests/conftest.py).
January's REST-triggered run meets three of them (tests/stack/stack.py: run_two_months): the Spark
worker crashes while preprocess computes, the Celery worker crashes while features runs, PostgreSQL
restarts while validate runs. The run must still succeed with January's exact counts, through the
retries each layer has (Spark's executor loss handling, Airflow's task retries, reconnects), and
February then runs untouched on the same stack."""

from __future__ import annotations

import pytest

from tests.expected import file_rows, silver_rows

pytestmark = [pytest.mark.slow, pytest.mark.stack]

JANUARY = "green_tripdata_2025-01.parquet"


def _january_counts_are_right(stack, case) -> None:
    pre = stack.report("preprocess", "green", "2025-01")
    feat = stack.report("features", "green", "2025-01")
    assert pre["rows_in"] == file_rows(JANUARY) and pre["rows_out"] == silver_rows(JANUARY)
    assert feat["rows_out"] == pre["rows_out"]
    case.saw(
        f"January: {pre['rows_out']:,} to silver of {pre['rows_in']:,} read, {feat['rows_out']:,} in gold"
    )


def _tries(stack_months, task: str) -> int:
    return stack_months.tasks["2025-01"][task]["try_number"]


def test_spark_worker_killed_during_preprocess(stack, stack_months, case):
    row = case(
        "stack: the spark-worker container's process killed (-9) while preprocess computes",
        "the worker restarts (restart policy) and re-registers; the job or its task retry completes; counts exact",
    )
    fault = stack_months.faults["spark-worker"]
    restarted = stack_months.restarted("spark-worker")
    row.saw(
        f"killed {fault['at_s']} s into the run; restarted {restarted}×; preprocess took {_tries(stack_months, 'preprocess')} try(s)"
    )
    assert restarted >= 1
    assert stack_months.runs["2025-01"]["state"] == "success"
    assert stack_months.tasks["2025-01"]["preprocess"]["state"] == "success"
    _january_counts_are_right(stack, row)


def test_airflow_worker_killed_during_a_task(stack, stack_months, case):
    row = case(
        "stack: the airflow-worker (Celery) container's process killed (-9) while `features` runs",
        "the scheduler fails the task whose heartbeats stopped and retries it on the restarted worker; counts exact",
    )
    fault = stack_months.faults["airflow-worker"]
    restarted = stack_months.restarted("airflow-worker")
    tries = _tries(stack_months, "features")
    row.saw(
        f"killed {fault['at_s']} s into the run; restarted {restarted}×; features succeeded on try {tries}"
    )
    assert restarted >= 1 and tries >= 2, "a retry, not luck"
    assert stack_months.tasks["2025-01"]["features"]["state"] == "success"
    _january_counts_are_right(stack, row)


def test_postgres_restarted_during_a_run(stack, stack_months, case):
    row = case(
        "stack: PostgreSQL (Airflow metadata, MLflow store) restarted while `validate` runs",
        "Airflow's components reconnect; the run completes; the next month runs normally",
    )
    fault = stack_months.faults["postgres"]
    took = stack_months.runs["2025-01"]["took_s"]
    row.saw(
        f"restarted {fault['at_s']} s into the run; validate succeeded on try {_tries(stack_months, 'validate')}; "
        f"January's run succeeded after {took} s; February's after {stack_months.runs['2025-02']['took_s']} s "
        f"({stack_months.took('2025-02')})"
    )
    assert stack_months.runs["2025-01"]["state"] == "success"
    assert stack_months.runs["2025-02"]["state"] == "success"
    _january_counts_are_right(stack, row)
