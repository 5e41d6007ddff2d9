"""A real Spark standalone cluster on 127.0.0.1 without Docker: one master and
``cluster_workers`` workers started from the pyspark installation (`spark-class`; the pip
package has no start-master.sh), with pid files and logs under ``cluster_run_dir``. `down`
stops exactly the processes `up` started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pyspark

from nyctaxi.config import Settings
from nyctaxi.errors import NyctaxiError
from nyctaxi.sparkconf import submit_env

SPARK_HOME = Path(pyspark.__file__).parent
STARTUP_TIMEOUT_S = 60.0
STOP_GRACE_S = 10.0


class ClusterError(NyctaxiError):
    """The local cluster could not be started, reached or stopped."""


@dataclass(frozen=True)
class ClusterInfo:
    master_url: str
    ui_url: str
    workers: list[dict]
    active_apps: list[dict]


def master_url(settings: Settings) -> str:
    return f"spark://{settings.cluster_host}:{settings.cluster_port}"


def ui_url(settings: Settings) -> str:
    return f"http://{settings.cluster_host}:{settings.cluster_ui_port}"


def _worker_roles(settings: Settings) -> list[str]:
    return ["worker"] + [f"worker-{n}" for n in range(2, settings.cluster_workers + 1)]


def _pid_file(settings: Settings, role: str) -> Path:
    return Path(settings.cluster_run_dir) / f"{role}.pid"


def _alive(pid: int) -> bool:
    try:  # reap it first if it is our own exited child (a zombie still answers kill 0)
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _running_pid(settings: Settings, role: str) -> int | None:
    path = _pid_file(settings, role)
    if not path.exists():
        return None
    pid = int(path.read_text().strip())
    if not _alive(pid):
        path.unlink()
        return None
    return pid


def _start(settings: Settings, role: str, args: list[str]) -> int:
    run_dir = Path(settings.cluster_run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    env = submit_env({**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOG_DIR": str(run_dir)})
    env["SPARK_LOCAL_IP"] = settings.cluster_host
    command = [str(SPARK_HOME / "bin" / "spark-class"), *args]
    with open(run_dir / f"{role}.log", "ab") as log:
        # Own session: a Ctrl-C in the caller's terminal does not reach the cluster.
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
    _pid_file(settings, role).write_text(str(process.pid))  # spark-class execs java: this is the JVM
    return process.pid


def _master_json(settings: Settings) -> dict:
    with urllib.request.urlopen(f"{ui_url(settings)}/json/", timeout=5) as response:
        return json.load(response)


def _wait_for(settings: Settings, ready, what: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if ready(_master_json(settings)):
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise ClusterError(
        f"{what} not ready after {STARTUP_TIMEOUT_S:.0f}s; see logs in {settings.cluster_run_dir}"
    )


def up(settings: Settings) -> ClusterInfo:
    """Start the master and the workers (idempotent: running processes are kept)."""
    host = settings.cluster_host
    if _running_pid(settings, "master") is None:
        _start(
            settings,
            "master",
            ["org.apache.spark.deploy.master.Master", "--host", host, "--port", str(settings.cluster_port)]
            + ["--webui-port", str(settings.cluster_ui_port)],
        )
    _wait_for(settings, lambda j: j.get("status") == "ALIVE", "Spark master")
    for index, role in enumerate(_worker_roles(settings)):
        if _running_pid(settings, role) is not None:
            continue
        ui_port = settings.cluster_worker_ui_port + index if settings.cluster_worker_ui_port else 0
        _start(
            settings,
            role,
            ["org.apache.spark.deploy.worker.Worker", master_url(settings), "--host", host]
            + ["--cores", str(settings.cluster_worker_cores), "--memory", settings.cluster_worker_memory]
            + ["--webui-port", str(ui_port), "--work-dir", str(Path(settings.cluster_run_dir) / role)],
        )
    wanted = settings.cluster_workers
    _wait_for(
        settings,
        lambda j: sum(w.get("state") == "ALIVE" for w in j.get("workers", [])) >= wanted,
        f"{wanted} Spark worker(s)",
    )
    return status(settings)


def down(settings: Settings) -> list[str]:
    """Stop the processes recorded in the pid files, workers first: TERM, then KILL after a grace
    period."""
    workers = sorted(p.stem for p in Path(settings.cluster_run_dir).glob("worker*.pid"))
    stopped = []
    for role in [*workers, "master"]:
        pid = _running_pid(settings, role)
        if pid is None:
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while time.monotonic() < deadline and _running_pid(settings, role) is not None:
            time.sleep(0.2)
        if _running_pid(settings, role) is not None:
            os.kill(pid, signal.SIGKILL)
        _pid_file(settings, role).unlink(missing_ok=True)
        stopped.append(f"{role} (pid {pid})")
    return stopped


def status(settings: Settings) -> ClusterInfo:
    try:
        state = _master_json(settings)
    except OSError as error:
        raise ClusterError(
            f"no Spark master answers at {ui_url(settings)} ({error}); run `nyctaxi cluster up`"
        ) from error
    return ClusterInfo(
        master_url=state.get("url", master_url(settings)),
        ui_url=ui_url(settings),
        workers=[
            {
                k: w.get(k)
                for k in ("id", "host", "state", "cores", "coresused", "memory", "memoryused", "webuiaddress")
            }
            for w in state.get("workers", [])
        ],
        active_apps=[
            {k: a.get(k) for k in ("id", "name", "state", "cores")} for a in state.get("activeapps", [])
        ],
    )
