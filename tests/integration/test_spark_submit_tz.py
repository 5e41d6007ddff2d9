"""The jobs' entry point through real spark-submit on a machine in New York time (the rest of the
suite runs in the machine's own zone): the gold hour-of-day histogram equals the wall-clock hours of the source file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nyctaxi.ingest.bronze import ingest_local_file, ingest_zone_lookup
from nyctaxi.lake import Lake, read_json
from nyctaxi.months import Month
from nyctaxi.tables import read_partition, table_version
from tests.conftest import make_settings, shared_file
from tests.expected import silver_rows
from tests.integration.contract_reference import silver_hour_histogram
from tests.pipeline import settings_env

NYCTAXI = str(Path(sys.executable).with_name("nyctaxi"))
MONTH = Month.parse("2025-01")


@pytest.mark.slow
def test_same_hours_on_a_machine_in_new_york_time(spark, tmp_path):
    source = shared_file("green_tripdata_2025-01.parquet")
    settings = make_settings(tmp_path)
    ingest_local_file(settings, str(source), "green", MONTH)
    ingest_zone_lookup(settings)
    env = {**settings_env(settings), "TZ": "America/New_York"}
    for job in ("preprocess", "features"):
        done = subprocess.run(
            [NYCTAXI, "submit", job, "--service", "green", "--month", str(MONTH)],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert f"{job} green 2025-01: succeeded" in done.stdout
    report = read_json(Lake.from_settings(settings).report("features", "green", MONTH))
    assert report["engine"] == "local[2]"
    uri = Lake.from_settings(settings).table("trip_features")
    gold = read_partition(spark, uri, "green", MONTH, table_version(spark, uri))
    hours = {r["pickup_hour"]: r["count"] for r in gold.groupBy("pickup_hour").count().collect()}
    assert hours == silver_hour_histogram(source, str(MONTH))
    assert sum(hours.values()) == silver_rows("green_tripdata_2025-01.parquet")
