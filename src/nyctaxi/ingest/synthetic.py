"""A synthetic TLC month: the real column names and Arrow types of its era, realistic shapes, and
defects injected per cleaning rule. Seeded and deterministic; written in row groups so 10M rows
fit in little memory. Used for benchmarks and offline demos, never mistaken for real data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from nyctaxi.contract import REASON_CODES
from nyctaxi.months import Month

# Every rule gets its defects except `malformed_record`: the writers here (Parquet, pyarrow's CSV)
# only write whole records; malformed CSV is tested with hand-written files.
INJECTED_CODES = tuple(code for code in REASON_CODES if code != "malformed_record")

CHUNK_ROWS = 1_000_000
# Share of trips per hour of day (NYC yellow, weekday-weekend blend): night lull, evening peak.
HOUR_WEIGHTS = np.array(
    [3.5, 2.5, 1.8, 1.3, 1.0, 1.0, 2.0, 3.3, 4.1, 4.3, 4.3, 4.5, 4.8, 4.8, 5.1, 5.2, 5.3, 6.0, 6.6, 6.2]
    + [5.5, 5.3, 5.1, 4.3]
)
# The busiest pickup zones of each service (Midtown/UES for yellow; Harlem/Queens for green).
POPULAR_ZONES = {
    "yellow": [237, 236, 161, 132, 186, 162, 170, 230, 142, 48, 138, 239, 163, 234, 68, 79, 107, 141],
    "green": [74, 75, 41, 166, 95, 97, 82, 7, 42, 244, 129, 25, 65, 260, 181, 152, 116, 255],
}
AIRPORTS = (132, 138)
# TLC's "null block": ~3% of rows (app/dispatch path) lack these columns and carry payment_type 0.
NULL_BLOCK_SHARE = 0.03
NULL_BLOCK_COLUMNS = frozenset(
    {
        "passenger_count",
        "RatecodeID",
        "store_and_fwd_flag",
        "congestion_surcharge",
        "airport_fee",
        "Airport_fee",
    }
)
MEAN_SPEED_MPH = np.array([18, 19, 20, 21, 21, 20, 16, 12, 10, 10, 11, 11, 11, 11, 10, 10, 9, 9, 10, 12])
MEAN_SPEED_MPH = np.concatenate([MEAN_SPEED_MPH, [13, 14, 15, 16]])


@dataclass(frozen=True)
class SynthSpec:
    service: str
    month: Month
    rows: int
    seed: int = 42
    defect_rate: float = 0.002  # per rule; the same row never gets two injected defects


def arrow_schema(service: str, month: Month) -> pa.Schema:
    """Column names and types as the TLC published them for that service and month."""
    ym = str(month)
    as_int = ym >= "2025-01"  # nullable counts: double up to 2024, int64 from 2025
    count_type = pa.int64() if as_int else pa.float64()
    id_type = pa.int32() if ym >= "2023-01" else pa.int64()
    prefix = "tpep" if service == "yellow" else "lpep"
    fields = [
        ("VendorID", id_type),
        (f"{prefix}_pickup_datetime", pa.timestamp("us")),
        (f"{prefix}_dropoff_datetime", pa.timestamp("us")),
    ]
    if service == "yellow":
        fields += [
            ("passenger_count", count_type),
            ("trip_distance", pa.float64()),
            ("RatecodeID", count_type),
        ]
        fields += [("store_and_fwd_flag", pa.string()), ("PULocationID", id_type), ("DOLocationID", id_type)]
        fields += [("payment_type", pa.int64())]
    else:
        fields += [
            ("store_and_fwd_flag", pa.large_string() if as_int else pa.string()),
            ("RatecodeID", count_type),
        ]
        fields += [("PULocationID", id_type), ("DOLocationID", id_type), ("passenger_count", count_type)]
        fields += [("trip_distance", pa.float64())]
    fields += [(c, pa.float64()) for c in ("fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount")]
    if service == "green":
        fields += [("ehail_fee", pa.float64())]
    fields += [("improvement_surcharge", pa.float64()), ("total_amount", pa.float64())]
    if service == "green":
        fields += [("payment_type", count_type), ("trip_type", count_type)]
    fields += [("congestion_surcharge", pa.float64())]
    if service == "yellow":
        # The name's case changed with the 2023-02 file.
        fields += [("Airport_fee" if ym >= "2023-02" else "airport_fee", pa.float64())]
    if ym >= "2025-01":
        fields += [("cbd_congestion_fee", pa.float64())]
    return pa.schema(fields)


def _zones(rng: np.random.Generator, service: str, n: int) -> np.ndarray:
    popular = np.array(POPULAR_ZONES[service])
    weights = np.full(263, 0.2)
    weights[popular - 1] = np.linspace(12, 3, len(popular))
    return rng.choice(np.arange(1, 264), size=n, p=weights / weights.sum())


def _clean_chunk(rng: np.random.Generator, spec: SynthSpec, n: int) -> dict[str, np.ndarray]:
    """Realistic clean trips: time of day, zones, distance → duration → fare → total."""
    days = (spec.month.end - spec.month.start).days
    hour = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    start = np.datetime64(spec.month.start, "us")
    offset_s = rng.integers(0, days, n) * 86_400 + hour * 3600 + rng.integers(0, 3600, n)
    pickup = start + offset_s.astype("timedelta64[s]").astype("timedelta64[us]")
    pu, do = _zones(rng, spec.service, n), _zones(rng, spec.service, n)
    airport = np.isin(pu, AIRPORTS) | np.isin(do, AIRPORTS)
    distance = np.round(np.clip(rng.lognormal(np.log(np.where(airport, 14.0, 1.8)), 0.6), 0.1, 60.0), 2)
    speed = np.clip(rng.normal(MEAN_SPEED_MPH[hour], 3.0), 4.0, 45.0)
    duration_s = np.round(distance / speed * 3600 + rng.exponential(90, n) + 60).astype("int64")
    dropoff = pickup + duration_s.astype("timedelta64[s]").astype("timedelta64[us]")
    fare = np.round(3.0 + 3.5 * distance + 0.35 * duration_s / 60, 2)
    payment = rng.choice([1, 2, 3, 4], size=n, p=[0.76, 0.21, 0.02, 0.01])
    tip = np.where(payment == 1, np.round(fare * rng.uniform(0.1, 0.3, n), 2), 0.0)
    tolls = np.where(airport & (rng.random(n) < 0.4), 6.94, 0.0)
    extra = np.where((hour >= 16) & (hour < 20), 2.5, np.where((hour >= 20) | (hour < 6), 1.0, 0.0))
    ym = str(spec.month)
    surcharge = np.full(n, 1.0 if ym >= "2023-01" else 0.3)
    congestion = np.where(rng.random(n) < 0.85, 2.5 if spec.service == "yellow" else 2.75, 0.0)
    airport_fee = np.where(np.isin(pu, AIRPORTS), 1.75, 0.0)
    cbd = np.where(rng.random(n) < 0.6, 0.75, 0.0)
    total = (
        fare
        + extra
        + 0.5
        + tip
        + tolls
        + surcharge
        + congestion
        + (airport_fee if spec.service == "yellow" else 0)
    )
    total = total + (cbd if ym >= "2025-01" else 0)
    return {
        "vendor": rng.choice([1, 2, 6], size=n, p=[0.25, 0.74, 0.01]),
        "pickup": pickup,
        "dropoff": dropoff,
        "passengers": rng.choice([1, 2, 3, 4, 5, 6], size=n, p=[0.72, 0.15, 0.05, 0.03, 0.03, 0.02]),
        "distance": distance,
        "ratecode": np.where(np.isin(pu, AIRPORTS) & (rng.random(n) < 0.5), 2, 1),
        "flag": np.where(rng.random(n) < 0.005, "Y", "N"),
        "pu": pu,
        "do": do,
        "payment": payment,
        "fare": fare,
        "extra": extra,
        "mta_tax": np.full(n, 0.5),
        "tip": tip,
        "tolls": tolls,
        "surcharge": surcharge,
        "total": np.round(total, 2),
        "congestion": congestion,
        "airport_fee": airport_fee,
        "cbd": cbd,
        "trip_type": np.where(rng.random(n) < 0.97, 1, 2),
        "null_block": rng.random(n) < NULL_BLOCK_SHARE,
    }


def _inject_defects(rng: np.random.Generator, c: dict[str, np.ndarray], spec: SynthSpec) -> dict[str, int]:
    """Give disjoint row sets one defect each, aimed at one rule each; returns rows per rule."""
    n = len(c["fare"])
    per_rule = int(round(n * spec.defect_rate))
    rows = rng.permutation(n)[: per_rule * len(INJECTED_CODES)].reshape(len(INJECTED_CODES), per_rule)
    d = dict(zip(INJECTED_CODES, rows, strict=True))
    minutes = np.timedelta64(60_000_000, "us")
    c["fare"] = c["fare"].astype("float64")
    c["fare"][d["missing_required"]] = np.nan  # becomes a null
    c["pickup"][d["pickup_outside_month"]] -= np.timedelta64(40 * 86_400_000_000, "us")
    c["dropoff"][d["pickup_outside_month"]] -= np.timedelta64(40 * 86_400_000_000, "us")
    c["dropoff"][d["non_positive_duration"]] = c["pickup"][d["non_positive_duration"]] - 5 * minutes
    c["dropoff"][d["duration_out_of_range"]] = c["pickup"][d["duration_out_of_range"]] + 300 * minutes
    c["distance"][d["distance_out_of_range"]] = 0.0
    c["distance"][d["speed_out_of_range"]] = 60.0
    c["dropoff"][d["speed_out_of_range"]] = c["pickup"][d["speed_out_of_range"]] + 20 * minutes
    for column in ("fare", "extra", "mta_tax", "surcharge", "total"):  # refunds mirror every component
        c[column][d["amount_out_of_range"]] *= -1
    c["pu"][d["invalid_zone"]] = 0
    c["null_block"][rows.ravel()] = False  # the null block would hide an injected passenger count
    c["passengers"][d["passenger_count_out_of_range"]] = 9
    c["tip"][d["non_finite_value"]] = np.inf  # only rule 11 reads the tip
    originals = rng.permutation(np.setdiff1d(np.arange(n), rows.ravel()))[:per_rule]
    for values in c.values():
        values[d["duplicate"]] = values[originals]
    return {code: per_rule for code in INJECTED_CODES}


def _to_table(c: dict[str, np.ndarray], schema: pa.Schema) -> pa.Table:
    fare_null = np.isnan(c["fare"])
    block = c["null_block"]
    c["payment"] = np.where(block, 0, c["payment"])
    by_name = {
        "VendorID": c["vendor"],
        "passenger_count": c["passengers"],
        "trip_distance": c["distance"],
        "RatecodeID": c["ratecode"],
        "store_and_fwd_flag": c["flag"],
        "PULocationID": c["pu"],
        "DOLocationID": c["do"],
        "payment_type": c["payment"],
        "extra": c["extra"],
        "mta_tax": c["mta_tax"],
        "tip_amount": c["tip"],
        "tolls_amount": c["tolls"],
        "improvement_surcharge": c["surcharge"],
        "total_amount": c["total"],
        "congestion_surcharge": c["congestion"],
        "airport_fee": c["airport_fee"],
        "Airport_fee": c["airport_fee"],
        "cbd_congestion_fee": c["cbd"],
        "trip_type": c["trip_type"],
    }
    arrays = []
    for field in schema:
        if field.name.endswith("pickup_datetime"):
            arrays.append(pa.array(c["pickup"], field.type))
        elif field.name.endswith("dropoff_datetime"):
            arrays.append(pa.array(c["dropoff"], field.type))
        elif field.name == "fare_amount":
            arrays.append(pa.array(c["fare"], field.type, mask=fare_null))
        elif field.name == "ehail_fee":
            arrays.append(pa.nulls(len(fare_null), field.type))
        else:
            mask = block if field.name in NULL_BLOCK_COLUMNS else None
            arrays.append(pa.array(by_name[field.name], mask=mask).cast(field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def write_synthetic(spec: SynthSpec, path: str) -> dict[str, int]:
    """Write ``spec.rows`` rows to ``path`` (.parquet or .csv); returns injected defects per rule."""
    schema = arrow_schema(spec.service, spec.month)
    injected = dict.fromkeys(REASON_CODES, 0)
    csv = path.endswith(".csv")
    writer = pacsv.CSVWriter(path, schema) if csv else pq.ParquetWriter(path, schema, compression="zstd")
    with writer:
        for index, first in enumerate(range(0, spec.rows, CHUNK_ROWS)):
            rng = np.random.default_rng([spec.seed, index])
            columns = _clean_chunk(rng, spec, min(CHUNK_ROWS, spec.rows - first))
            for code, count in _inject_defects(rng, columns, spec).items():
                injected[code] += count
            writer.write_table(_to_table(columns, schema))
    return injected
