"""The preprocessing job on every real yellow/green TLC file in ../shared: counts equal an
independent DuckDB reading of the contract, nothing is lost, the silver schema holds."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from nyctaxi.contract import REASON_CODES
from nyctaxi.errors import BadSourceFile
from nyctaxi.ingest.bronze import ingest_local_file
from nyctaxi.jobs import preprocess
from nyctaxi.lake import Lake
from nyctaxi.months import Month, service_month_of_file
from nyctaxi.publication import published_partition
from nyctaxi.schemas import SILVER_QUARANTINE, SILVER_TRIPS
from nyctaxi.tables import read_partition, table_version
from tests.conftest import SHARED_TLC, make_settings, shared_file
from tests.integration.contract_reference import (
    NUMERIC,
    contract_counts,
    silver_hour_histogram,
    silver_value_profile,
)

# Every yellow/green trip file there, in TLC format or (the two GX samples) with GX's renamed columns.
REAL_FILES = [
    "green_tripdata_2020-04_random1000.csv",
    "green_tripdata_2024-01.parquet",
    "green_tripdata_2025-01.parquet",
    "green_tripdata_2025-02.parquet",
    "yellow_tripdata_2019-01_gx_random10k.csv",
    "yellow_tripdata_2020-01_gx_random10k.csv",
    "yellow_tripdata_2020-04_random1000.csv",
    "yellow_tripdata_2020-07_head266.csv",
    "yellow_tripdata_2024-01_head5.csv",
    "yellow_tripdata_2025-01_head1000.csv",
]


def test_the_list_covers_every_yellow_and_green_file_in_shared():
    if not SHARED_TLC.is_dir():
        pytest.skip(f"real TLC data not available: {SHARED_TLC} is absent")
    present = {p.name for p in SHARED_TLC.glob("*_tripdata_*") if p.name.startswith(("yellow", "green"))}
    assert present - set(REAL_FILES) == {"green_tripdata_2022-01_5cols.parquet"}  # refused: see below


@pytest.fixture(scope="module")
def lake_settings(tmp_path_factory):
    # The budget is opened up here so that every file's silver is written and can be counted;
    # the budget itself is tested separately.
    return make_settings(tmp_path_factory.mktemp("real"), max_reject_fraction=1.0)


@pytest.mark.parametrize("name", REAL_FILES)
def test_preprocess_matches_the_contract(spark, lake_settings, name):
    path = shared_file(name)
    service, month_text = service_month_of_file(name)
    check_against_contract(spark, lake_settings, path, service, month_text)


def check_against_contract(spark, lake_settings, path, service: str, month_text: str) -> dict:
    """preprocess of ``path`` against the DuckDB reading of the contract: counts, per-reason
    counts, per-column non-null counts and sums, pickups per wall-clock hour. Returns the report."""
    month = Month.parse(month_text)
    ingested = ingest_local_file(lake_settings, str(path), service, month)
    report = preprocess.run(spark, lake_settings, service, month)
    expected = contract_counts(path, month_text)

    assert report.status == "succeeded"
    assert report.rows_in == expected["rows"]
    assert report.rows_out == expected["silver"]
    assert report.rows_quarantined == expected["quarantined"]
    assert report.reasons == {code: expected[code] for code in REASON_CODES}
    assert report.inputs[0]["sha256"] == ingested.sha256

    lake = Lake.from_settings(lake_settings)
    tables = {}
    for table, schema in (("trips", SILVER_TRIPS), ("quarantine", SILVER_QUARANTINE)):
        tables[table] = published_partition(spark, lake, table, service, month)[0]
        assert [(f.name, f.dataType) for f in tables[table].schema.fields] == [
            (f.name, f.dataType) for f in schema.fields
        ]
    assert tables["trips"].count() == expected["silver"]
    assert tables["quarantine"].count() == expected["quarantined"]
    assert tables["trips"].count() + tables["quarantine"].count() == expected["rows"]
    # Every value survives normalisation: per-column non-null counts and sums agree too.
    profile = (
        tables["trips"]
        .selectExpr(
            *[f"count({c}) AS {c}_n" for c in NUMERIC], *[f"round(sum({c}), 2) AS {c}_s" for c in NUMERIC]
        )
        .collect()[0]
    )
    reference = silver_value_profile(path, month_text)
    for column in NUMERIC:
        count, total = reference[column]
        assert profile[f"{column}_n"] == count, column
        assert (profile[f"{column}_s"] or 0) == pytest.approx(total or 0, abs=0.011), column
    hours = tables["trips"].groupBy(F.hour("pickup_at").alias("h")).count().collect()
    assert {r["h"]: r["count"] for r in hours} == silver_hour_histogram(path, month_text), "wall clock"
    saved = lake.read_json(lake.report("preprocess", service, month))
    assert saved["reasons"] == report.reasons and saved["status"] == "succeeded"
    return saved


def test_known_defects_of_green_2025_01_land_in_quarantine(spark, lake_settings):
    """FACTS.md: 6 December and 37 February pickups in the January file."""
    month = Month.parse("2025-01")
    ingest_local_file(lake_settings, str(shared_file("green_tripdata_2025-01.parquet")), "green", month)
    preprocess.run(spark, lake_settings, "green", month)
    uri = Lake.from_settings(lake_settings).table("quarantine")
    quarantine = read_partition(spark, uri, "green", month, table_version(spark, uri))
    outside = quarantine.where("array_contains(reject_reasons, 'pickup_outside_month')")
    by_month = {
        r["m"]: r["count"]
        for r in outside.groupBy(outside.pickup_at.cast("date").substr(1, 7).alias("m")).count().collect()
    }
    assert by_month == {"2024-12": 6, "2025-02": 37}


def test_file_without_required_columns_is_refused_with_its_name(spark, tmp_path):
    settings = make_settings(tmp_path)
    month = Month.parse("2022-01")
    ingest_local_file(settings, str(shared_file("green_tripdata_2022-01_5cols.parquet")), "green", month)
    with pytest.raises(BadSourceFile) as error:
        preprocess.run(spark, settings, "green", month)
    assert (
        "green_tripdata_2022-01_5cols.parquet: required green columns missing: fare_amount, total_amount"
        in str(error.value)
    )
    report = Lake.from_settings(settings).read_json(
        Lake.from_settings(settings).report("preprocess", "green", month, failed=True)
    )
    assert report["status"] == "failed" and "fare_amount" in report["error"]
