"""The validation job on the real months (passes) and on a crafted bad month (fails clearly):
February's real trips as March, half of them dropped and VendorID null for every row."""

from __future__ import annotations

import re
import shutil
import statistics
from pathlib import Path

import pyarrow as pa
import pytest

from nyctaxi.errors import ValidationFailed
from nyctaxi.ingest.bronze import ingest_local_file
from nyctaxi.jobs import features, main, preprocess, validate
from nyctaxi.lake import Lake
from nyctaxi.months import Month
from tests.conftest import make_settings
from tests.expected import silver_rows
from tests.integration.contract_reference import contract_counts
from tests.pipeline import february_as_march, settings_env

FEB, MAR = Month.parse("2025-02"), Month.parse("2025-03")


def test_real_months_pass(spark, real_gold):
    lake = Lake.from_settings(real_gold)
    saved = {}
    for month in ("2025-01", "2025-02"):
        report = validate.run(spark, real_gold, "green", Month.parse(month))
        assert report.status == "succeeded" and report.summary["failed"] == 0
        saved[month] = lake.read_json(lake.report("validate", "green", Month.parse(month)))["summary"]
        kinds = {e["expectation"].split("(")[0] for e in saved[month]["expectations"]}
        assert {"unique", "not null", "in_range", "within_month", "equal_to"} <= kinds
        assert len(saved[month]["expectations"]) > 100
    # January has no earlier month in the lake: no volume band to apply; February compares with it.
    assert saved["2025-01"]["month"]["volume_ratio"] is None
    unchecked = {e["column"] for e in saved["2025-01"]["expectations"] if e["status"] == "not checked"}
    assert "volume_ratio" in unchecked and all(
        c == "volume_ratio" or c.startswith("null_share_increase__") for c in unchecked
    ), "January's comparisons with earlier months are not checked, not passed"
    assert not any(e["status"] == "not checked" for e in saved["2025-02"]["expectations"])
    assert saved["2025-02"]["month"]["volume_ratio"] == pytest.approx(
        silver_rows("green_tripdata_2025-02.parquet") / silver_rows("green_tripdata_2025-01.parquet")
    )
    html = Path(lake.report("validate", "green", FEB).removesuffix(".json") + ".html").read_text()
    assert "all checked expectations passed" in html and "0 failed, 0 not checked" in html


@pytest.fixture(scope="module")
def bad_month(spark, real_gold, tmp_path_factory):
    """The real lake plus the crafted March, through silver and gold (both accept it)."""
    root = tmp_path_factory.mktemp("bad-month")
    settings = make_settings(root)
    shutil.copytree(real_gold.lake_bronze, settings.lake_bronze)
    shutil.copytree(real_gold.lake_silver, settings.lake_silver)
    shutil.copytree(real_gold.lake_gold, settings.lake_gold)
    half = lambda table: table.take(pa.array(range(0, table.num_rows, 2)))  # noqa: E731
    no_vendor = lambda table: table.set_column(  # noqa: E731
        table.schema.get_field_index("VendorID"), "VendorID", pa.nulls(table.num_rows, pa.int32())
    )
    ingest_local_file(settings, february_as_march(root, lambda t: no_vendor(half(t))), "green", MAR)
    assert preprocess.run(spark, settings, "green", MAR).status == "succeeded"
    features.run(spark, settings, "green", MAR)
    return settings


def test_crafted_bad_month_fails_naming_each_problem(spark, bad_month):
    with pytest.raises(ValidationFailed) as failure:
        validate.run(spark, bad_month, "green", MAR)
    message = str(failure.value)
    assert message.startswith("validation of green 2025-03 failed: 2 expectation(s)")
    # the crafted March's silver rows, and the usual volume, by the DuckDB reading of the contract
    march_file = Path(bad_month.lake_bronze) / "green" / "2025" / "green_tripdata_2025-03.parquet"
    march = contract_counts(march_file, str(MAR))["silver"]
    usual = statistics.median(silver_rows(f"green_tripdata_{m}.parquet") for m in ("2025-01", "2025-02"))
    assert (
        f"{march:,} trips is {march / usual:.0%} of the usual {usual:,.0f} (median of 2025-01, 2025-02); "
        "expected 60%–167%" in message
    )
    assert "silver column vendor_id is 100% null, was 0% in the previous months" in message

    saved = Lake.from_settings(bad_month).read_json(
        Lake.from_settings(bad_month).report("validate", "green", MAR, failed=True)
    )
    assert saved["status"] == "failed" and saved["error"] == message
    failed = {e["column"] for e in saved["summary"]["expectations"] if e["status"] == "failed"}
    assert failed == {"volume_ratio", "null_share_increase__vendor_id"}

    # the page: the two failures first, each value beside its expectation, numbers for people
    page = Path(Lake.from_settings(bad_month).report("validate", "green", MAR)[:-5] + ".html").read_text()
    rows = re.findall(
        r"<tr class='([\w-]+)'><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td><td class='num'>([^<]*)<", page
    )
    assert [(status, column) for status, column, _ in rows[:2]] == [
        ("failed", "volume_ratio"),
        ("failed", "null_share_increase__vendor_id"),
    ]
    values = {column: value for _, column, value in rows[:2]}
    assert (
        values["volume_ratio"] == f"{march / usual:.2f}"
        and values["null_share_increase__vendor_id"] == "+100.0%"
    )
    assert not re.search(r"\d\.\d{6,}", page), "no raw floats"


def test_job_entry_point_exits_non_zero_with_one_line(spark, bad_month, monkeypatch, capsys):
    for key, value in settings_env(bad_month).items():
        monkeypatch.setenv(key, value)
    assert main(["validate", "--service", "green", "--month", "2025-03"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: validation of green 2025-03 failed")
