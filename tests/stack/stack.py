"""The production stack (docker-compose.yml under podman, scripts/stack.sh) as the tests drive it:
Compose commands, the Airflow REST API (JWT from the simple auth manager), the lake on the stack's
S3 server and the MLflow server, all reached on 127.0.0.1 through the ports compose publishes."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from nyctaxi.config import Settings
from nyctaxi.lake import Lake
from nyctaxi.months import Month

ROOT = Path(__file__).resolve().parents[2]
STACK_SH = ROOT / "scripts" / "stack.sh"
ENV_FILE = ROOT / ".run" / "stack" / "env"
MIRROR_FILE = Path(__file__).with_name("tlc-mirror.yml")
DAG_ID = "nyc_taxi_etl_production"
AIRFLOW = "http://127.0.0.1:8080"
S3 = "http://127.0.0.1:9000"
MLFLOW = "http://127.0.0.1:5000"
SERVING = "http://127.0.0.1:8000"
SPARK_MASTER_UI = "http://127.0.0.1:8081"
# The lake as the stack's services name it (compose's x-lake-env), for its layout only.
STACK_LAKE = Lake.from_settings(
    Settings(lake_bronze="s3://bronze", lake_silver="s3://silver", lake_gold="s3://gold", _env_file=None)
)


def secrets() -> dict[str, str]:
    """The stack's generated .env (scripts/stack.sh writes it once, mode 600)."""
    return dict(line.split("=", 1) for line in ENV_FILE.read_text().splitlines() if "=" in line)


def stack_sh(*args: str, shared_tlc: Path, timeout: float = 3600, check: bool = True) -> str:
    env = {**os.environ, "NYCTAXI_SHARED_TLC": str(shared_tlc)}
    done = subprocess.run(
        [str(STACK_SH), *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"stack.sh {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-12000:]}"
        )
    return done.stdout  # (stderr: Compose's progress and warnings)


@dataclass
class Stack:
    shared_tlc: Path
    files: tuple[str, ...] = ("-f", str(MIRROR_FILE))
    _s3: object = field(default=None, repr=False)

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> str:
        return stack_sh(
            "compose", *self.files, *args, shared_tlc=self.shared_tlc, timeout=timeout, check=check
        )

    def _inspect(self, service: str, template: str) -> str:
        """`podman inspect --format TEMPLATE` of the service's container."""
        name = self.compose("ps", "--format", "{{.Name}}", service).split()[0]
        done = subprocess.run(
            ["podman", "inspect", "--format", template, name],
            env={**os.environ, "CONTAINERS_CONF": str(ROOT / ".run/stack/containers.conf")},
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return done.stdout.strip()

    def container_pid(self, service: str) -> int:
        """The host PID of a service's main process (to crash it, as a kill -9 on a node would)."""
        return int(self._inspect(service, "{{.State.Pid}}"))

    def restarts(self, service: str) -> int:
        return int(self._inspect(service, "{{.RestartCount}}"))

    @property
    def s3(self):
        if self._s3 is None:
            import boto3

            env = secrets()
            self._s3 = boto3.client(
                "s3",
                endpoint_url=S3,
                aws_access_key_id=env["MINIO_ROOT_USER"],
                aws_secret_access_key=env["MINIO_ROOT_PASSWORD"],
                region_name="us-east-1",
            )
        return self._s3

    def read_json(self, uri: str) -> dict | None:
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        try:
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        return json.loads(body)

    def report(self, stage: str, service: str, month: str) -> dict | None:
        return self.read_json(STACK_LAKE.report(stage, service, Month.parse(month)))

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


class AirflowApi:
    """Airflow 3's public REST API (/api/v2) with a JWT from the simple auth manager."""

    def __init__(self, password: str) -> None:
        token = httpx.post(
            f"{AIRFLOW}/auth/token", json={"username": "admin", "password": password}, timeout=30
        )
        token.raise_for_status()
        self.token = token.json()["access_token"]  # also the UI's `_token` cookie
        self.http = httpx.Client(
            base_url=f"{AIRFLOW}/api/v2",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=60,
        )

    def call(self, method: str, path: str, retry_s: float = 180, **kwargs) -> dict:
        """One API call; a GET is retried while the server is unreachable or answers 5xx (the
        stack's faults restart its database and containers: a client waits them out)."""
        deadline = time.monotonic() + (retry_s if method == "GET" else 0)
        while True:
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            else:
                if response.status_code < 500 or time.monotonic() > deadline:
                    break
            time.sleep(3)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text[:2000]}"
        return response.json()

    def wait_for_dag(self, timeout: float = 300) -> dict:
        """The DAG once the dag-processor has parsed it (and it has no import errors)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = self.http.get(f"/dags/{DAG_ID}")
            if response.status_code == 200:
                return response.json()
            time.sleep(3)
        errors = self.call("GET", "/importErrors")
        raise AssertionError(f"{DAG_ID} not parsed after {timeout} s; import errors: {errors}")

    def trigger(self, month: str, run_id: str) -> dict:
        """A run owning ``month``: its data interval is the month (logical date = its first day)."""
        start = Month.parse(month)
        end = start.next()
        body = {
            "dag_run_id": run_id,
            "logical_date": f"{start}-01T00:00:00Z",
            "data_interval_start": f"{start}-01T00:00:00Z",
            "data_interval_end": f"{end}-01T00:00:00Z",
            "conf": {},
        }
        return self.call("POST", f"/dags/{DAG_ID}/dagRuns", json=body)

    def run(self, run_id: str) -> dict:
        return self.call("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}")

    def wait_run(self, run_id: str, timeout: float = 1800) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run["state"] in ("success", "failed"):
                return run
            time.sleep(5)
        raise AssertionError(f"run {run_id} not finished after {timeout} s: {self.tasks(run_id)}")

    def tasks(self, run_id: str) -> dict[str, dict]:
        listed = self.call("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")
        return {ti["task_id"]: ti for ti in listed["task_instances"]}

    def wait_task_running(self, run_id: str, task_id: str, timeout: float = 900) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ti = self.tasks(run_id).get(task_id)
            if ti and ti["state"] == "running":
                return ti
            if ti and ti["state"] in ("success", "failed", "skipped", "upstream_failed"):
                raise AssertionError(f"{task_id} finished ({ti['state']}) before it was seen running")
            time.sleep(2)
        raise AssertionError(f"{task_id} of {run_id} not running after {timeout} s")

    def clear(self, run_id: str, task_ids: list[str]) -> dict:
        """Clear tasks (and their downstream) of a run: the way a user re-runs part of a month."""
        body = {
            "dry_run": False,
            "dag_run_id": run_id,
            "task_ids": task_ids,
            "include_downstream": True,
            "only_failed": False,
            "reset_dag_runs": True,
        }
        return self.call("POST", f"/dags/{DAG_ID}/clearTaskInstances", json=body)


def crash(stack: Stack, service: str) -> float:
    """kill -9 of a service's main process, as a crashed node; its restart policy brings it back."""
    import signal

    os.kill(stack.container_pid(service), signal.SIGKILL)
    return time.monotonic()


def wait_spark_app(name: str, timeout: float = 600) -> None:
    """Until the Spark master lists ``name`` among its running applications."""
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


@dataclass
class StackMonths:
    """The two REST-triggered runs (green 2025-01 with faults injected, then 2025-02) and what the
    faults did: which service restarted, how long the run took."""

    runs: dict[str, dict]
    tasks: dict[str, dict[str, dict]]
    faults: dict[str, dict]
    restarts_before: dict[str, int]
    restarts_after: dict[str, int]

    def restarted(self, service: str) -> int:
        """How many times the service's container was restarted during the runs."""
        return self.restarts_after[service] - self.restarts_before[service]

    def took(self, month: str) -> str:
        """Each task's time in the month's run, in DAG order ("ingest 9 s, preprocess 71 s, …")."""
        tasks = sorted(self.tasks[month].values(), key=lambda ti: ti["start_date"] or "~")
        return ", ".join(f"{ti['task_id']} {ti['duration'] or 0:.0f} s" for ti in tasks)


def run_two_months(stack: Stack, api: AirflowApi) -> StackMonths:
    """January with three faults, as production meets them: the Spark worker crashes while
    preprocess computes, the Airflow (Celery) worker crashes while features runs, PostgreSQL
    restarts while validate runs. Then February, untouched. Each run is awaited to its end."""
    services = ("spark-worker", "airflow-worker", "postgres")
    restarts_before = {service: stack.restarts(service) for service in services}
    faults: dict[str, dict] = {}
    started = time.monotonic()
    api.trigger("2025-01", "stack-2025-01")

    api.wait_task_running("stack-2025-01", "preprocess")
    wait_spark_app("nyctaxi-preprocess-green-2025-01")
    time.sleep(10)  # executors are computing the month
    faults["spark-worker"] = {"task": "preprocess", "at_s": round(crash(stack, "spark-worker") - started)}

    api.wait_task_running("stack-2025-01", "features")
    wait_spark_app("nyctaxi-features-green-2025-01")
    faults["airflow-worker"] = {"task": "features", "at_s": round(crash(stack, "airflow-worker") - started)}

    api.wait_task_running("stack-2025-01", "validate", timeout=1500)
    time.sleep(5)
    faults["postgres"] = {"task": "validate", "at_s": round(time.monotonic() - started)}
    stack.compose("restart", "postgres", timeout=300)

    runs = {"2025-01": api.wait_run("stack-2025-01", timeout=2400)}
    runs["2025-01"]["took_s"] = round(time.monotonic() - started)
    started = time.monotonic()
    api.trigger("2025-02", "stack-2025-02")
    runs["2025-02"] = api.wait_run("stack-2025-02", timeout=2400)
    runs["2025-02"]["took_s"] = round(time.monotonic() - started)
    return StackMonths(
        runs=runs,
        tasks={month: api.tasks(f"stack-{month}") for month in runs},
        faults=faults,
        restarts_before=restarts_before,
        restarts_after={service: stack.restarts(service) for service in services},
    )


class BackgroundStack:
    """The stack's whole course, started at collection in a thread while the rest of the suite
    runs: images and the Compose binary (scripts/stack.sh prepare), `up` with the TLC mirror, the
    Airflow API logged in, then the two months (run_two_months). It overlaps the other tests
    instead of following them: each leaves CPU idle (downloads, JVM and container starts, the
    scheduler's polls, a killed worker's heartbeat timeout) that the other uses; together they
    keep the machine busy (1.9 % idle over a full run). The stack fixtures wait for the step they
    need and re-raise its error; :meth:`close` keeps the logs and removes it."""

    def __init__(self, shared_tlc: Path, log_dir: Path) -> None:
        self.stack = Stack(shared_tlc)
        self.log_dir = log_dir
        self.api: AirflowApi | None = None
        self.months: StackMonths | None = None
        self.error: BaseException | None = None
        self._up = threading.Event()
        self._done = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._course, name="stack", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _course(self) -> None:
        try:
            with open(self.log_dir / "prepare.log", "w") as log:
                prepared = subprocess.run(
                    [str(STACK_SH), "prepare"], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
                )
            if prepared.returncode != 0:
                raise AssertionError(
                    f"stack.sh prepare failed ({prepared.returncode}); see {self.log_dir / 'prepare.log'}"
                )
            stack_sh("down", *self.stack.files, "--volumes", shared_tlc=self.stack.shared_tlc, check=False)
            stack_sh("up", *self.stack.files, shared_tlc=self.stack.shared_tlc)
            self.api = AirflowApi(secrets()["AIRFLOW_ADMIN_PASSWORD"])
            assert self.api.wait_for_dag()["is_paused"], "a new DAG starts paused"
            self.api.call("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})
            self._up.set()
            self.months = run_two_months(self.stack, self.api)
        except BaseException as error:  # re-raised in the test that waits for this step
            self.error = error
        finally:
            self._up.set()
            self._done.set()

    def _wait(self, event: threading.Event, timeout: float) -> None:
        if not event.wait(timeout):
            raise AssertionError(f"the stack's background course not there after {timeout} s")
        if self.error is not None:
            raise self.error

    def wait_up(self, timeout: float = 3600) -> tuple[Stack, AirflowApi]:
        """The stack up and every service healthy, the DAG unpaused."""
        self._wait(self._up, timeout)
        return self.stack, self.api

    def wait_months(self, timeout: float = 5400) -> StackMonths:
        self._wait(self._done, timeout)
        return self.months

    def close(self) -> None:
        """The services' last logs into .run/stack/last-test-logs.txt, then down with the volumes
        (a course still running fails fast once its containers are gone)."""
        if self._closed:
            return
        self._closed = True
        logs = self.stack.compose("logs", "--no-color", "--timestamps", "--tail", "300", check=False)
        (self.log_dir / "last-test-logs.txt").write_text(logs)
        stack_sh("down", *self.stack.files, "--volumes", shared_tlc=self.stack.shared_tlc, check=False)
        self._thread.join(timeout=120)
