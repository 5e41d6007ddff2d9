"""nyc_taxi_etl_production — monthly ingest → preprocess → features → materialize (feature store) →
validate → train → score → monitor for one TLC service.

Orchestration only: the ingest task runs nyctaxi in the project's own Python (no Spark), the
Spark jobs are spark-submitted to the master of the `spark_default` connection, each exactly as
`nyctaxi submit <job>` would submit it: at task time the project's Python prints the submission
(`nyctaxi submit <job> … --plan`: the application inside the installed package, the Spark conf with
the jars and JVM options, driver memory, the driver's environment). Everything else comes from
the environment of the Airflow worker (nothing is computed or read at parse time):

- ``NYCTAXI_HOME``      project checkout (default: this repo), only to find the defaults below
- ``NYCTAXI_PYTHON``    Python with nyctaxi installed (default: <home>/.venv/bin/python)
- ``NYCTAXI_SPARK_SUBMIT``  spark-submit binary (default: pyspark's, inside that venv)
- ``NYCTAXI_TASK_RETRIES``, ``NYCTAXI_TASK_RETRY_DELAY_S``  retries per task (default 2) and the
  first one's wait (default 60 s; then exponential backoff)
- ``NYCTAXI_JARS_DIR``, ``NYCTAXI_LAKE_*``, ``NYCTAXI_S3_ENDPOINT``, ``AWS_*``  read by nyctaxi itself
- ``AIRFLOW_CONN_SPARK_DEFAULT``  e.g. {"conn_type": "spark", "host": "spark://spark-master", "port": 7077}

Model tasks: train on the previous month and evaluate on the run's month (the registry gate
decides whether the new version becomes champion), score the month with whichever version is
champion then, and check its drift against the champion's training month. In the first month
there is nothing to train on: `training_data` (a Python check, no JVM) skips the model tasks; a
month without a champion yet (the gate refused the first model) skips scoring (--skip-missing).
MLflow is wherever ``MLFLOW_TRACKING_URI`` points (compose: the mlflow service).

A run owns the month of its data interval: the run due on 2025-02-01 (logical date 2025-01-01)
processes 2025-01, so `airflow dags test nyc_taxi_etl_production 2025-02-01` runs January.
TLC publishes about two months late: until then ingest fails with "not published (yet)" and
the run is retried (exponential backoff), then failed; clear it later or let catchup redo it.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG, Param, task
from airflow.timetables.interval import CronDataIntervalTimetable

HOME = Path(os.environ.get("NYCTAXI_HOME", Path(__file__).resolve().parents[2]))
PYTHON = os.environ.get("NYCTAXI_PYTHON", str(HOME / ".venv" / "bin" / "python"))
SPARK_SUBMIT = os.environ.get(
    "NYCTAXI_SPARK_SUBMIT", str(HOME / ".venv/lib/python3.11/site-packages/pyspark/bin/spark-submit")
)
RETRIES = int(os.environ.get("NYCTAXI_TASK_RETRIES", "2"))
# The first retry's wait (then exponential backoff, at most 20 min).
RETRY_DELAY = timedelta(seconds=int(os.environ.get("NYCTAXI_TASK_RETRY_DELAY_S", "60")))

# The month a run owns is its data interval, never "now": a run for 2025-01-01 processes 2025-01.
MONTH = "{{ data_interval_start.strftime('%Y-%m') }}"
PREVIOUS_MONTH = "{{ data_interval_start.subtract(months=1).strftime('%Y-%m') }}"
SERVICE = "{{ params.service }}"
JOB_ARGS = ["--service", SERVICE, "--month", MONTH]


class NyctaxiJob(SparkSubmitOperator):
    """A job of nyctaxi's registry (`nyctaxi.jobs.JOBS`), submitted as `nyctaxi submit` submits it."""

    def __init__(self, *, job: str, job_args: list[str], **kwargs) -> None:
        super().__init__(
            task_id=job,
            conn_id="spark_default",
            application_args=job_args,
            name=f"nyctaxi-{job}-{SERVICE}-{MONTH}",
            spark_binary=SPARK_SUBMIT,
            **kwargs,
        )
        self.job = job

    def plan(self) -> dict:
        """The submission of this job with its rendered arguments, from the project's Python."""
        import json
        import subprocess

        command = [PYTHON, "-m", "nyctaxi", "submit", self.job, *self.application_args, "--plan"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"`{' '.join(command)}` failed: {done.stderr.strip()[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def apply_plan(self) -> None:
        plan = self.plan()
        self.application, self.application_args = plan["application"], plan["args"]
        self.conf, self.env_vars, self._driver_memory = plan["conf"], plan["env"], plan["driver_memory"]

    def execute(self, context) -> None:
        self.apply_plan()
        return super().execute(context)


with DAG(
    dag_id="nyc_taxi_etl_production",
    description="TLC monthly trips: bronze → silver → gold on Spark + Delta",
    # Data intervals (not Airflow 3's default trigger timetable): the run for 2025-01-01 owns
    # [2025-01-01, 2025-02-01) and starts once that month is over.
    schedule=CronDataIntervalTimetable("0 0 1 * *", timezone="UTC"),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=True,
    # Delta's S3 log store allows one writer per table at a time: runs of different months
    # would commit to the same tables concurrently, so they run one after another.
    max_active_runs=1,
    params={"service": Param("green", enum=["yellow", "green"], description="TLC service")},
    default_args={
        "retries": RETRIES,
        "retry_delay": RETRY_DELAY,
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=20),
    },
    tags=["nyctaxi", "spark", "delta"],
) as dag:

    @task.bash(task_id="ingest")
    def ingest(service: str, month: str) -> str:
        """The registry's `ingest` job: the month and the zone lookup into bronze (HTTP + manifests;
        no Spark), in the project's Python."""
        return f"{PYTHON} -m nyctaxi.jobs ingest --service {service} --month {month}"

    @task.external_python(task_id="training_data", python=PYTHON, expect_airflow=False, skip_on_exit_code=99)
    def training_data(service: str, month: str) -> None:
        """Skip the model tasks (exit 99) unless gold holds the month before the run's month."""
        import sys

        from nyctaxi.config import Settings
        from nyctaxi.lake import Lake
        from nyctaxi.months import Month
        from nyctaxi.pipeline import gold_ready  # the rule `nyctaxi pipeline` follows too

        if not gold_ready(Lake.from_settings(Settings()), service, Month.parse(month)):
            print(f"no gold {service} {month} to train on: model tasks skipped")
            sys.exit(99)

    preprocess = NyctaxiJob(job="preprocess", job_args=JOB_ARGS)
    features = NyctaxiJob(job="features", job_args=JOB_ARGS)
    # The feature store: the month's lagged demand features (gold zone_demand) → the online store.
    materialize = NyctaxiJob(job="materialize", job_args=JOB_ARGS)
    # The data expectations gate what comes after (training, scoring): a failed one fails the run.
    validate = NyctaxiJob(job="validate", job_args=JOB_ARGS)
    train = NyctaxiJob(
        job="train",
        job_args=[
            "--service",
            SERVICE,
            "--train-months",
            PREVIOUS_MONTH,
            "--eval-month",
            MONTH,
            "--skip-missing",
        ],
    )
    score = NyctaxiJob(job="score", job_args=[*JOB_ARGS, "--skip-missing"])
    # A drift alert fails this task (and the run): the month needs a look before it is trusted.
    monitor = NyctaxiJob(
        job="monitor",
        job_args=["--service", SERVICE, "--reference", "champion", "--current", MONTH, "--skip-missing"],
    )

    ingest(SERVICE, MONTH) >> preprocess >> features >> materialize >> validate
    validate >> training_data(SERVICE, PREVIOUS_MONTH) >> train >> score >> monitor
