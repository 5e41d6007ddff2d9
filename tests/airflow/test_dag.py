"""The production DAG in a real Airflow 3 (its own virtualenv), fast checks: the DagBag's graph,
each task's submission equals `nyctaxi submit`'s, the file's parse-time imports. The DAG's real runs
(REST API, CeleryExecutor, Spark cluster, S3 lake, MLflow server) are the stack test's:
tests/stack/test_stack.py."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pyspark
import pytest

from nyctaxi.jobs import JOBS
from tests.conftest import JARS_DIR, PROJECT_ROOT

AIRFLOW_BIN = PROJECT_ROOT / ".venv-airflow" / "bin"
DAGS = PROJECT_ROOT / "airflow" / "dags"
DAG_ID = "nyc_taxi_etl_production"


def airflow_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    if not (AIRFLOW_BIN / "airflow").exists():
        pytest.fail("Airflow virtualenv missing: run `make airflow-venv`")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NYCTAXI_", "AIRFLOW"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__PARALLELISM="4",
        NYCTAXI_HOME=str(PROJECT_ROOT),
        NYCTAXI_JARS_DIR=JARS_DIR,
        NYCTAXI_PYTHON=sys.executable,
        NYCTAXI_SPARK_SUBMIT=str(Path(pyspark.__file__).parent / "bin" / "spark-submit"),
        NYCTAXI_TASK_RETRIES="0",
        SPARK_LOCAL_IP="127.0.0.1",
    )
    env.update(extra or {})
    return env


DAGBAG_PROBE = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={dags!r})
dag = bag.dags.get({dag_id!r})
print(json.dumps({{
    "errors": {{k: str(v) for k, v in bag.import_errors.items()}},
    "graph": {{t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}} if dag else None,
    "jobs": {{t.task_id: t.job for t in dag.tasks if hasattr(t, "job")}} if dag else None,
    "operators": {{t.task_id: type(t).__name__ for t in dag.tasks}} if dag else None,
    "max_active_runs": dag.max_active_runs if dag else None,
    "catchup": dag.catchup if dag else None,
    "params": list(dag.params.keys()) if dag else None,
}}))
"""


def test_dagbag_loads_with_the_expected_graph(tmp_path):
    done = subprocess.run(
        [str(AIRFLOW_BIN / "python"), "-c", DAGBAG_PROBE.format(dags=str(DAGS), dag_id=DAG_ID)],
        env=airflow_env(tmp_path), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    info = json.loads(done.stdout.strip().splitlines()[-1])
    assert info["errors"] == {}
    chain = [
        "ingest", "preprocess", "features", "materialize", "validate", "training_data", "train", "score", "monitor"
    ]  # fmt: skip
    assert info["graph"] == {task: chain[i + 1 : i + 2] for i, task in enumerate(chain)}
    spark_tasks = [t for t in chain if t not in ("ingest", "training_data")]
    assert {info["operators"][t] for t in spark_tasks} == {"NyctaxiJob"}
    # every job of the registry is a task of the DAG, named after it
    spark_jobs = {name for name, job in JOBS.items() if job.spark}
    assert info["jobs"] == {name: name for name in spark_jobs} and set(spark_tasks) == spark_jobs
    assert info["operators"]["ingest"] == "_BashDecoratedOperator" and "ingest" in JOBS
    assert info["max_active_runs"] == 1 and info["catchup"] is True and info["params"] == ["service"]


# Each Spark task as the worker would submit it for the run of 2025-03 (templates rendered, the
# submission planned by the project's Python), and the command that hook builds.
SUBMIT_PROBE = """
import json, pendulum
from airflow.dag_processing.dagbag import DagBag
dag = DagBag(dag_folder={dags!r}).dags[{dag_id!r}]
context = {{"data_interval_start": pendulum.datetime(2025, 3, 1, tz="UTC"), "params": {{"service": "green"}}}}
commands = {{}}
for task in dag.tasks:
    if hasattr(task, "job"):
        task.application_args = task.render_template(task.application_args, context)
        task.apply_plan()
        commands[task.job] = task._get_hook()._build_spark_submit_command(task.application)
print(json.dumps(commands))
"""


def submission(command: list[str]) -> dict:
    """A spark-submit command as {binary, master, conf, driver memory, application, args}; the
    application name (--name), which only the DAG sets, left out."""
    found, rest, conf = {"binary": command[0]}, command[1:], {}
    while rest[0].startswith("--"):
        flag, value, rest = rest[0], rest[1], rest[2:]
        if flag == "--conf":
            key, _, setting = value.partition("=")
            conf[key] = setting
        elif flag != "--name":
            found[flag] = value
    return found | {"conf": conf, "application": rest[0], "args": rest[1:]}


def test_each_dag_task_submits_exactly_what_nyctaxi_submit_does(tmp_path):
    """The DAG's command for every job (its connection's master, the plan from the project's
    Python) equals `nyctaxi submit <job> … --dry-run` with that master in the settings."""
    master = "spark://127.0.0.1:7077"
    same = {
        "NYCTAXI_LOG_FILE": str(tmp_path / "job.log"),
        "NYCTAXI_JARS_DIR": str(PROJECT_ROOT / "jars" / "lib"),
    }
    conn = json.dumps({"conn_type": "spark", "host": "spark://127.0.0.1", "port": 7077})
    done = subprocess.run(
        [str(AIRFLOW_BIN / "python"), "-c", SUBMIT_PROBE.format(dags=str(DAGS), dag_id=DAG_ID)],
        env=airflow_env(tmp_path, {**same, "AIRFLOW_CONN_SPARK_DEFAULT": conn}),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    dag_commands = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(dag_commands) == {name for name, job in JOBS.items() if job.spark}
    job_args = {
        "train": ["--train-months", "2025-02", "--eval-month", "2025-03", "--skip-missing"],
        "score": ["--month", "2025-03", "--skip-missing"],
        "monitor": ["--reference", "champion", "--current", "2025-03", "--skip-missing"],
    }
    env = {**os.environ, **same, "NYCTAXI_SPARK_MASTER": master}
    for job, command in dag_commands.items():
        args = ["--service", "green", *job_args.get(job, ["--month", "2025-03"])]
        dry = subprocess.run(
            [sys.executable, "-m", "nyctaxi", "submit", job, *args, "--dry-run"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert dry.returncode == 0, dry.stderr[-2000:]
        expected = submission(shlex.split(dry.stdout.strip().splitlines()[-1]))
        assert submission(command) == expected, job
        assert expected["--master"] == master and expected["args"] == [job, *args]
        assert "-Duser.timezone=UTC" in expected["conf"]["spark.driver.extraJavaOptions"]


def test_dag_file_imports_only_airflow_at_top_level():
    source = (DAGS / f"{DAG_ID}_dag.py").read_text()
    top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    allowed = (
        "from __future__",
        "import os",
        "from datetime",
        "from pathlib",
        "import pendulum",
        "from airflow",
    )
    assert top_level and all(line.startswith(allowed) for line in top_level), top_level
