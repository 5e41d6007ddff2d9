"""One (service, month) per commit: reruns are identical, other months are untouched, the
rejection budget stops silver from being published."""

from __future__ import annotations

import glob
import json
import os

import pytest
from chispa import assert_df_equality
from delta.tables import DeltaTable

from nyctaxi.contract import TRIP_STATS_COLUMNS
from nyctaxi.errors import RejectionBudgetExceeded
from nyctaxi.ingest.bronze import ingest_local_file
from nyctaxi.jobs import features, preprocess
from nyctaxi.lake import Lake
from nyctaxi.months import Month
from nyctaxi.publication import read_record
from nyctaxi.tables import read_partition, table_version
from tests.conftest import make_settings, shared_file
from tests.expected import file_rows, reference, silver_rows, top_reasons
from tests.tables import latest_partition

JAN, FEB = Month.parse("2025-01"), Month.parse("2025-02")
JAN_FILE, FEB_FILE = "green_tripdata_2025-01.parquet", "green_tripdata_2025-02.parquet"


def partition(spark, settings, table, month, version=None):
    return latest_partition(spark, settings, table, "green", month, version)


def partition_files(settings, month) -> set[str]:
    folder = os.path.join(settings.lake_silver, "trips", "service=green", f"month={month}")
    return {os.path.basename(p) for p in glob.glob(os.path.join(folder, "*.parquet"))}


def stats_columns(table_uri: str) -> set[str]:
    """Columns with min/max statistics in the data files a Delta table's log adds."""
    columns: set[str] = set()
    for commit in glob.glob(os.path.join(table_uri, "_delta_log", "*.json")):
        with open(commit) as log:
            for action in map(json.loads, log):
                if "add" in action:
                    columns |= set(json.loads(action["add"]["stats"])["minValues"])
    return columns


def test_rerun_gives_identical_silver_and_leaves_other_months_alone(spark, tmp_path):
    settings = make_settings(tmp_path)
    for month in (JAN, FEB):
        ingest_local_file(settings, str(shared_file(f"green_tripdata_{month}.parquet")), "green", month)
        preprocess.run(spark, settings, "green", month)
    trips_uri = Lake.from_settings(settings).table("trips")
    first_version = table_version(spark, trips_uri)
    jan_before = partition(spark, settings, "trips", JAN).cache()
    feb_before = partition(spark, settings, "trips", FEB).cache()
    feb_files = partition_files(settings, FEB)
    assert jan_before.count() == silver_rows(JAN_FILE) and feb_before.count() == silver_rows(FEB_FILE)

    preprocess.run(spark, settings, "green", JAN)

    assert table_version(spark, trips_uri) == first_version + 1, "one commit per rerun"
    jan_after = partition(spark, settings, "trips", JAN)
    ids_before = {r.trip_id for r in jan_before.select("trip_id").collect()}
    ids_after = {r.trip_id for r in jan_after.select("trip_id").collect()}
    assert ids_before == ids_after and len(ids_after) == silver_rows(JAN_FILE)
    assert_df_equality(jan_after, jan_before, ignore_row_order=True, ignore_nullable=True)
    assert_df_equality(
        partition(spark, settings, "trips", FEB), feb_before, ignore_row_order=True, ignore_nullable=True
    )
    assert partition_files(settings, FEB) == feb_files, "February's data files were not rewritten"
    assert stats_columns(trips_uri) == set(TRIP_STATS_COLUMNS), "statistics only where readers filter"
    # time travel: the previous version of January is still there and equal
    assert_df_equality(
        partition(spark, settings, "trips", JAN, version=first_version), jan_before, ignore_row_order=True
    )


def test_rejection_budget_publishes_nothing_and_keeps_the_rejected_rows_aside(spark, tmp_path):
    settings = make_settings(
        tmp_path, max_reject_fraction=0.05
    )  # green 2025-01 rejects 7.4 % (the reference)
    ingest_local_file(settings, str(shared_file("green_tripdata_2025-01.parquet")), "green", JAN)
    with pytest.raises(RejectionBudgetExceeded) as error:
        preprocess.run(spark, settings, "green", JAN)
    message = str(error.value)
    expected = reference(JAN_FILE)
    share = expected["quarantined"] / expected["rows"]
    assert (
        f"green 2025-01: {share:.1%} of {file_rows(JAN_FILE):,} rows quarantined, over the budget of 5%"
        in message
    )
    top = ", ".join(f"{code} {count:,}" for code, count in top_reasons(JAN_FILE))
    assert f"top reasons: {top};" in message
    lake = Lake.from_settings(settings)
    report = lake.read_json(lake.report("preprocess", "green", JAN, failed=True))
    assert (
        report["status"] == "failed"
        and report["rows_quarantined"] == expected["quarantined"]
        and report["rows_out"] is None
    )
    kept = lake.rejected("green", JAN, report["run_id"])
    assert f"the rejected rows are in {kept}" in message
    assert spark.read.parquet(kept).count() == expected["quarantined"]
    assert read_record(lake, "silver", "green", JAN) is None, "nothing published"
    quarantine = DeltaTable.forPath(spark, lake.table("quarantine")).toDF().where("month = '2025-01'")
    assert quarantine.count() == 0, "the rolled-back quarantine commit is not visible at the latest version"
    assert not os.path.exists(lake.report("preprocess", "green", JAN)), "no succeeded report"


def test_features_of_a_month(spark, tmp_path, zone_lookup):
    settings = make_settings(tmp_path)
    ingest_local_file(settings, str(shared_file("green_tripdata_2025-01.parquet")), "green", JAN)
    silver = preprocess.run(spark, settings, "green", JAN)
    report = features.run(spark, settings, "green", JAN)
    lake = Lake.from_settings(settings)
    gold_uri = lake.table("trip_features")
    gold = read_partition(spark, gold_uri, "green", JAN, table_version(spark, gold_uri))
    assert report.rows_out == silver.rows_out == gold.count()
    assert gold.select("trip_id").distinct().count() == silver.rows_out
    assert gold.where("pu_borough IS NULL OR do_borough IS NULL").count() == 0, (
        "every silver zone is in the lookup"
    )
    hourly_uri = lake.table("zone_hourly")
    hourly = read_partition(spark, hourly_uri, "green", JAN, table_version(spark, hourly_uri))
    assert hourly.agg({"trips": "sum"}).collect()[0][0] == silver.rows_out
    # New Year's Day and MLK Day (Jan 20) are holidays; Jan 2 is not.
    holidays = {
        r.pickup_date.isoformat() for r in gold.where("is_holiday").select("pickup_date").distinct().collect()
    }
    assert holidays == {"2025-01-01", "2025-01-20"}
    assert report.inputs[0]["version"] == table_version(spark, lake.table("trips"))
