"""Bad source files: each gets a clear error naming the file (and what was expected), or is handled
per the contract with every row accounted for (silver + quarantine = rows read)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from nyctaxi.errors import BadSourceFile, NyctaxiError, RejectionBudgetExceeded
from nyctaxi.ingest.bronze import ingest_local_file, ingest_zone_lookup
from nyctaxi.jobs import features, preprocess
from nyctaxi.months import Month
from tests.conftest import make_settings, shared_file
from tests.tables import latest_partition

MONTH = Month.parse("2025-01")
NAME = f"green_tripdata_{MONTH}.parquet"
ROWS = 20_000


def real_rows() -> pa.Table:
    """The first 20,000 trips of the real green 2025-01."""
    return pq.read_table(shared_file(NAME)).slice(0, ROWS)


def write(table: pa.Table, folder: Path, name: str = NAME) -> Path:
    path = folder / name
    pq.write_table(table, path)
    return path


def with_values(table: pa.Table, column: str, rows: slice, value) -> pa.Table:
    values = table[column].to_pylist()
    values[rows] = [value] * len(values[rows])
    index = table.schema.get_field_index(column)
    return table.set_column(index, column, pa.array(values, type=table.schema.field(column).type))


def zero_bytes(folder: Path) -> Path:
    (folder / NAME).write_bytes(b"")
    return folder / NAME


def truncated(folder: Path) -> Path:
    data = shared_file(NAME).read_bytes()
    (folder / NAME).write_bytes(data[: len(data) // 2])
    return folder / NAME


def csv_named_parquet(folder: Path) -> Path:
    import pyarrow.csv as pacsv

    pacsv.write_csv(real_rows(), folder / NAME)
    return folder / NAME


def another_month(folder: Path) -> Path:  # February's trips under January's name
    return write(pq.read_table(shared_file("green_tripdata_2025-02.parquet")).slice(0, ROWS), folder)


def extra_column(folder: Path) -> Path:
    table = real_rows()
    return write(table.append_column("surge_multiplier", pa.array([1.5] * table.num_rows)), folder)


def all_null_required(folder: Path) -> Path:
    table = real_rows()
    index = table.schema.get_field_index("PULocationID")
    nulls = pa.nulls(table.num_rows, type=table.schema.field("PULocationID").type)
    return write(table.set_column(index, "PULocationID", nulls), folder)


def extreme_values(folder: Path) -> Path:
    table = real_rows()
    table = with_values(table, "fare_amount", slice(0, 10), 1e308)
    table = with_values(table, "trip_distance", slice(10, 20), 1e308)
    table = with_values(table, "tip_amount", slice(20, 30), -1e308)
    table = with_values(table, "lpep_pickup_datetime", slice(30, 40), dt.datetime(1900, 1, 1))
    table = with_values(table, "lpep_dropoff_datetime", slice(40, 50), dt.datetime(2100, 12, 31, 23, 59))
    return write(table, folder)


def duplicated_rows(folder: Path) -> Path:
    table = real_rows()
    return write(pa.concat_tables([table, table.slice(0, 500)]), folder)


def era_2009(folder: Path) -> Path:  # yellow 2009: coordinates instead of zone ids, other names
    starts = pa.array([dt.datetime(2009, 1, 5, 8, m) for m in range(60)], type=pa.timestamp("us"))
    table = pa.table(
        {
            "vendor_name": ["VTS"] * 60,
            "Trip_Pickup_DateTime": starts,
            "Trip_Dropoff_DateTime": pc.add(starts, pa.scalar(dt.timedelta(minutes=12))),
            "Passenger_Count": [1] * 60,
            "Trip_Distance": [2.5] * 60,
            "Start_Lon": [-73.99] * 60,
            "Start_Lat": [40.75] * 60,
            "End_Lon": [-73.97] * 60,
            "End_Lat": [40.76] * 60,
            "Fare_Amt": [9.7] * 60,
            "Total_Amt": [11.2] * 60,
        }
    )
    return write(table, folder, "yellow_tripdata_2009-01.parquet")


@dataclass(frozen=True)
class BadFile:
    name: str
    make: Callable[[Path], Path]
    expected: str
    error: str | None = None  # the message's start (after the file name) when it must be refused
    at_ingest: bool = False


CASES = [
    BadFile(
        "zero-byte file", zero_bytes, "refused at ingest, bronze empty", "not a valid Parquet file", True
    ),
    BadFile(
        "truncated Parquet (first half)", truncated, "refused at ingest", "not a valid Parquet file", True
    ),
    BadFile("CSV renamed .parquet", csv_named_parquet, "refused at ingest", "not a valid Parquet file", True),
    BadFile(
        "February's trips in a file named for January",
        another_month,
        "refused by preprocess, naming the month; nothing published",
        "pickups fall outside 2025-01",
    ),
    BadFile("an extra unknown column", extra_column, "processed; the column named in the run report"),
    BadFile(
        "required column PULocationID all null",
        all_null_required,
        "refused (budget): nothing published; every row kept in silver _rejected/ with its reasons",
        f"100.0% of {ROWS:,} rows quarantined",
    ),
    BadFile(
        "extreme values: 1e308 fare/distance, -1e308 tip, pickup 1900, dropoff 2100",
        extreme_values,
        "those rows quarantined with their reasons; the rest flows to silver and gold",
    ),
    BadFile(
        "500 duplicated rows", duplicated_rows, "the 500 copies quarantined as duplicate, one of each kept"
    ),
    BadFile(
        "a 2009-era yellow file (coordinates, no zone ids)",
        era_2009,
        "refused, naming the missing columns",
        "required yellow columns missing: tpep_pickup_datetime, tpep_dropoff_datetime, PULocationID",
    ),
]


@pytest.fixture(scope="module")
def zones(tmp_path_factory) -> Path:
    """A lake whose bronze already holds the zone lookup (copied for each case)."""
    shared_file("taxi_zone_lookup.csv")  # ingested from the shared mirror
    settings = make_settings(tmp_path_factory.mktemp("zones"))
    ingest_zone_lookup(settings)
    return Path(settings.lake_bronze)


@pytest.mark.parametrize("bad", CASES, ids=[c.make.__name__ for c in CASES])
def test_bad_file(spark, tmp_path, zones, bad: BadFile, case):
    record = case(f"bad file: {bad.name}", bad.expected)
    settings = make_settings(tmp_path)
    shutil.copytree(zones, settings.lake_bronze)
    (tmp_path / "in").mkdir()
    path = bad.make(tmp_path / "in")
    service, month = path.name.split("_")[0], Month.parse(path.name.split("_")[-1][:7])

    if bad.at_ingest:
        with pytest.raises(BadSourceFile) as refused:
            ingest_local_file(settings, str(path), service, month)
        assert str(refused.value).startswith(f"{path.name}: {bad.error}"), refused.value
        landed = [p for p in Path(settings.lake_bronze, service).rglob("*") if p.is_file()]
        assert landed == [], "nothing may reach bronze"
        record.saw(f"`{refused.value}`; bronze empty")
        return

    ingest_local_file(settings, str(path), service, month)
    read = pq.read_metadata(path).num_rows
    if bad.error:
        with pytest.raises(NyctaxiError) as refused:
            preprocess.run(spark, settings, service, month)
        message = str(refused.value)
        assert bad.error in message and (path.name in message or f"{service} {month}" in message), message
        published = _rows(spark, settings, "trips", service, month)
        assert published == 0, "a refused month publishes no silver rows"
        assert _rows(spark, settings, "quarantine", service, month) == 0, "nor quarantine (contract §6)"
        if isinstance(refused.value, RejectionBudgetExceeded):
            kept = spark.read.parquet(message.rsplit("the rejected rows are in ", 1)[1]).count()
            assert kept == read, "every row kept aside in silver _rejected/ with its reason"
            record.saw(f"`{message}`; silver and quarantine 0; all {kept:,} rows in _rejected/")
        else:
            record.saw(f"`{message}`; silver 0 rows")
        return

    report = preprocess.run(spark, settings, service, month)
    assert report.rows_in == read and report.rows_out + report.rows_quarantined == read
    assert _rows(spark, settings, "trips", service, month) == report.rows_out
    assert _rows(spark, settings, "quarantine", service, month) == report.rows_quarantined
    facts = [f"{report.rows_out:,} to silver + {report.rows_quarantined:,} quarantined = {read:,} read"]
    if bad.make is extra_column:
        assert report.unexpected_columns == ["surge_multiplier"]
        facts.append("report lists unexpected column surge_multiplier")
    if bad.make is duplicated_rows:
        assert report.reasons["duplicate"] == 500
        trips = latest_partition(spark, settings, "trips", service, month)
        assert trips.select("trip_id").distinct().count() == report.rows_out
        facts.append("duplicate: 500; trip_id unique in silver")
    if bad.make is extreme_values:  # what passed silver must also be sane for gold
        assert features.run(spark, settings, service, month).rows_out == report.rows_out
        fired = {code: n for code, n in report.reasons.items() if n}
        assert fired["amount_out_of_range"] >= 10 and fired["distance_out_of_range"] >= 10
        assert fired["pickup_outside_month"] >= 10 and fired["duration_out_of_range"] >= 10
        row = latest_partition(spark, settings, "trip_features", service, month).selectExpr(
            "max(fare_amount) AS fare", "max(trip_distance) AS distance", "min(pickup_at) AS first"
        )
        top = row.collect()[0]
        assert top["fare"] <= 1000 and top["distance"] <= 100 and top["first"] >= MONTH.start
        facts.append(
            "reasons " + ", ".join(f"{k} {v:,}" for k, v in fired.items()) + "; gold max fare ≤ 1000"
        )
    record.saw("; ".join(facts))


def _rows(spark, settings, table: str, service: str, month: Month) -> int:
    try:
        return latest_partition(spark, settings, table, service, month).count()
    except NyctaxiError:  # never published
        return 0
