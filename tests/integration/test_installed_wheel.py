"""The package deploys anywhere: its wheel, installed in a fresh virtualenv outside the checkout,
runs the pipeline from an empty folder (`nyctaxi run`), then a job through real spark-submit
(`nyctaxi submit`), on a machine in New York time (the rest of the suite runs in the machine's own
zone): the gold hour-of-day histogram equals the wall-clock hours of the source file.

No network: the fresh venv gets the package only from the wheel (`pip install --no-deps`), and its
dependencies by a path entry to the project venv's site-packages, which holds exactly the locked
versions (a path entry, so that venv's editable install of nyctaxi is not visible)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from nyctaxi.lake import Lake
from nyctaxi.months import Month
from nyctaxi.tables import read_partition, table_version
from tests.conftest import PROJECT_ROOT, SHARED_TLC, make_settings, shared_file
from tests.expected import silver_rows
from tests.integration.contract_reference import silver_hour_histogram
from tests.pipeline import SHORT_JOB_JVM

MONTH = Month.parse("2025-01")


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: int = 600) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command}: {done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel built from this checkout; returns its bin folder."""
    root = tmp_path_factory.mktemp("wheel")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(root)}
    # Built from a copy of what the wheel is made of: setuptools builds in the source tree's build/,
    # whose leftovers (a deleted module) would otherwise end up in the next wheel.
    source = root / "source"
    shutil.copytree(
        PROJECT_ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_ROOT / name, source / name)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(root / "dist"),
         str(source)], root, env)  # fmt: skip
    [wheel] = (root / "dist").glob("nyctaxi-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "nyctaxi/log4j2.properties" in names and "nyctaxi/jobs/__main__.py" in names
    assert not [n for n in names if n.startswith(("spark_jobs/", "tests/", "conf/"))]
    venv = root / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], root, env)
    site = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    (site / "locked-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--no-deps",
         "--no-index", str(wheel)], root, env)  # fmt: skip
    where = run([str(venv / "bin" / "python"), "-c", "import nyctaxi; print(nyctaxi.__file__)"], root, env)
    assert where.strip().startswith(str(site)), f"nyctaxi imported from {where}, not the wheel"
    return venv / "bin"


@pytest.mark.slow
def test_the_wheel_runs_the_pipeline_and_spark_submit_from_an_empty_folder(spark, installed, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    env = {
        "TZ": "America/New_York",
        "PATH": f"{installed}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "NYCTAXI_TLC_BASE_URL": str(SHARED_TLC),  # the shared mirror stands in for the TLC site
        "NYCTAXI_JARS_DIR": str(PROJECT_ROOT / "jars" / "lib"),  # from settings, not the package
        "NYCTAXI_SPARK_MASTER": "local[2]",
        "NYCTAXI_SPARK_SHUFFLE_PARTITIONS": "4",
        "NYCTAXI_SPARK_JAVA_OPTIONS": SHORT_JOB_JVM,
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    args = ["--service", "green", "--month", str(MONTH)]
    said = run([str(installed / "nyctaxi"), "run", *args], folder, env)
    assert "preprocess green 2025-01: succeeded" in said and "features green 2025-01: succeeded" in said
    # the embedded defaults live under the working folder: lake/, mlflow.db, logs/
    settings = make_settings(folder)
    assert Path(settings.lake_gold, "trip_features").is_dir()
    # `nyctaxi submit` runs the same job module for every job: features (silver → gold, where the
    # hours are taken) stands for them all
    said = run([str(installed / "nyctaxi"), "submit", "features", *args], folder, env)
    assert "features green 2025-01: succeeded" in said
    report = Lake.from_settings(settings).read_json(
        Lake.from_settings(settings).report("features", "green", MONTH)
    )
    assert report["engine"] == "local[2]" and report["status"] == "succeeded"
    uri = Lake.from_settings(settings).table("trip_features")
    gold = read_partition(spark, uri, "green", MONTH, table_version(spark, uri))
    hours = {r["pickup_hour"]: r["count"] for r in gold.groupBy("pickup_hour").count().collect()}
    source = shared_file("green_tripdata_2025-01.parquet")
    assert hours == silver_hour_histogram(source, str(MONTH))
    assert sum(hours.values()) == silver_rows("green_tripdata_2025-01.parquet")
