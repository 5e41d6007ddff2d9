"""An independent reading of data contract §2–§3 in DuckDB SQL, written from the contract text
alone (no nyctaxi code), to check the Spark pipeline's counts against."""

from __future__ import annotations

import csv
import gzip
import tempfile
from pathlib import Path

import duckdb

REQUIRED = [
    "pickup_at",
    "dropoff_at",
    "pu_location_id",
    "do_location_id",
    "trip_distance",
    "fare_amount",
    "total_amount",
]
# silver column → accepted source names (lower case), per contract §2 plus the GX sample renames.
COLUMNS = {
    "vendor_id": ["vendorid", "vendor_id"],
    "pickup_at": ["tpep_pickup_datetime", "lpep_pickup_datetime", "pickup_datetime"],
    "dropoff_at": ["tpep_dropoff_datetime", "lpep_dropoff_datetime", "dropoff_datetime"],
    "passenger_count": ["passenger_count"],
    "trip_distance": ["trip_distance"],
    "ratecode_id": ["ratecodeid", "rate_code_id"],
    "store_and_fwd": ["store_and_fwd_flag"],
    "pu_location_id": ["pulocationid", "pickup_location_id"],
    "do_location_id": ["dolocationid", "dropoff_location_id"],
    "payment_type": ["payment_type"],
    "fare_amount": ["fare_amount"],
    "extra": ["extra"],
    "mta_tax": ["mta_tax"],
    "tip_amount": ["tip_amount"],
    "tolls_amount": ["tolls_amount"],
    "improvement_surcharge": ["improvement_surcharge"],
    "total_amount": ["total_amount"],
    "congestion_surcharge": ["congestion_surcharge"],
    "airport_fee": ["airport_fee"],
    "cbd_congestion_fee": ["cbd_congestion_fee"],
    "ehail_fee": ["ehail_fee"],
    "trip_type": ["trip_type"],
}  # fmt: skip
INTS = {
    "vendor_id",
    "passenger_count",
    "ratecode_id",
    "pu_location_id",
    "do_location_id",
    "payment_type",
    "trip_type",
}


NYC = "America/New_York"
# text that carries its zone: "…00:18:38-05:00", "…05:18:38Z", "… +0000" (contract §2)
ZONED = r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|UTC|[+-]\d{2}(:?\d{2})?)$"


def _timestamp(ref: str, dtype: str) -> str:
    """NYC wall clock: instants (TIMESTAMPTZ, zoned text) converted, naive values as they stand."""
    if dtype.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"timezone('{NYC}', {ref})"
    if dtype == "VARCHAR":
        text = f"trim({ref})"
        return (
            f"CASE WHEN regexp_matches({text}, '{ZONED}') THEN timezone('{NYC}', TRY_CAST({text} AS TIMESTAMPTZ)) "
            f"ELSE TRY_CAST({text} AS TIMESTAMP) END"
        )
    return f"TRY_CAST({ref} AS TIMESTAMP)"


def _whole(ref: str, dtype: str) -> str:
    """An integer only from a whole, finite number (74.7, NaN, 'abc' → NULL; never truncated)."""
    if dtype in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"):
        return f"TRY_CAST({ref} AS INTEGER)"
    number = f"TRY_CAST({'trim(' + ref + ')' if dtype == 'VARCHAR' else ref} AS DOUBLE)"
    return (
        f"CASE WHEN isfinite({number}) AND {number} = floor({number}) THEN TRY_CAST({number} AS INTEGER) END"
    )


def _present(ref: str, dtype: str) -> str:
    return f"({ref} IS NOT NULL AND trim({ref}) <> '')" if dtype == "VARCHAR" else f"({ref} IS NOT NULL)"


def _expr(column: str, source: str | None, dtype: str) -> str:
    if source is None:
        return f"NULL AS {column}"
    ref = f'"{source}"'
    if column in ("pickup_at", "dropoff_at"):
        return f"{_timestamp(ref, dtype)} AS {column}"
    if column == "store_and_fwd":
        return (
            f"CASE upper(trim(CAST({ref} AS VARCHAR))) WHEN 'Y' THEN true WHEN 'N' THEN false END AS {column}"
        )
    if column == "ratecode_id":
        v = _whole(ref, dtype)
        return f"CASE WHEN ({v}) IS NULL OR ({v}) IN (1,2,3,4,5,6,99) THEN {v} ELSE 99 END AS {column}"
    if column in INTS:
        expr = f"{_whole(ref, dtype)} AS {column}"
        if column in ("pu_location_id", "do_location_id"):  # present but not a zone id: invalid_zone
            expr += f", {_present(ref, dtype)} AND {_whole(ref, dtype)} IS NULL AS {column}_not_whole"
        return expr
    return f"TRY_CAST({ref} AS DOUBLE) AS {column}"


def _source(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[str, int]:
    """The file as a DuckDB relation, and how many CSV records have the wrong field count.

    CSV goes through Python's own RFC 4180 reader first (quoted commas and newlines, BOM, CRLF,
    gzip): records whose field count differs from the header's are counted and left out (they
    fail malformed_record and no other rule); DuckDB reads the rest."""
    if path.suffix == ".parquet":
        return f"read_parquet('{path}')", 0
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        records = list(csv.reader(handle))
    header, body = records[0], [r for r in records[1:] if r]
    whole = [r for r in body if len(r) == len(header)]
    clean = Path(tempfile.mkdtemp()) / "whole.csv"
    with open(clean, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *whole])
    source = f"read_csv('{clean}', header=true, all_varchar=true, delim=',', quote='\"', strict_mode=false)"
    return source, len(body) - len(whole)


REASONS = [
    "missing_required", "pickup_outside_month", "non_positive_duration", "duration_out_of_range",
    "distance_out_of_range", "speed_out_of_range", "amount_out_of_range", "invalid_zone",
    "passenger_count_out_of_range", "duplicate", "non_finite_value", "malformed_record",
]  # fmt: skip
FINITE = [
    "trip_distance", "fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount", "improvement_surcharge",
    "total_amount", "congestion_surcharge", "airport_fee", "cbd_congestion_fee", "ehail_fee",
]  # fmt: skip


def _classified(con: duckdb.DuckDBPyConnection, path: Path, month: str) -> str:
    """SQL of every row: normalised silver values plus one boolean per rule."""
    source = _source(con, path)[0]
    types = dict(r[:2] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall())
    lower = {n.lower(): n for n in types}

    def found(aliases: list[str]) -> str | None:
        return next((lower[a] for a in aliases if a in lower), None)

    select = ", ".join(
        _expr(col, found(aliases), types.get(found(aliases) or "", "")) for col, aliases in COLUMNS.items()
    )
    year, mon = (int(x) for x in month.split("-"))
    start = f"TIMESTAMP '{year:04d}-{mon:02d}-01'"
    end = f"({start} + INTERVAL 1 MONTH)"
    return f"""
    WITH n AS (SELECT {select} FROM {source}),
    d AS (SELECT *, date_diff('microsecond', pickup_at, dropoff_at) / 60000000.0 AS dur,
                 row_number() OVER (PARTITION BY {", ".join(COLUMNS)}) AS copy FROM n)
    SELECT *,
      ({" OR ".join(f"{c} IS NULL" for c in REQUIRED)}) AS missing_required,
      coalesce(pickup_at < {start} OR pickup_at >= {end}, false) AS pickup_outside_month,
      coalesce(dropoff_at <= pickup_at, false) AS non_positive_duration,
      coalesce(dur < 1 OR dur > 180, false) AS duration_out_of_range,
      coalesce(trip_distance <= 0 OR trip_distance > 100, false) AS distance_out_of_range,
      coalesce(dur > 0 AND trip_distance > 0 AND trip_distance / (dur / 60) > 80, false) AS speed_out_of_range,
      coalesce(fare_amount < 0 OR total_amount < 0 OR fare_amount > 1000, false) AS amount_out_of_range,
      coalesce(pu_location_id NOT BETWEEN 1 AND 265 OR do_location_id NOT BETWEEN 1 AND 265, false)
        OR coalesce(pu_location_id_not_whole, false) OR coalesce(do_location_id_not_whole, false) AS invalid_zone,
      coalesce(passenger_count < 0 OR passenger_count > 8, false) AS passenger_count_out_of_range,
      copy > 1 AS duplicate,
      coalesce({" OR ".join(f"isnan({c}) OR isinf({c})" for c in FINITE)}, false) AS non_finite_value,
      false AS malformed_record  -- records of the wrong field count are counted apart (_source)
    FROM d
    """


def contract_counts(path: Path, month: str) -> dict[str, int]:
    """rows, silver, quarantined and per-reason counts for one file of ``month`` (YYYY-MM)."""
    con = duckdb.connect()
    sums = ", ".join(f"sum({r}::INT)" for r in REASONS)
    any_fired = " OR ".join(REASONS)
    row = con.execute(
        f"SELECT count(*), sum(({any_fired})::INT), {sums} FROM ({_classified(con, path, month)})"
    ).fetchone()
    malformed = _source(con, path)[1]
    counts = {"rows": row[0] + malformed, "quarantined": (row[1] or 0) + malformed}
    counts.update({r: v or 0 for r, v in zip(REASONS, row[2:], strict=True)})
    counts["malformed_record"] = malformed
    counts["silver"] = counts["rows"] - counts["quarantined"]
    return counts


NUMERIC = [c for c in COLUMNS if c not in ("pickup_at", "dropoff_at", "store_and_fwd")]


def silver_value_profile(path: Path, month: str) -> dict[str, tuple[int, float]]:
    """Per numeric silver column: (non-null count, sum rounded to cents) over rows no rule rejects."""
    con = duckdb.connect()
    parts = ", ".join(f"count({c}), round(sum({c})::DOUBLE, 2)" for c in NUMERIC)
    clean = " AND ".join(f"NOT {r}" for r in REASONS)
    row = con.execute(f"SELECT {parts} FROM ({_classified(con, path, month)}) WHERE {clean}").fetchone()
    return {c: (row[2 * i], row[2 * i + 1]) for i, c in enumerate(NUMERIC)}


def silver_hour_histogram(path: Path, month: str) -> dict[int, int]:
    """Trips per wall-clock pickup hour over the rows no rule rejects."""
    con = duckdb.connect()
    clean = " AND ".join(f"NOT {r}" for r in REASONS)
    sql = f"SELECT hour(pickup_at), count(*) FROM ({_classified(con, path, month)}) WHERE {clean} GROUP BY 1"
    return dict(con.execute(sql).fetchall())
