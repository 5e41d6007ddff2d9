"""The single-node reference for the ETL benchmark: the silver rules of data-contract §3 on one
yellow 2011+ Parquet file in DuckDB SQL, written as Parquet (silver trips + quarantine).

The same normalisation, trip_id, rules and reject_reasons as ``nyctaxi.transform``; it exists
to measure against, and the benchmark checks that its per-reason counts equal Spark's.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from nyctaxi import contract
from nyctaxi.contract import FINITE_COLUMNS, REASON_CODES, REQUIRED_COLUMNS, SOURCE_VALUE_COLUMNS
from nyctaxi.months import Month
from nyctaxi.transform.normalise import KNOWN_RATECODES, UNKNOWN_RATECODE

NORMALISED = f"""
SELECT 'yellow' AS service,
       TRY_CAST(VendorID AS INTEGER) AS vendor_id,
       CAST(tpep_pickup_datetime AS TIMESTAMP) AS pickup_at,
       CAST(tpep_dropoff_datetime AS TIMESTAMP) AS dropoff_at,
       TRY_CAST(trunc(passenger_count) AS INTEGER) AS passenger_count,
       CAST(trip_distance AS DOUBLE) AS trip_distance,
       CASE WHEN RatecodeID IS NULL OR trunc(RatecodeID) IN {KNOWN_RATECODES}
            THEN TRY_CAST(trunc(RatecodeID) AS INTEGER) ELSE {UNKNOWN_RATECODE} END AS ratecode_id,
       CASE upper(trim(store_and_fwd_flag)) WHEN 'Y' THEN true WHEN 'N' THEN false END AS store_and_fwd,
       TRY_CAST(PULocationID AS INTEGER) AS pu_location_id,
       TRY_CAST(DOLocationID AS INTEGER) AS do_location_id,
       TRY_CAST(payment_type AS INTEGER) AS payment_type,
       fare_amount, extra, mta_tax, tip_amount, tolls_amount, improvement_surcharge, total_amount,
       congestion_surcharge, Airport_fee AS airport_fee,
       CAST(NULL AS DOUBLE) AS cbd_congestion_fee, CAST(NULL AS DOUBLE) AS ehail_fee,
       CAST(NULL AS INTEGER) AS trip_type,
       $name AS source_file
FROM read_parquet($path)
"""


def classified_sql(month: Month) -> str:
    # DuckDB's own 64-bit hash, twice, as the product uses Spark's xxhash64 twice: the ids differ
    # between the engines, equal rows get equal ids in each (DuckDB hashes nulls by position).
    hashed = ", ".join(["service", *SOURCE_VALUE_COLUMNS])
    halves = ", ".join(f"hash({seed}, {hashed})" for seed in contract.TRIP_ID_SEEDS)
    start, end = f"TIMESTAMP '{month.start}'", f"TIMESTAMP '{month.end}'"
    predicates = {
        "missing_required": " OR ".join(f"{c} IS NULL" for c in REQUIRED_COLUMNS),
        "pickup_outside_month": f"pickup_at < {start} OR pickup_at >= {end}",
        "non_positive_duration": "dropoff_at <= pickup_at",
        "duration_out_of_range": f"duration_min < {contract.MIN_DURATION_MIN} OR duration_min > {contract.MAX_DURATION_MIN}",
        "distance_out_of_range": f"trip_distance <= 0 OR trip_distance > {contract.MAX_DISTANCE_MI}",
        "speed_out_of_range": f"duration_min > 0 AND trip_distance > 0 AND trip_distance / (duration_min / 60.0) > {contract.MAX_SPEED_MPH}",
        "amount_out_of_range": f"fare_amount < 0 OR total_amount < 0 OR fare_amount > {contract.MAX_FARE}",
        "invalid_zone": f"pu_location_id NOT BETWEEN {contract.MIN_ZONE} AND {contract.MAX_ZONE} "
        f"OR do_location_id NOT BETWEEN {contract.MIN_ZONE} AND {contract.MAX_ZONE}",
        "passenger_count_out_of_range": f"passenger_count < 0 OR passenger_count > {contract.MAX_PASSENGERS}",
        "duplicate": "row_number() OVER (PARTITION BY trip_id) > 1",
        "non_finite_value": " OR ".join(f"isnan({c}) OR isinf({c})" for c in FINITE_COLUMNS),
        "malformed_record": "false",  # the benchmark's months are Parquet: every record is whole
    }
    flags = ",\n".join(f"coalesce(({p}), false) AS rule_{code}" for code, p in predicates.items())
    reasons = ", ".join(f"CASE WHEN rule_{code} THEN '{code}' END" for code in REASON_CODES)
    return f"""
    WITH n AS ({NORMALISED}),
    ided AS (
        SELECT printf('%016x%016x', {halves}) AS trip_id,
               *, date_diff('microsecond', pickup_at, dropoff_at) / 60000000.0 AS duration_min
        FROM n
    ),
    flagged AS (SELECT *, {flags} FROM ided)
    SELECT *, list_filter([{reasons}], x -> x IS NOT NULL) AS reject_reasons, '{month}' AS month FROM flagged
    """


def run(path: Path, month: Month, out: Path, threads: int) -> dict:
    """Apply the rules to ``path``; write ``out``/trips.parquet and quarantine.parquet. Returns
    seconds, rows in/out, per-reason counts and output bytes."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute(
        f"CREATE TEMP TABLE classified AS {classified_sql(month)}", {"path": str(path), "name": path.name}
    )
    counts = con.execute(
        "SELECT count(*), count(*) FILTER (len(reject_reasons) > 0), "
        + ", ".join(f"count(*) FILTER (rule_{code})" for code in REASON_CODES)
        + " FROM classified"
    ).fetchone()
    silver_columns = ", ".join(
        ["trip_id", "service", *SOURCE_VALUE_COLUMNS, "duration_min", "source_file", "month"]
    )
    con.execute(
        f"COPY (SELECT {silver_columns} FROM classified WHERE len(reject_reasons) = 0) "
        f"TO '{out / 'trips.parquet'}' (FORMAT parquet)"
    )
    con.execute(
        f"COPY (SELECT {silver_columns}, reject_reasons FROM classified WHERE len(reject_reasons) > 0) "
        f"TO '{out / 'quarantine.parquet'}' (FORMAT parquet)"
    )
    con.close()
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows_in": counts[0],
        "rows_quarantined": counts[1],
        "rows_out": counts[0] - counts[1],
        "reasons": dict(zip(REASON_CODES, counts[2:], strict=True)),
        "bytes": sum(p.stat().st_size for p in out.glob("*.parquet")),
    }
