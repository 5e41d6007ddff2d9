"""The production stack, built and run for real (issue 14): docker-compose.yml under podman with the
CeleryExecutor (Redis broker, PostgreSQL metadata, separate api-server, scheduler, dag-processor,
triggerer, worker), the DAG triggered through the REST API for two consecutive months, Spark jobs
submitted to spark-master and executed on spark-worker, the lake on the S3 server, MLflow as the
server container, serving from the registry. The fixtures are in tests/conftest.py (one stack per
run, shared with the fault cases of tests/reliability/test_stack_faults.py: January's run meets
three faults, February's runs untouched).

Expected counts come from the files' own metadata and the DuckDB reading of the contract
(tests/expected.py), and from the embedded run of the same two files (the `real_gold` lake)."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest

from nyctaxi.lake import Lake
from nyctaxi.ml.registry import MODEL_NAME
from nyctaxi.months import Month
from tests.conftest import PROJECT_ROOT
from tests.expected import LINEAR_MARGIN, file_rows, silver_rows
from tests.integration.test_serving import TRIP  # the serving tests' request
from tests.stack.stack import AIRFLOW, DAG_ID, MLFLOW, SERVING, SPARK_MASTER_UI

pytestmark = [pytest.mark.slow, pytest.mark.stack]

MONTHS = ("2025-01", "2025-02")
FILES = {month: f"green_tripdata_{month}.parquet" for month in MONTHS}
SPARK_MASTER = "spark://spark-master:7077"
IMAGES = PROJECT_ROOT / "docs" / "img"


def test_every_service_is_healthy_and_listens_on_loopback_only(stack, stack_months):
    """After both runs and the faults: every service healthy again (within its checks' interval),
    one-shots exited 0, every published port on 127.0.0.1."""
    deadline = time.monotonic() + 300
    while True:
        listed = stack.compose("ps", "--all", "--format", "json").strip()
        entries = (
            json.loads(listed)
            if listed.startswith("[")
            else [json.loads(line) for line in listed.splitlines()]
        )
        rows = {row["Service"]: row for row in entries}
        waiting = {
            service: (row["State"], row.get("Health"), row.get("ExitCode"))
            for service, row in rows.items()
            if not (
                (
                    service in ("airflow-init", "bucket-init")
                    and row["State"] == "exited"
                    and row["ExitCode"] == 0
                )
                or (row["State"] == "running" and row.get("Health") == "healthy")
            )
        }
        if not waiting or time.monotonic() > deadline:
            break
        time.sleep(5)
    assert waiting == {}, waiting
    published = [
        (service, p)
        for service, row in rows.items()
        for p in row.get("Publishers") or []
        if p.get("PublishedPort")
    ]
    assert published and all(p["URL"] == "127.0.0.1" for _, p in published), published
    assert {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
            "airflow-worker", "spark-master", "spark-worker", "mlflow", "serving", "minio", "postgres",
            "redis", "tlc-mirror"} <= set(rows)  # fmt: skip


def test_two_months_through_the_rest_api_on_celery_spark_and_s3(stack, stack_months, real_gold):
    for month, run in stack_months.runs.items():
        assert run["state"] == "success", (month, stack_months.tasks[month])
    jan, feb = stack_months.tasks["2025-01"], stack_months.tasks["2025-02"]
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
    # One live worker, in its own container; the master still lists the one the fault test killed
    # (as DEAD, for spark.dead.worker.persistence × spark.worker.timeout) until it forgets it.
    alive = [w for w in master["workers"] if w["state"] == "ALIVE"]
    assert len(alive) == 1 and alive[0]["host"] != "localhost", master["workers"]
    assert all(w["state"] == "DEAD" for w in master["workers"] if w not in alive), master["workers"]


def test_both_months_materialized_into_redis(stack, stack_months):
    """The DAG's materialize task on the cluster: gold zone_demand per month, the online values in
    the stack's Redis (read back by the CLI in the worker's container, through the S3 registry)."""
    for month, days in (("2025-01", 31), ("2025-02", 28)):
        done = stack.report("materialize", "green", month)
        assert done["status"] == "succeeded", done
        assert done["rows_out"] == 263 * 24 * days  # every zone a model row can start in, every hour
        assert done["summary"]["online"] is True and done["summary"]["online_store"] == "redis"
    # zone 74 (East Harlem North, green's busiest), Monday 08:00 (hour of week 8)
    shown = stack.compose(
        "exec", "-T", "airflow-worker", "/opt/nyctaxi/.venv/bin/nyctaxi", "feature-store", "get",
        "--service", "green", "--zone", "74", "--at", "2025-03-03T08:00",
    )  # fmt: skip
    assert "green zone 74, hour of week 8:" in shown
    trips = re.search(r"^  trips_1w: (\d+)$", shown, re.MULTILINE)
    assert trips and int(trips[1]) > 0, shown


def test_champion_predictions_monitor_and_serving_after_month_two(stack, stack_months):
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


def test_screens_a_user_looks_at(stack, stack_months, airflow_api):
    """Airflow's grid of the DAG, the Spark master's applications, MLflow's registered model, in
    headless Chromium; kept in docs/img/ (the README and PRODUCTION_SETUP.md show them)."""
    from tests.browser import browser, capture

    login = [{"name": "_token", "value": airflow_api.token, "domain": "127.0.0.1", "path": "/"}]
    with browser() as chromium:
        grid = capture(
            chromium, f"{AIRFLOW}/dags/{DAG_ID}", IMAGES / "airflow-grid.png", "training_data", login
        )
        spark = capture(
            chromium, f"{SPARK_MASTER_UI}/", IMAGES / "spark-master.png", "Completed Applications"
        )
        model = capture(chromium, f"{MLFLOW}/#/models/{MODEL_NAME}", IMAGES / "mlflow-model.png", "Version 1")
    for task in ("ingest", "preprocess", "features", "materialize", "validate", "train", "score", "monitor"):
        assert task in grid
    assert "nyc_taxi_etl_production" in grid and "Failed Runs" in grid
    assert all(f"nyctaxi-{job}-green-2025-02" in spark for job in ("preprocess", "train", "monitor"))
    assert "FINISHED" in spark and "ALIVE" in spark
    assert MODEL_NAME in model and "champion" in model
    for image in ("airflow-grid.png", "spark-master.png", "mlflow-model.png"):
        assert (IMAGES / image).stat().st_size > 20_000, image
