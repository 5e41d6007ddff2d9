"""The production stack cannot run here (no Docker engine): check what can be checked. The compose
file against the Compose Specification's JSON schema, and every name, path and port it and the
Dockerfiles use against the code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

from nyctaxi.config import Settings
from tests.conftest import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
SCHEMA = PROJECT_ROOT / "jars" / "tools" / "compose-spec.json"
DOCKERFILES = {
    "project": PROJECT_ROOT / "docker" / "Dockerfile",
    **{
        name: PROJECT_ROOT / "docker" / "local" / f"{name}.Dockerfile" for name in ("postgres", "redis", "s3")
    },
}
# Every service but the third-party servers runs the project image.
THIRD_PARTY = {"postgres": "POSTGRES_IMAGE", "redis": "REDIS_IMAGE", "minio": "S3_IMAGE"}
DAG = PROJECT_ROOT / "airflow" / "dags" / "nyc_taxi_etl_production_dag.py"
DAG_VARIABLES = {
    "NYCTAXI_HOME",  # the DAG's fallback for a checkout; the image sets the variables below
    "NYCTAXI_PYTHON",
    "NYCTAXI_SPARK_SUBMIT",
    "NYCTAXI_JARS_DIR",
    "NYCTAXI_TASK_RETRIES",
    "NYCTAXI_TASK_RETRY_DELAY_S",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_matches_the_compose_specification(compose):
    if not SCHEMA.is_file():
        pytest.fail(f"{SCHEMA} missing: run `make tools`")
    errors = list(jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).iter_errors(compose))
    assert [f"{e.json_path}: {e.message}" for e in errors] == []


def test_services_of_the_design_with_health_checks_and_order(compose):
    services = compose["services"]
    expected = {
        "postgres", "redis", "minio", "bucket-init", "spark-master", "spark-worker", "airflow-init",
        "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
        "airflow-worker", "mlflow",
        "serving",
    }  # fmt: skip
    assert set(services) == expected
    long_running = expected - {"bucket-init", "airflow-init"}
    assert all("healthcheck" in services[name] for name in long_running)
    # podman's Docker API (4.3) splits exec-form arguments at spaces: such a check never passes.
    for name in long_running:
        test = services[name]["healthcheck"]["test"]
        assert test[0] == "CMD-SHELL" or not any(" " in arg for arg in test), (name, test)
    assert services["airflow-worker"]["depends_on"]["spark-master"]["condition"] == "service_healthy"
    assert services["bucket-init"]["depends_on"]["minio"]["condition"] == "service_healthy"
    assert services["airflow-worker"]["depends_on"]["mlflow"]["condition"] == "service_healthy"
    # MLflow's store is its own database, created by the Postgres init script the compose mounts.
    init = PROJECT_ROOT / "docker" / "postgres-init" / "10-mlflow-database.sql"
    assert "CREATE DATABASE mlflow;" in init.read_text()
    assert "./docker/postgres-init:/docker-entrypoint-initdb.d:ro" in services["postgres"]["volumes"]
    assert "@postgres:5432/mlflow" in " ".join(services["mlflow"]["command"])


def test_ports_are_the_documented_ones(compose):
    ports = {name: service.get("ports", []) for name, service in compose["services"].items()}
    assert all(p.startswith("127.0.0.1:") for published in ports.values() for p in published), ports
    published = {name: {int(p.split(":")[1]) for p in given} for name, given in ports.items()}
    assert published["airflow-apiserver"] == {8080}
    assert published["spark-master"] == {8081, 7077}
    assert published["spark-worker"] == {8082}
    assert published["minio"] == {9000, 9001}
    assert published["mlflow"] == {5000}
    assert published["serving"] == {8000}
    serve = compose["services"]["serving"]["entrypoint"]
    assert serve[serve.index("--port") + 1] == "8000" and serve[1:3] == ["serve", "--host"]
    assert compose["services"]["serving"]["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert compose["x-airflow-common"]["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    mlflow = compose["services"]["mlflow"]["command"]
    assert mlflow[mlflow.index("--port") + 1] == "5000"
    assert (
        mlflow[mlflow.index("--artifacts-destination") + 1]
        == compose["x-lake-env"]["NYCTAXI_MLFLOW_ARTIFACTS"]
    )
    master = compose["services"]["spark-master"]["command"]
    assert master[master.index("--port") + 1] == "7077" and master[master.index("--webui-port") + 1] == "8081"
    connection = json.loads(compose["x-airflow-common"]["environment"]["AIRFLOW_CONN_SPARK_DEFAULT"])
    assert (connection["host"], connection["port"]) == ("spark://spark-master", 7077)
    assert compose["x-lake-env"]["NYCTAXI_S3_ENDPOINT"] == "http://minio:9000"


def test_every_nyctaxi_variable_is_a_setting_or_a_dag_variable():
    text = COMPOSE.read_text() + "".join(p.read_text() for p in DOCKERFILES.values()) + DAG.read_text()
    used = set(re.findall(r"\bNYCTAXI_[A-Z0-9_]*[A-Z0-9]\b", text))
    settings = {f"NYCTAXI_{name.upper()}" for name in Settings.model_fields}
    assert used - settings - DAG_VARIABLES == set()
    assert {"NYCTAXI_LAKE_BRONZE", "NYCTAXI_LAKE_SILVER", "NYCTAXI_LAKE_GOLD", "NYCTAXI_S3_ENDPOINT"} <= used


def test_secrets_only_from_the_environment_and_named_in_env_example():
    text = COMPOSE.read_text()
    # "$${X}" is the container's own variable, not compose interpolation
    referenced = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))
    example = (PROJECT_ROOT / ".env.example").read_text().splitlines()
    names = {line.split("=", 1)[0] for line in example if line and not line.startswith("#")}
    assert referenced <= names
    assert all(line.endswith("=") for line in example if line and not line.startswith("#")), "names only"
    for key in ("PASSWORD", "SECRET", "FERNET"):
        for line in text.splitlines():
            name = line.split(":", 1)[0]
            if (
                key in line
                and ":" in line
                and not line.strip().startswith("#")
                and not name.endswith("_FILE")
            ):
                assert "${" in line, f"a literal secret in docker-compose.yml: {line.strip()}"


def test_images_build_from_one_debian_base_with_existing_sources(compose):
    """The project image and the third-party stand-ins all start from the same Debian base; the
    compose file names third-party servers by image variables defaulting to the official images."""
    for name, path in DOCKERFILES.items():
        dockerfile = path.read_text()
        assert "ARG BASE_IMAGE=debian:bookworm-slim" in dockerfile, name
        assert re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)[0] == "${BASE_IMAGE}", name
        context = PROJECT_ROOT if name == "project" else path.parent
        for line in dockerfile.splitlines():
            if line.startswith("COPY ") and "--from=" not in line:
                sources = [part for part in line.split()[1:-1] if not part.startswith("--")]
                staged = {"s3proxy.jar"}  # copied in by scripts/stack.sh from `make tools`
                assert all((context / s).exists() or s in staged for s in sources), (name, line)
    for service, variable in THIRD_PARTY.items():
        assert compose["services"][service]["image"].startswith(f"${{{variable}:-"), service


def test_the_image_is_built_from_the_wheel_the_lock_and_the_jars():
    project = DOCKERFILES["project"].read_text()
    assert "COPY jars/lib /opt/nyctaxi/jars/lib" in project
    assert "pip wheel --no-deps" in project
    assert '-c requirements.lock "nyctaxi[stack] @ file://$wheel"' in project
    assert "-c requirements-airflow.lock -r requirements-airflow.txt" in project
    done = subprocess.run(["make", "-n", "-B", "jars"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _image_venv(dockerfile: str) -> str:
    """The project venv's folder, as the Dockerfile creates it."""
    return re.search(r"python3\.11 -m venv (/opt/nyctaxi/\S+)", dockerfile).group(1)


def _airflow_venv(dockerfile: str) -> str:
    return re.search(r"python3\.11 -m venv (/opt/airflow/\S+)", dockerfile).group(1)


def exists_in_image(path: str, dockerfile: str) -> bool:
    """Whether the image the Dockerfile builds has ``path``, derived from what the Dockerfile does:
    its venv (``bin/``: Python, pip and the package's console scripts; ``site-packages``: what the
    lock installs, which this machine's venv has at the same relative path), the folders its COPY
    and ``mkdir`` lines create."""
    venv = _image_venv(dockerfile)
    scripts = set(tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["scripts"])
    if path in (f"{venv}/bin", f"{_airflow_venv(dockerfile)}/bin"):
        return True
    if path.startswith(f"{venv}/bin/"):  # the package's scripts and those of what it installs
        return path.removeprefix(f"{venv}/bin/") in {"python", "pip", "mlflow", *scripts}
    if path.startswith(f"{_airflow_venv(dockerfile)}/bin/"):
        return path.removeprefix(f"{_airflow_venv(dockerfile)}/bin/") in {"python", "pip", "airflow"}
    packages = f"{venv}/lib/python3.11/site-packages/"
    if path.startswith(packages):
        return (Path(sysconfig.get_paths()["purelib"]) / path.removeprefix(packages)).exists()
    copied = re.findall(r"^COPY (?:--\S+ )*\S+ (/\S+)$", dockerfile, re.MULTILINE)
    made = [f for line in re.findall(r"mkdir -p ([^&\n]+)", dockerfile) for f in line.split()]
    # a folder made or copied, something inside one, or a folder above one
    return any(
        path.startswith(folder + "/") or (folder + "/").startswith(path + "/") for folder in copied + made
    )


def test_every_interpreter_and_program_path_exists_in_the_image_that_runs_it(compose):
    """Executors run the driver's Python only if the worker's image has it: every /opt path a
    service of the project image runs, and every path the image's environment names (the DAG's
    NYCTAXI_PYTHON, the executors' PYSPARK_PYTHON …), exists in that image."""
    dockerfile = DOCKERFILES["project"].read_text()
    assert sys.version_info[:2] == (3, 11) and "python3.11 -m venv" in dockerfile, (
        "venv layout is Python 3.11's"
    )
    services = compose["services"]
    project = {name for name in services if name not in THIRD_PARTY}
    assert {services[name]["image"] for name in project} == {"nyctaxi:latest"}
    assert {services[name]["build"]["dockerfile"] for name in project} == {"docker/Dockerfile"}
    named = []
    for name in project:
        service = services[name]
        health = service.get("healthcheck", {}).get("test", [])
        for part in [*service.get("entrypoint", []), *service.get("command", []), *health]:
            named += [(name, p) for p in re.findall(r"/opt/\S+", str(part))]
    environment = dict(re.findall(r"(\w+)=(/opt/\S+)", dockerfile))
    named += [
        (f"ENV {key}", path)
        for key, value in environment.items()
        for path in value.split(":")  # PATH's folders too
        if path.startswith("/opt/")
    ]
    assert {"NYCTAXI_PYTHON", "PYSPARK_PYTHON", "NYCTAXI_SPARK_SUBMIT", "NYCTAXI_JARS_DIR"} <= set(
        environment
    )
    assert (
        "spark-worker",
        f"{_image_venv(dockerfile)}/lib/python3.11/site-packages/pyspark/bin/spark-class",
    ) in named
    missing = [(who, path) for who, path in named if not exists_in_image(path, dockerfile)]
    assert missing == [], missing
    # the DAG's interpreter and spark-submit come from that environment, not its checkout defaults
    dag = DAG.read_text()
    assert all(
        re.search(rf'os\.environ\.get\(\s*"{key}"', dag) for key in ("NYCTAXI_PYTHON", "NYCTAXI_SPARK_SUBMIT")
    )
