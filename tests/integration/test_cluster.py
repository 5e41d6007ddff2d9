"""A real Spark standalone master + worker on 127.0.0.1 (ephemeral ports): the jobs submitted to it
with spark-submit give exactly the tables local mode gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nyctaxi import cluster
from nyctaxi.jobs import features, preprocess
from nyctaxi.lake import Lake, read_json
from nyctaxi.months import Month
from tests.conftest import make_settings
from tests.pipeline import prepare, settings_env
from tests.tables import assert_same_tables

NYCTAXI = str(Path(sys.executable).with_name("nyctaxi"))
MONTH = Month.parse("2025-01")


@pytest.mark.slow
def test_cluster_results_equal_local_mode(spark, standalone, tmp_path):
    on_cluster = standalone
    prepare(on_cluster)
    env = {**settings_env(on_cluster), "NYCTAXI_SPARK_MASTER": on_cluster.spark_master}
    for job in ("preprocess", "features"):
        done = subprocess.run(
            [NYCTAXI, "submit", job, "--service", "green", "--month", str(MONTH)],
            env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        report = read_json(Lake.from_settings(on_cluster).report(job, "green", MONTH))
        assert report["engine"] == on_cluster.spark_master and report["status"] == "succeeded"

    local = make_settings(tmp_path / "local")
    prepare(local)
    preprocess.run(spark, local, "green", MONTH)
    features.run(spark, local, "green", MONTH)

    assert_same_tables(spark, local, on_cluster, "green", MONTH)
    status = cluster.status(on_cluster)
    assert status.workers and status.workers[0]["state"] == "ALIVE"
