"""All three layer roots on a real S3-compatible server (S3Proxy on 127.0.0.1): ingestion writes
bronze objects + manifests over the S3 API, the Spark jobs read and write Delta over s3a, and the
tables equal those of a local-folder lake."""

from __future__ import annotations

import pytest

from nyctaxi.lake import Lake
from nyctaxi.months import Month
from tests.conftest import make_settings, shared_file
from tests.tables import assert_same_tables

MONTH = Month.parse("2025-01")


@pytest.mark.slow
def test_pipeline_on_s3_equals_local(spark, s3_pipeline, real_gold):
    """January on S3 holds the same silver and gold as in the session's local real lake (built
    there by the same jobs: January first, and February never rewrites it)."""
    s3 = s3_pipeline.settings
    assert "buckets ready: bronze, silver, gold" in s3_pipeline.outputs[-1], "init is idempotent"

    lake = Lake.from_settings(s3)
    bronze = f"{lake.bronze_dir('green', MONTH)}/green_tripdata_2025-01.parquet"
    fs, path = lake.store.fs(bronze)
    assert fs.cat_file(path) == shared_file("green_tripdata_2025-01.parquet").read_bytes()
    assert lake.read_json(bronze + ".manifest.json")["sha256"].startswith("84f3a121")
    report = lake.read_json(lake.report("features", "green", MONTH))
    assert report["status"] == "succeeded" and report["outputs"][0]["uri"] == f"{s3.lake_gold}/trip_features"

    assert_same_tables(spark, real_gold, s3, "green", MONTH)


def test_wrong_credentials_are_refused(s3_server, tmp_path):
    import s3fs

    good = s3fs.S3FileSystem(endpoint_url=s3_server.endpoint)
    good.call_s3("create_bucket", Bucket="creds-check")
    bad = s3fs.S3FileSystem(endpoint_url=s3_server.endpoint, key="nobody", secret="wrong")
    with pytest.raises(PermissionError):
        bad.ls("creds-check", refresh=True)


def test_csv_header_is_read_from_an_object_store(s3_server, tmp_path):
    """A CSV's header is read through fsspec before Spark reads the file; an object store's files
    are buffered files that take no ``readline`` limit (a CSV month on S3 failed with a TypeError)."""
    import s3fs

    from nyctaxi.readers import csv_header

    s3fs.S3FileSystem(endpoint_url=s3_server.endpoint).call_s3("create_bucket", Bucket="csv-header")
    lake = Lake.from_settings(
        make_settings(tmp_path, lake_bronze="s3://csv-header", s3_endpoint=s3_server.endpoint)
    )
    uri = f"{lake.bronze}/green_tripdata_2025-03.csv"
    lake.write_bytes_atomic(uri, b"\xef\xbb\xbfVendorID, fare_amount\r\n1,2.5\r\n")
    assert csv_header(lake.store, uri, "green_tripdata_2025-03.csv") == ["VendorID", "fare_amount"]
