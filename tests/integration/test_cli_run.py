"""`nyctaxi run` end to end from the local mirror (what `make run` does), for a month range,
then `nyctaxi report` reading the reports back."""

from __future__ import annotations

import re

import pytest

from tests.conftest import shared_file
from tests.expected import file_rows, reference, silver_rows
from tests.integration.test_cli_errors import nyctaxi

JAN, FEB = "green_tripdata_2025-01.parquet", "green_tripdata_2025-02.parquet"


@pytest.mark.slow
def test_run_two_months_then_report(tmp_path):
    shared_file("green_tripdata_2025-02.parquet")
    done = nyctaxi(tmp_path, "run", "--service", "green", "--months", "2025-01..2025-02")
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for line in (
        "green 2025-01: pending ",
        "green 2025-02: pending ",
        "zone lookup: new ",
        f"preprocess green 2025-01: succeeded, rows in {file_rows(JAN):,}, out {silver_rows(JAN):,}",
        f"features green 2025-01: succeeded, rows in {silver_rows(JAN):,}, out {silver_rows(JAN):,}",
        f"preprocess green 2025-02: succeeded, rows in {file_rows(FEB):,}",
        "output            trips: " + str(tmp_path / "lake" / "silver" / "trips"),
        "output            trip_features: " + str(tmp_path / "lake" / "gold" / "trip_features"),
    ):
        assert line in out, f"{line!r} not in:\n{out}"
    distance = reference(JAN)["distance_out_of_range"]
    assert re.search(rf"^    distance_out_of_range +{distance:,}$", out, re.MULTILINE)

    again = nyctaxi(tmp_path, "ingest", "--service", "green", "--month", "2025-01")
    assert "green 2025-01: unchanged" in again.stdout

    report = nyctaxi(tmp_path, "report", "--service", "green", "--month", "2025-02", "--stage", "preprocess")
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("preprocess green 2025-02: succeeded")
    assert "sha256=b3ffe16a96ba0c68c8a8f8b10f049294ae6eb8d21f2e13b3fdbd452fa2e3498e" in report.stdout
