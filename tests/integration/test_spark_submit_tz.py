"""The spark_jobs/ files through real spark-submit, under two machine time zones: the gold
hour-of-day histogram is the same and equals the wall-clock hours of the source file."""

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
def test_same_hours_under_utc_and_new_york(spark, tmp_path):
    source = shared_file("green_tripdata_2025-01.parquet")
    histograms = {}
    for zone in ("UTC", "America/New_York"):
        settings = make_settings(tmp_path / zone.replace("/", "_"))
        ingest_local_file(settings, str(source), "green", MONTH)
        ingest_zone_lookup(settings)
        env = {**settings_env(settings), "TZ": zone}
        for job in ("preprocess", "features"):
            done = subprocess.run(
                [NYCTAXI, "submit", job, "--service", "green", "--month", str(MONTH)],
                env=env, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr[-3000:]
            assert f"{job} green 2025-01: succeeded" in done.stdout
        report = read_json(Lake.from_settings(settings).report("features", "green", MONTH))
        assert report["engine"] == "local[2]"
        uri = Lake.from_settings(settings).gold_table("trip_features")
        gold = read_partition(spark, uri, "green", MONTH, table_version(spark, uri))
        histograms[zone] = {
            r["pickup_hour"]: r["count"] for r in gold.groupBy("pickup_hour").count().collect()
        }

    assert histograms["UTC"] == histograms["America/New_York"]
    assert histograms["UTC"] == silver_hour_histogram(source, str(MONTH))
    assert sum(histograms["UTC"].values()) == silver_rows("green_tripdata_2025-01.parquet")
