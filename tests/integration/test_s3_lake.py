"""All three layer roots on a real S3-compatible server (S3Proxy on 127.0.0.1): ingestion writes
bronze objects + manifests over the S3 API, the Spark jobs read and write Delta over s3a, and the
tables equal those of a local-folder lake."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import fsspec
import pytest

from nyctaxi.jobs import features, preprocess
from nyctaxi.lake import Lake, read_json
from nyctaxi.months import Month
from tests.conftest import SHARED_TLC, make_settings, shared_file
from tests.pipeline import prepare, settings_env
from tests.tables import assert_same_tables

NYCTAXI = str(Path(sys.executable).with_name("nyctaxi"))
MONTH = Month.parse("2025-01")


@pytest.mark.slow
def test_pipeline_on_s3_equals_local(spark, s3_server, tmp_path):
    run = uuid.uuid4().hex[:8]
    s3 = make_settings(
        tmp_path,
        lake_bronze=f"s3://bronze/{run}",
        lake_silver=f"s3a://silver/{run}",  # either scheme is accepted for a root
        lake_gold=f"s3://gold/{run}",
        s3_endpoint=s3_server.endpoint,
    )
    env = {
        **settings_env(s3),
        **s3_server.env(),
        "NYCTAXI_LAKE_BRONZE": s3.lake_bronze,
        "NYCTAXI_LAKE_SILVER": s3.lake_silver,
        "NYCTAXI_LAKE_GOLD": s3.lake_gold,
        "NYCTAXI_TLC_BASE_URL": str(SHARED_TLC),
    }
    for args in (
        ["storage", "init"],
        ["ingest", "--service", "green", "--month", str(MONTH)],
        ["submit", "preprocess", "--service", "green", "--month", str(MONTH)],
        ["submit", "features", "--service", "green", "--month", str(MONTH)],
    ):
        done = subprocess.run([NYCTAXI, *args], env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{args}: {done.stderr[-3000:]}"
    assert (
        "buckets ready: bronze, silver, gold"
        in subprocess.run([NYCTAXI, "storage", "init"], env=env, capture_output=True, text=True).stdout
    ), "init is idempotent"

    lake = Lake.from_settings(s3)
    bronze = f"{lake.bronze_dir('green', MONTH)}/green_tripdata_2025-01.parquet"
    with fsspec.open(bronze, "rb") as handle:
        assert handle.read() == shared_file("green_tripdata_2025-01.parquet").read_bytes()
    assert read_json(bronze + ".manifest.json")["sha256"].startswith("84f3a121")
    report = read_json(lake.report("features", "green", MONTH))
    assert report["status"] == "succeeded" and report["outputs"][0]["uri"] == f"s3://gold/{run}/trip_features"

    local = make_settings(tmp_path / "local")
    prepare(local)
    preprocess.run(spark, local, "green", MONTH)
    features.run(spark, local, "green", MONTH)
    assert_same_tables(spark, local, s3, "green", MONTH)


def test_wrong_credentials_are_refused(s3_server, tmp_path):
    import s3fs

    good = s3fs.S3FileSystem(endpoint_url=s3_server.endpoint)
    good.call_s3("create_bucket", Bucket="creds-check")
    bad = s3fs.S3FileSystem(endpoint_url=s3_server.endpoint, key="nobody", secret="wrong")
    with pytest.raises(PermissionError):
        bad.ls("creds-check", refresh=True)
