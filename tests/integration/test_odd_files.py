"""Odd but valid files, as real writers produce them (pandas, pyarrow, spreadsheets), built from the
real green 2025-01: each gives exactly the DuckDB reading of the contract (§2 conversions, rules
11–12) — counts, per-reason counts, per-column sums and pickups per wall-clock hour."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from nyctaxi.contract import FINITE_COLUMNS
from tests.conftest import make_settings, shared_file
from tests.integration.test_real_files import check_against_contract

MONTH = "2025-01"
ROWS = 3_000
TIMES = ("lpep_pickup_datetime", "lpep_dropoff_datetime")
NAME = f"green_tripdata_{MONTH}"


def base() -> pa.Table:
    return pq.read_table(shared_file(f"{NAME}.parquet")).slice(0, ROWS)


def with_column(table: pa.Table, name: str, values) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, values)


def times(table: pa.Table, change: Callable[[pa.ChunkedArray], pa.ChunkedArray]) -> pa.Table:
    for name in TIMES:
        table = with_column(table, name, change(table[name]))
    return table


def zoned(tz: str) -> Callable[[pa.Table], pa.Table]:
    """The same NYC wall clock stored as instants (what pandas writes for tz-aware columns)."""

    def change(column):
        return pc.assume_timezone(column, "America/New_York").cast(pa.timestamp("us", tz=tz))

    return lambda table: times(table, change)


def precision(unit: str) -> Callable[[pa.Table], pa.Table]:
    return lambda table: times(table, lambda column: column.cast(pa.timestamp(unit)))


def non_finite(table: pa.Table) -> pa.Table:
    """NaN, +inf and -inf in every money column (and the distance), a few rows each."""
    specials = (float("nan"), float("inf"), float("-inf"))
    for k, name in enumerate(c for c in FINITE_COLUMNS if c != "airport_fee"):  # green has none
        values = table[name].to_pylist()
        for j in range(6):
            values[10 * k + j] = specials[j % 3]
        table = with_column(table, name, pa.array(values, pa.float64()))
    return table


def fractional_zones(kind: pa.DataType) -> Callable[[pa.Table], pa.Table]:
    """Zone ids as doubles or text: 74.7 and 265.9 (never truncated), whole 75.0, text 'abc'."""

    def change(table):
        pu = table["PULocationID"].cast(pa.float64()).to_pylist()
        do = table["DOLocationID"].cast(pa.float64()).to_pylist()
        pu[0:10], do[10:20], pu[20:30] = [74.7] * 10, [265.9] * 10, [75.0] * 10
        pu_values, do_values = pa.array(pu), pa.array(do)
        if kind == pa.string():
            pu_values = pa.array([None if v is None else repr(v) for v in pu[:40]] + ["abc"] + [
                None if v is None else str(int(v)) for v in pu[41:]
            ])  # fmt: skip
            do_values = pa.array([None if v is None else repr(v) for v in do])
        return with_column(with_column(table, "PULocationID", pu_values), "DOLocationID", do_values)

    return change


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def csv_rows(table: pa.Table, note: bool = True) -> tuple[list[str], list[list[str]]]:
    """Header and text rows; ``note`` adds a free-text column holding commas, quotes and newlines."""
    header = table.column_names + (["note"] if note else [])
    rows = [[_cell(v) for v in row.values()] for row in table.to_pylist()]
    if note:
        texts = ("plain", 'said "hi", left', "two\nlines", "comma, and\r\nCRLF")
        rows = [row + [texts[i % len(texts)]] for i, row in enumerate(rows)]
    return header, rows


def write_csv(path: Path, header, rows, opener=open, bom: bool = True) -> None:
    with opener(path, "wt", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)


def spreadsheet_csv(folder: Path) -> Path:
    """BOM, CRLF, quoted commas, quotes and newlines in a field."""
    path = folder / f"{NAME}.csv"
    write_csv(path, *csv_rows(base()))
    return path


def gzip_csv(folder: Path) -> Path:
    path = folder / f"{NAME}.csv.gz"
    write_csv(path, *csv_rows(base()), opener=gzip.open, bom=False)
    return path


def malformed_csv(folder: Path) -> Path:
    """A few records missing their last field and a few with one field too many."""
    header, rows = csv_rows(base(), note=False)
    for i in range(0, 50, 10):
        rows[i] = rows[i][:-1]
    for i in range(5, 55, 10):
        rows[i] = rows[i] + ["9.99"]
    path = folder / f"{NAME}.csv"
    write_csv(path, header, rows, bom=False)
    return path


def parquet(change: Callable[[pa.Table], pa.Table], **options) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / f"{NAME}.parquet"
        pq.write_table(change(base()), path, **options)
        return path

    return make


def reasons(code: str, count: int) -> Callable[[dict], bool]:
    return lambda report: report["reasons"][code] == count


def cast_failures(column: str, at_least: int) -> Callable[[dict], bool]:
    return lambda report: report["cast_failures"].get(column, 0) >= at_least


def nothing_more(report: dict) -> bool:
    return True


# case → (how the file is made, a fact of the report beyond the reference's counts)
CASES = {
    "tz-aware UTC": (parquet(zoned("UTC")), nothing_more),
    "tz-aware New York": (parquet(zoned("America/New_York")), nothing_more),
    "milliseconds": (parquet(precision("ms")), nothing_more),
    "nanoseconds (pandas default)": (parquet(precision("ns")), nothing_more),
    "INT96": (parquet(lambda t: t, use_deprecated_int96_timestamps=True), nothing_more),
    "NaN and ±inf in every money column": (parquet(non_finite), reasons("non_finite_value", 66)),
    "zone ids as doubles with fractions": (parquet(fractional_zones(pa.float64())), cast_failures("pu_location_id", 10)),
    "zone ids as text with fractions": (parquet(fractional_zones(pa.string())), cast_failures("pu_location_id", 11)),
    "CSV: BOM, CRLF, quoted commas and newlines": (spreadsheet_csv, lambda r: r["unexpected_columns"] == ["note"]),
    "gzip CSV": (gzip_csv, lambda r: r["unexpected_columns"] == ["note"]),
    "CSV records with missing or extra fields": (malformed_csv, reasons("malformed_record", 10)),
}  # fmt: skip


@pytest.fixture(scope="module")
def odd_lake(tmp_path_factory):
    return make_settings(tmp_path_factory.mktemp("odd"), max_reject_fraction=1.0)


@pytest.mark.parametrize(("make", "fact"), CASES.values(), ids=CASES.keys())
def test_odd_file_gives_the_contract_reading(spark, odd_lake, tmp_path, make, fact):
    report = check_against_contract(spark, odd_lake, make(tmp_path), "green", MONTH)
    assert fact(report), report
