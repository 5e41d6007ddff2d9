"""Bad input gets one clear `error:` line and a non-zero exit, never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_TLC, make_settings, shared_file
from tests.pipeline import settings_env

NYCTAXI = str(Path(sys.executable).with_name("nyctaxi"))


def nyctaxi(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**settings_env(make_settings(tmp_path)), "NYCTAXI_TLC_BASE_URL": str(SHARED_TLC)}
    return subprocess.run(
        [NYCTAXI, *args], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )


def single_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "Exception" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, done.stderr
    return errors[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["preprocess", "--service", "blue", "--month", "2025-01"], "error: unknown service 'blue': expected one of yellow, green"),
        (["preprocess", "--service", "green", "--month", "2025-13"], "error: month '2025-13' is not of the form YYYY-MM"),
        (["ingest", "--service", "green", "--months", "2025-03..2025-01"], "error: month range '2025-03..2025-01' ends before it starts"),
        (["report", "--service", "green", "--month", "2025-01"], "error: no preprocess report for green 2025-01"),
    ],
)  # fmt: skip
def test_argument_errors(tmp_path, args, message):
    assert single_error(nyctaxi(tmp_path, *args)).startswith(message)


def test_file_of_another_month_is_refused_at_ingest(tmp_path):
    source = shared_file("green_tripdata_2025-01.parquet")
    done = nyctaxi(tmp_path, "ingest", "--service", "green", "--month", "2025-02", "--file", str(source))
    assert single_error(done).startswith(
        "error: green_tripdata_2025-01.parquet holds green 2025-01, but --service green --month 2025-02 was given"
        " (full trace in "
    )


def test_non_parquet_bytes_are_refused(tmp_path):
    fake = tmp_path / "green_tripdata_2025-01.parquet"
    fake.write_text("VendorID,lpep_pickup_datetime\n1,2025-01-01\n")
    done = nyctaxi(tmp_path, "ingest", "--service", "green", "--month", "2025-01", "--file", str(fake))
    assert single_error(done).startswith("error: green_tripdata_2025-01.parquet: not a valid Parquet file")
    assert [p for p in (tmp_path / "lake" / "bronze").rglob("*") if p.is_file()] == []
    # the same bytes put into bronze by hand are refused by the job, before Spark reads them
    bronze = tmp_path / "lake" / "bronze" / "green" / "2025"
    bronze.mkdir(parents=True, exist_ok=True)
    shutil.copy(fake, bronze)
    done = nyctaxi(tmp_path, "preprocess", "--service", "green", "--month", "2025-01")
    assert single_error(done).startswith(
        "error: green_tripdata_2025-01.parquet: not a Parquet file (43 bytes, no PAR1 header/footer)"
    )


@pytest.mark.slow
def test_missing_columns_and_mislabeled_month(tmp_path):
    five = shared_file("green_tripdata_2022-01_5cols.parquet")
    assert (
        nyctaxi(
            tmp_path, "ingest", "--service", "green", "--month", "2022-01", "--file", str(five)
        ).returncode
        == 0
    )
    done = nyctaxi(tmp_path, "preprocess", "--service", "green", "--month", "2022-01")
    assert single_error(done).startswith(
        "error: green_tripdata_2022-01_5cols.parquet: required green columns missing: fare_amount, total_amount"
    )
    # January's trips published under February's name
    mislabeled = tmp_path / "green_tripdata_2025-02.parquet"
    shutil.copy(shared_file("green_tripdata_2025-01.parquet"), mislabeled)
    assert (
        nyctaxi(
            tmp_path, "ingest", "--service", "green", "--month", "2025-02", "--file", str(mislabeled)
        ).returncode
        == 0
    )
    done = nyctaxi(tmp_path, "preprocess", "--service", "green", "--month", "2025-02")
    assert single_error(done).startswith(
        "error: green_tripdata_2025-02.parquet: 48,289 of 48,326 pickups fall outside 2025-02; "
        "the file does not hold that month's trips (nothing published changed; the file is kept aside in "
    )


def test_no_bronze_file_says_what_to_run(tmp_path):
    done = nyctaxi(tmp_path, "preprocess", "--service", "yellow", "--month", "2024-01")
    assert "run `nyctaxi ingest --service yellow --month 2024-01` first" in single_error(done)
