"""The production stack, built and run for real (issue 14): docker-compose.yml under podman with the
CeleryExecutor (Redis broker, PostgreSQL metadata, separate api-server, scheduler, dag-processor,
triggerer, worker), the DAG triggered through the REST API for two consecutive months, Spark jobs
submitted to spark-master and executed on spark-worker, the lake on the S3 server, MLflow as the
server container, serving from the registry. Then faults on that stack.

Expected counts come from the files' own metadata and the DuckDB reading of the contract
(tests/expected.py), and from the embedded run of the same two files (the `real_gold` lake)."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from nyctaxi.lake import Lake
from nyctaxi.ml.registry import MODEL_NAME
from nyctaxi.months import Month
from tests.conftest import SHARED_TLC, shared_file
from tests.expected import LINEAR_MARGIN, file_rows, silver_rows
from tests.stack.stack import MLFLOW, SERVING, SPARK_MASTER_UI, AirflowApi, Stack, secrets, stack_sh

pytestmark = [pytest.mark.slow, pytest.mark.stack]

MONTHS = ("2025-01", "2025-02")
FILES = {month: f"green_tripdata_{month}.parquet" for month in MONTHS}
SPARK_MASTER = "spark://spark-master:7077"
TRIP = {
    "service": "green",
    "pickup_at": "2025-02-03T08:15:00",
    "pu_location_id": 74,
    "do_location_id": 75,
    "trip_distance": 1.2,
}


@pytest.fixture(scope="module")
def stack():
    for name in FILES.values():
        shared_file(name)  # skips with the reason when ../shared is absent
    stack = Stack(SHARED_TLC)
    stack_sh("down", *stack.files, "--volumes", shared_tlc=SHARED_TLC, check=False)
    stack_sh("up", *stack.files, shared_tlc=SHARED_TLC)
    try:
        yield stack
    finally:
        logs = stack.compose("logs", "--no-color", "--tail", "400", check=False, timeout=300)
        os.makedirs(os.path.dirname(LOG_COPY), exist_ok=True)
        with open(LOG_COPY, "w") as handle:
            handle.write(logs)
        stack_sh("down", *stack.files, "--volumes", shared_tlc=SHARED_TLC, check=False)


LOG_COPY = os.path.join(os.path.dirname(__file__), "..", "..", ".run", "stack", "last-test-logs.txt")


@pytest.fixture(scope="module")
def airflow(stack):
    api = AirflowApi(secrets()["AIRFLOW_ADMIN_PASSWORD"])
    dag = api.wait_for_dag()
    assert dag["is_paused"], "a new DAG starts paused"
    api.call("PATCH", "/dags/nyc_taxi_etl_production", json={"is_paused": False})
    return api


@pytest.fixture(scope="module")
def two_months(stack, airflow):
    """green 2025-01 then 2025-02, each run triggered through the REST API and awaited."""
    runs = {}
    for month in MONTHS:
        run_id = f"stack-{month}"
        airflow.trigger(month, run_id)
        runs[month] = airflow.wait_run(run_id)
    return runs


def test_every_service_is_healthy_and_listens_on_loopback_only(stack):
    ps = stack.compose("ps", "--all", "--format", "{{.Service}} {{.State}} {{.Status}} {{.Ports}}")
    rows = {line.split()[0]: line for line in ps.splitlines() if line.strip()}
    for service, row in rows.items():
        if service in ("airflow-init", "bucket-init"):
            assert "exited" in row and "(0)" in row, row
        else:
            assert "running" in row and "(healthy)" in row, row
        for published in [p for p in row.split() if "->" in p]:
            assert published.startswith("127.0.0.1:"), row
    assert {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
            "airflow-worker", "spark-master", "spark-worker", "mlflow", "serving", "minio", "postgres",
            "redis"} <= set(rows)  # fmt: skip


def test_two_months_through_the_rest_api_on_celery_spark_and_s3(stack, airflow, two_months, real_gold):
    for month, run in two_months.items():
        assert run["state"] == "success", (month, airflow.tasks(run["dag_run_id"]))
    jan = airflow.tasks("stack-2025-01")
    feb = airflow.tasks("stack-2025-02")
    assert {t: jan[t]["state"] for t in ("ingest", "preprocess", "features", "validate")} == dict.fromkeys(
        ("ingest", "preprocess", "features", "validate"), "success"
    )
    # January: nothing earlier to train on; the model tasks are skipped.
    assert {jan[t]["state"] for t in ("training_data", "train", "score", "monitor")} == {"skipped"}
    assert {ti["state"] for ti in feb.values()} == {"success"}, feb
    # The Celery worker ran them (not a local executor in the scheduler).
    assert {ti["hostname"] for ti in feb.values()} == {"airflow-worker"}, feb

    embedded = Lake.from_settings(real_gold)
    for month in MONTHS:
        pre = stack.report("preprocess", "green", month)
        feat = stack.report("features", "green", month)
        checked = stack.report("validate", "green", month)
        assert pre["status"] == feat["status"] == checked["status"] == "succeeded"
        assert pre["engine"] == feat["engine"] == checked["engine"] == SPARK_MASTER
        assert pre["rows_in"] == file_rows(FILES[month]) and pre["rows_out"] == silver_rows(FILES[month])
        assert checked["summary"]["failed"] == 0
        # the same counts as the embedded run (Spark local, local-folder lake) of the same file
        local_pre = embedded.read_json(embedded.report("preprocess", "green", Month.parse(month)))
        local_feat = embedded.read_json(embedded.report("features", "green", Month.parse(month)))
        for key in ("rows_in", "rows_out", "rows_quarantined", "reasons"):
            assert pre[key] == local_pre[key], (month, key)
        assert feat["rows_out"] == local_feat["rows_out"] and feat["summary"] == local_feat["summary"]
        # bronze is byte-exact: the download from the mirror container matches the file's digest
        assert pre["source_sha256"] == local_pre["source_sha256"]
    # Spark ran every job as an application of the master, on the worker.
    master = httpx.get(f"{SPARK_MASTER_UI}/json/", timeout=30).json()
    completed = {app["name"] for app in master["completedapps"]}
    for month in MONTHS:
        assert {f"nyctaxi-{job}-green-{month}" for job in ("preprocess", "features", "validate")} <= completed
    assert {f"nyctaxi-{job}-green-2025-02" for job in ("train", "score", "monitor")} <= completed
    assert [w["state"] for w in master["workers"]] == ["ALIVE"] and master["workers"][0]["host"] != "localhost"


def test_champion_predictions_monitor_and_serving_after_month_two(stack, two_months):
    trained = stack.report("train", "green", "2025-02")
    assert trained["status"] == "succeeded" and trained["engine"] == SPARK_MASTER
    assert trained["summary"]["champion"] is True and trained["summary"]["model_version"] == "1"
    metrics = trained["summary"]["metrics"]
    assert metrics["model"]["rmse"] < metrics["median_baseline"]["rmse"]
    assert metrics["model"]["rmse"] < LINEAR_MARGIN * metrics["linear_baseline"]["rmse"]
    assert stack.report("train", "green", "2025-01") is None, "nothing to train on in the first month"
    # The MLflow server (PostgreSQL backend) has the champion; its artifacts are on the S3 server.
    alias = httpx.get(
        f"{MLFLOW}/api/2.0/mlflow/registered-models/alias",
        params={"name": MODEL_NAME, "alias": "champion"},
        timeout=30,
    )
    assert alias.status_code == 200, alias.text
    version = alias.json()["model_version"]
    assert version["version"] == "1" and version["status"] == "READY"
    assert stack.keys("mlflow"), "model artifacts in the S3 server's mlflow bucket"
    scored = stack.report("score", "green", "2025-02")
    assert scored["status"] == "succeeded" and scored["summary"]["model_version"] == "1"
    assert scored["rows_out"] == silver_rows(FILES["2025-02"]) and scored["engine"] == SPARK_MASTER
    assert any("predictions" in key for key in stack.keys("gold")), "predictions on the lake"
    watched = stack.report("monitor", "green", "2025-02")
    assert watched["status"] == "succeeded" and watched["summary"]["reference"] == "2025-01"
    assert not watched["summary"]["alert"]
    # The serving container answers with the champion (after a reload: it polls every 60 s).
    reload = httpx.post(f"{SERVING}/v1/model/reload", timeout=120)
    assert reload.status_code == 200, reload.text
    answer = httpx.post(f"{SERVING}/v1/predict", json=TRIP, timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model_name"] == MODEL_NAME and body["model_version"] == "1"
    assert 2.0 < body["predictions"][0]["duration_min"] < 40.0


def _crash(stack: Stack, service: str) -> None:
    """kill -9 of the service's main process, as a crashed node: the restart policy brings it back."""
    os.kill(stack.container_pid(service), signal.SIGKILL)


def _wait_spark_app(name: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            active = httpx.get(f"{SPARK_MASTER_UI}/json/", timeout=10).json()["activeapps"]
        except httpx.HTTPError:
            active = []
        if any(app["name"] == name for app in active):
            return
        time.sleep(2)
    raise AssertionError(f"Spark application {name} never became active")


def test_faults_kill_spark_worker_airflow_worker_and_restart_postgres(stack, airflow, two_months):
    """January again (cleared through the API, as a user re-runs a month), with three faults: the
    Spark worker crashes during preprocess, the Airflow (Celery) worker crashes during features,
    PostgreSQL restarts during validate. The run completes with January's exact counts."""
    before = {stage: stack.report(stage, "green", "2025-01") for stage in ("preprocess", "features")}
    restarts = {service: stack.restarts(service) for service in ("spark-worker", "airflow-worker")}
    airflow.clear("stack-2025-01", ["preprocess"])

    airflow.wait_task_running("stack-2025-01", "preprocess")
    _wait_spark_app("nyctaxi-preprocess-green-2025-01")
    time.sleep(5)  # executors are working on the month
    _crash(stack, "spark-worker")

    airflow.wait_task_running("stack-2025-01", "features")
    _wait_spark_app("nyctaxi-features-green-2025-01")
    _crash(stack, "airflow-worker")

    airflow.wait_task_running("stack-2025-01", "validate")
    stack.compose("restart", "postgres", timeout=300)

    run = airflow.wait_run("stack-2025-01", timeout=2400)
    tasks = airflow.tasks("stack-2025-01")
    assert run["state"] == "success", tasks
    for service, count in restarts.items():
        assert stack.restarts(service) > count, f"{service} was restarted by its restart policy"
    # The crashed Celery worker's task was failed by the scheduler and retried: a second try.
    assert tasks["features"]["try_number"] >= 2, tasks["features"]
    after = {stage: stack.report(stage, "green", "2025-01") for stage in ("preprocess", "features")}
    for stage in before:
        assert after[stage]["run_id"] != before[stage]["run_id"], f"{stage} ran again"
        for key in ("rows_in", "rows_out", "rows_quarantined", "summary"):
            assert after[stage][key] == before[stage][key], (stage, key)
    assert after["preprocess"]["rows_out"] == silver_rows(FILES["2025-01"])
