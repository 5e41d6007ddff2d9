"""What a module loads is part of its interface: serving and monitoring's pure parts run where
no JVM or Spark is installed, a preprocess run pays for no ML stack, and importing any module
changes nothing in the process (no environment variables, no plotting backend)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Run in a fresh interpreter: records every `import pyspark…` statement and the module that made
# it (``__import__``'s globals name the importer), then prints what the code loaded.
PROBE = """
import builtins, json, os, sys
importers, _import = set(), builtins.__import__
def watched(name, globals=None, locals=None, fromlist=(), level=0):
    if name.split(".")[0] == "pyspark" and level == 0:
        importers.add((globals or {}).get("__name__", "?"))
    return _import(name, globals, locals, fromlist, level)
builtins.__import__ = watched
%(before)s
environ = dict(os.environ)
%(code)s
print(json.dumps({
    "modules": sorted({m.split(".")[0] for m in sys.modules} | {m for m in sys.modules if m.startswith("matplotlib.")}),
    "pyspark_importers": sorted(importers),
    "environ": sorted(k for k in set(environ) | set(os.environ) if environ.get(k) != os.environ.get(k)),
}))
"""


def loaded_after(code: str, before: str = "") -> dict:
    """What ``code`` loaded in a fresh interpreter, which modules imported pyspark, and which
    environment variables it changed (``before`` runs first and is not counted)."""
    probe = PROBE % {"code": code, "before": before}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "code",
    [
        "import nyctaxi.contract, nyctaxi.ml.vectors, nyctaxi.ml.model",
        "import nyctaxi.monitoring.drift, nyctaxi.monitoring.alerts",
        # the CLI's whole argument parsing: every command and its options built
        "import typer.main, nyctaxi.cli; typer.main.get_command(nyctaxi.cli.app)",
        # the spark-submit files' argument parsing
        "import nyctaxi.jobs; nyctaxi.jobs.JOBS['train'].parse(['--service', 'green', '--train-months', '2025-01', '--eval-month', '2025-02'])",
    ],
)
def test_no_spark_where_spark_does_not_run(code):
    assert "pyspark" not in loaded_after(code)["modules"]


def test_serving_imports_no_spark():
    """Serving needs MLflow's client, and MLflow itself probes ``import pyspark`` when it is
    installed (mlflow/types/schema.py); none of our modules imports it."""
    loaded = loaded_after("import nyctaxi.serving.app")
    assert not [name for name in loaded["pyspark_importers"] if name.startswith("nyctaxi")]
    assert "fastapi" in loaded["modules"] and "mlflow" in loaded["modules"], "the probe saw the app load"


def test_a_preprocess_run_loads_no_ml_stack():
    loaded = loaded_after("import nyctaxi.jobs, nyctaxi.jobs.preprocess, nyctaxi.jobs.features")["modules"]
    assert "pyspark" in loaded, "the probe imported the job modules"
    assert not {"mlflow", "xgboost", "pandera", "evidently", "sklearn"} & set(loaded)


def test_importing_every_module_changes_nothing_in_the_process():
    """Our modules set no environment variable and no plotting backend at import. Third-party
    libraries that do so themselves at import (scikit-learn, pandera) are loaded first."""
    libraries = "import sklearn, pandera.pyspark, mlflow, evidently, xgboost, pyspark.sql"
    code = (
        "import pkgutil, importlib, nyctaxi\n"
        "for info in pkgutil.walk_packages(nyctaxi.__path__, 'nyctaxi.'):\n"
        "    importlib.import_module(info.name)"
    )
    loaded = loaded_after(code, before=libraries)
    assert "nyctaxi" in loaded["modules"] and "fastapi" in loaded["modules"], "every module was imported"
    assert loaded["environ"] == [], "os.environ changed by an import"
    assert "matplotlib.pyplot" not in loaded["modules"], "pyplot (a global plotting backend) loaded"


def test_serving_metrics_work_after_the_feature_store_is_imported():
    """Feast's import sets prometheus_client's multiprocess directory (put back by our import):
    serving's metrics, created after it in the same process, count in-process all the same."""
    code = """
import json, nyctaxi.feature_store
from nyctaxi.serving.app import Metrics
metrics = Metrics()
from prometheus_client import generate_latest
print(json.dumps({"text": generate_latest(metrics.registry).decode()}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "nyctaxi_model_version" in json.loads(done.stdout.strip().splitlines()[-1])["text"]


def test_the_model_registry_sets_no_process_wide_mlflow_state(tmp_path):
    """The registry object talks to its own store (a local SQLite twin here): creating the
    experiment and logging a run inside ``tracking()`` leave MLflow's process-wide tracking and
    registry URIs, and the environment, as they were."""
    code = f"""
import json, os, mlflow
before = (mlflow.get_tracking_uri(), mlflow.get_registry_uri(), dict(os.environ))
from nyctaxi.ml.registry import ModelRegistry
models = ModelRegistry("sqlite:///{tmp_path}/mlflow.db", "twin", "{tmp_path}/artifacts")
with models.tracking(), mlflow.start_run(experiment_id=models.experiment_id()) as run:
    mlflow.log_metric("rmse", 1.5)
    inside = mlflow.get_tracking_uri()
after = (mlflow.get_tracking_uri(), mlflow.get_registry_uri(), dict(os.environ))
logged = models.client.get_run(run.info.run_id).data.metrics
print(json.dumps({{"same": before == after, "inside": inside, "logged": logged}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"same": True, "inside": f"sqlite:///{tmp_path}/mlflow.db", "logged": {"rmse": 1.5}}


def test_the_lake_sets_no_process_wide_object_store_options():
    """The endpoint is held by the lake's ObjectStore and given to each filesystem it opens;
    fsspec's process-wide config (what every other s3:// user in the process gets) is untouched."""
    code = """
import copy, json, fsspec
before = copy.deepcopy(fsspec.config.conf)
from nyctaxi.config import Settings
from nyctaxi.lake import Lake
lake = Lake.from_settings(Settings(lake_bronze="s3://bronze", s3_endpoint="http://127.0.0.1:9"))
fs, path = lake.store.fs(lake.bronze_dir("green", __import__("nyctaxi.months").months.Month(2025, 1)))
print(json.dumps({"same": fsspec.config.conf == before, "endpoint": fs.endpoint_url, "path": path}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"same": True, "endpoint": "http://127.0.0.1:9", "path": "bronze/green/2025"}
