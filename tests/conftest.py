"""Shared fixtures: one SparkSession per test run, real TLC files from ../shared, per-test lakes."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from nyctaxi.config import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]  # the checkout under test
SHARED_TLC = (PROJECT_ROOT.parent / "shared" / "data" / "tlc").resolve()
JARS_DIR = str(PROJECT_ROOT / "jars" / "lib")
# Settings' defaults are relative to the working folder; tests run jobs from many folders.
os.environ.setdefault("NYCTAXI_JARS_DIR", JARS_DIR)
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # network traffic in tests stays on 127.0.0.1
PYSPARK_PYTHON_AT_START = os.environ.get("PYSPARK_PYTHON")  # before any session is built


def shared_file(name: str) -> Path:
    """A real TLC file from ../shared/data/tlc, or a skip saying why."""
    path = SHARED_TLC / name
    if not path.is_file():
        pytest.skip(f"real TLC data not available: {path} is absent (tests read ../shared/data/tlc)")
    return path


S3_ROOTS = {"lake_bronze": "s3://bronze", "lake_silver": "s3://silver", "lake_gold": "s3://gold"}


def make_settings(root: Path, **overrides) -> Settings:
    values = {
        "lake_bronze": str(root / "lake" / "bronze"),
        "lake_silver": str(root / "lake" / "silver"),
        "lake_gold": str(root / "lake" / "gold"),
        "tlc_base_url": str(SHARED_TLC),
        "spark_master": "local[2]",
        "spark_shuffle_partitions": 4,
        "http_backoff_s": 0.01,
        "mlflow_tracking_uri": f"sqlite:///{root / 'mlflow.db'}",
        "mlflow_artifacts": str(root / "mlartifacts"),
        "feature_registry": str(root / "feature_store" / "registry.db"),
        "feature_online_path": str(root / "feature_store" / "online.db"),
        "jars_dir": JARS_DIR,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """One S3-compatible server per run; its endpoint and credentials are in the environment."""
    from tests.servers import S3Server

    server = S3Server.start(tmp_path_factory.mktemp("s3"))
    saved = {key: os.environ.get(key) for key in server.env()}
    os.environ.update(server.env())
    yield server
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@dataclass(frozen=True)
class S3PipelineRun:
    settings: Settings  # the S3 lake's roots (under a run-specific prefix)
    outputs: list[str]  # stdout + stderr of each command, in order
    workdir: Path


@pytest.fixture(scope="session")
def s3_pipeline(s3_server, tmp_path_factory) -> S3PipelineRun:
    """Real green 2025-01 through the CLI onto a lake on the S3 server: `storage init`, `ingest`,
    `submit preprocess`, `submit features`, all `--verbose`. One run serves the S3 lake test and the
    secrets scan of its logs."""
    import subprocess
    import sys
    import uuid

    from tests.pipeline import settings_env

    shared_file("green_tripdata_2025-01.parquet")  # the run ingests it from the shared mirror
    workdir = tmp_path_factory.mktemp("s3-run")
    run = uuid.uuid4().hex[:8]
    settings = make_settings(
        workdir,
        lake_bronze=f"s3://bronze/{run}",
        lake_silver=f"s3a://silver/{run}",  # either scheme is accepted for a root
        lake_gold=f"s3://gold/{run}",
        s3_endpoint=s3_server.endpoint,
    )
    env = {
        **settings_env(settings),
        **s3_server.env(),
        "NYCTAXI_LAKE_BRONZE": settings.lake_bronze,
        "NYCTAXI_LAKE_SILVER": settings.lake_silver,
        "NYCTAXI_LAKE_GOLD": settings.lake_gold,
        "NYCTAXI_TLC_BASE_URL": str(SHARED_TLC),
    }
    nyctaxi = str(Path(sys.executable).with_name("nyctaxi"))
    outputs = []
    for args in (
        ["storage", "init"],
        ["--verbose", "ingest", "--service", "green", "--month", "2025-01"],
        ["--verbose", "submit", "preprocess", "--service", "green", "--month", "2025-01"],
        ["--verbose", "submit", "features", "--service", "green", "--month", "2025-01"],
        ["storage", "init"],
    ):
        done = subprocess.run(
            [nyctaxi, *args], env=env, capture_output=True, text=True, timeout=600, cwd=workdir
        )
        assert done.returncode == 0, f"{args}: {done.stderr[-3000:]}"
        outputs.append(done.stdout + done.stderr)
    return S3PipelineRun(settings, outputs, workdir)


@pytest.fixture(scope="session")
def spark(s3_server):
    """The run's SparkSession; it can reach the S3 server too (s3a conf is fixed at start)."""
    from nyctaxi.spark import build_session

    session = build_session(
        make_settings(Path("/nonexistent"), **S3_ROOTS, s3_endpoint=s3_server.endpoint), "nyctaxi-tests"
    )
    yield session
    session.stop()


@pytest.fixture
def zone_lookup(settings: Settings) -> str:
    """The real zone lookup placed in the test lake's bronze."""
    from nyctaxi.lake import Lake

    target = Lake.from_settings(settings).zone_lookup()
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copyfile(shared_file("taxi_zone_lookup.csv"), target)
    return target


@pytest.fixture(scope="session")
def standalone(tmp_path_factory):
    """A real Spark standalone master + one 1-core worker on 127.0.0.1 (ephemeral ports);
    yields settings whose spark_master points at it. Stopped (and checked stopped) at the end."""
    from nyctaxi import cluster
    from tests.servers import free_port

    settings = make_settings(
        tmp_path_factory.mktemp("cluster"),
        cluster_port=free_port(),
        cluster_ui_port=free_port(),
        cluster_worker_ui_port=free_port(),
        cluster_worker_cores=1,
        cluster_worker_memory="1g",
        cluster_run_dir=str(tmp_path_factory.mktemp("cluster-run")),
    )
    info = cluster.up(settings)
    try:
        yield settings.model_copy(update={"spark_master": info.master_url})
    finally:
        stopped = cluster.down(settings)
        assert len(stopped) == 2, stopped


@pytest.fixture(scope="session")
def real_gold(spark, tmp_path_factory) -> Settings:
    """A lake with the real green 2025-01 and 2025-02 through gold (and an empty MLflow store):
    the reference case of the model contract. Tests that register models copy it first."""
    from tests.pipeline import build_gold

    settings = make_settings(tmp_path_factory.mktemp("real-gold"))
    build_gold(spark, settings, "green", ("2025-01", "2025-02"))
    return settings


@pytest.fixture(scope="session")
def champion_lake(spark, real_gold, tmp_path_factory):
    """A copy of the real gold lake with its own registry: one champion (trained on a quarter of
    January, enough for serving tests) and the month's predictions from batch scoring."""
    from nyctaxi.jobs import score, train
    from nyctaxi.months import Month

    root = tmp_path_factory.mktemp("champion")
    settings = make_settings(root, serving_reload_s=0)
    shutil.copytree(real_gold.lake_gold, settings.lake_gold)
    shutil.copytree(real_gold.lake_bronze, settings.lake_bronze)
    shutil.copytree(real_gold.lake_silver, settings.lake_silver)
    train.run(
        spark, settings, "green", [Month.parse("2025-01")], Month.parse("2025-02"), sample_fraction=0.25
    )
    score.run(spark, settings, "green", Month.parse("2025-02"))
    return settings


# ---- the production stack (docker-compose.yml under podman): one per run, shared by the stack
# tests (tests/stack) and the fault cases on it (tests/reliability/test_stack_faults.py) ----
STACK: dict = {}


def pytest_collection_finish(session):
    """When stack tests are selected, the stack's whole course (images, up, the two months) starts
    in the background (tests/stack/stack.py: BackgroundStack) and the stack tests run last, so the
    rest of the suite overlaps it. Its output: .run/stack/."""
    if session.config.option.collectonly or not any(
        item.get_closest_marker("stack") for item in session.items
    ):
        return
    if not all((SHARED_TLC / f"green_tripdata_{m}.parquet").is_file() for m in ("2025-01", "2025-02")):
        return  # the `stack` fixture skips, naming the missing file
    from tests.stack.stack import BackgroundStack

    log_dir = PROJECT_ROOT / ".run" / "stack"
    log_dir.mkdir(parents=True, exist_ok=True)
    STACK["course"] = BackgroundStack(SHARED_TLC, log_dir)
    STACK["course"].start()


def pytest_collection_modifyitems(items):
    """The stack's tests last: they wait for its background course."""
    items.sort(key=lambda item: item.get_closest_marker("stack") is not None)  # stable


def pytest_sessionfinish(session):
    if "course" in STACK:  # also when the session stopped before a stack test ran
        STACK["course"].close()


@pytest.fixture(scope="session")
def stack():
    """docker-compose.yml built and started (scripts/stack.sh up, plus the TLC mirror override);
    its logs are kept in .run/stack/last-test-logs.txt, then it is removed with its volumes."""
    for name in ("green_tripdata_2025-01.parquet", "green_tripdata_2025-02.parquet"):
        shared_file(name)  # skips with the reason when ../shared is absent
    running, _ = STACK["course"].wait_up()
    try:
        yield running
    finally:
        STACK["course"].close()


@pytest.fixture(scope="session")
def airflow_api(stack):
    """The stack's Airflow REST API, logged in; the DAG parsed and unpaused."""
    return STACK["course"].wait_up()[1]


@pytest.fixture(scope="session")
def stack_months(stack, airflow_api):
    """green 2025-01 (with faults) then 2025-02, triggered through the REST API (tests/stack/stack.py)."""
    return STACK["course"].wait_months()
