"""The synthetic source: era-true schemas, determinism, and defects the pipeline catches —
checked through the same independent contract reading as the real files (Parquet and .csv.gz)."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nyctaxi.contract import REASON_CODES
from nyctaxi.ingest.bronze import ingest_local_file
from nyctaxi.ingest.synthetic import INJECTED_CODES, SynthSpec, arrow_schema, write_synthetic
from nyctaxi.jobs import preprocess
from nyctaxi.months import Month
from tests.conftest import PYSPARK_PYTHON_AT_START, make_settings
from tests.integration.contract_reference import contract_counts


def test_schema_drift_by_era():
    old = arrow_schema("yellow", Month.parse("2022-06"))
    assert "airport_fee" in old.names and "cbd_congestion_fee" not in old.names
    assert old.field("passenger_count").type == pa.float64() and old.field("VendorID").type == pa.int64()
    y2024 = arrow_schema("yellow", Month.parse("2024-01"))
    assert "Airport_fee" in y2024.names and y2024.field("PULocationID").type == pa.int32()
    g2025 = arrow_schema("green", Month.parse("2025-01"))
    assert (
        g2025.field("passenger_count").type == pa.int64()
        and g2025.field("store_and_fwd_flag").type == pa.large_string()
    )
    assert (
        g2025.names[-1] == "cbd_congestion_fee" and "ehail_fee" in g2025.names and "trip_type" in g2025.names
    )


def test_same_seed_same_bytes(tmp_path):
    digests = []
    for run in ("a", "b", "c"):
        path = tmp_path / f"{run}.parquet"
        write_synthetic(
            SynthSpec("green", Month.parse("2025-01"), 20_000, seed=7 if run != "c" else 8), str(path)
        )
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
    assert digests[0] == digests[1] != digests[2]


def test_realistic_shape(tmp_path):
    path = tmp_path / "y.parquet"
    write_synthetic(SynthSpec("yellow", Month.parse("2024-01"), 50_000, defect_rate=0.0), str(path))
    table = pq.read_table(path).to_pandas()
    hours = table["tpep_pickup_datetime"].dt.hour.value_counts(normalize=True)
    assert hours[18] > 3 * hours[4], "evening peak over the night lull"
    assert table["PULocationID"].value_counts().index[0] in (237, 236, 161)
    minutes = (table["tpep_dropoff_datetime"] - table["tpep_pickup_datetime"]).dt.total_seconds() / 60
    assert (
        minutes.corr(table["trip_distance"]) > 0.7 and table["fare_amount"].corr(table["trip_distance"]) > 0.9
    )
    assert 0.02 < table["passenger_count"].isna().mean() < 0.04, "the TLC null block"


@pytest.mark.parametrize(
    ("service", "month", "suffix"), [("yellow", "2024-01", ".parquet"), ("green", "2025-01", ".csv.gz")]
)
def test_injected_defects_are_caught_as_the_contract_says(spark, tmp_path, service, month, suffix):
    m = Month.parse(month)
    name = f"{service}_tripdata_{month}{suffix}"
    spec = SynthSpec(service, m, 100_000, seed=3, defect_rate=0.004)
    if suffix == ".csv.gz":
        plain = tmp_path / name.removesuffix(".gz")
        injected = write_synthetic(spec, str(plain))
        with open(plain, "rb") as src, gzip.open(tmp_path / name, "wb") as dst:
            shutil.copyfileobj(src, dst)
        reference = contract_counts(plain, month)
    else:
        injected = write_synthetic(spec, str(tmp_path / name))
        reference = contract_counts(tmp_path / name, month)
    settings = make_settings(tmp_path)
    ingest_local_file(settings, str(tmp_path / name), service, m)
    report = preprocess.run(spark, settings, service, m)
    assert report.reasons == {code: reference[code] for code in REASON_CODES}
    assert report.rows_out == reference["silver"] and report.rows_in == 100_000
    for code in INJECTED_CODES:  # every rule sees at least the rows aimed at it
        assert report.reasons[code] >= injected[code] == 400, code


def test_python_workers_run_this_interpreter_and_the_environment_is_left_as_found(spark):
    """The session's Python workers (pandas UDFs, XGBoost) run the driver's interpreter, and
    building the session did not set PYSPARK_PYTHON for the rest of the process."""
    workers = set(spark.sparkContext.parallelize(range(2), 2).map(lambda _: sys.executable).collect())
    assert workers == {PYSPARK_PYTHON_AT_START or sys.executable}
    assert os.environ.get("PYSPARK_PYTHON") == PYSPARK_PYTHON_AT_START
