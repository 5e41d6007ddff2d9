"""ETL benchmark: synthetic yellow months (2024 schema, realistic defect rates) through bronze →
silver → gold with Spark, against a single-node DuckDB reference of the same silver rules.

    .venv/bin/python benchmarks/etl.py                        # 1M, 3M (3 runs), 10M rows (2 runs)
    .venv/bin/python benchmarks/etl.py --sizes 1e6 --runs 1   # quick look

Each Spark run is a fresh process (JVM start included, as in production) on an empty lake; it
reports its own stage times. Peak RSS of the driver JVM and of the Python process are sampled
from outside. A 10,000-row run measures the fixed cost (JVM + session + Delta commits); a least-
squares line through the large sizes gives the cost per row. Inputs are generated once into
.bench/ (git-ignored). Prints figures and writes benchmarks/results/etl.json; no assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, SHARED_TLC, PeakMemory, folder_bytes, min_median, save  # noqa: E402

from nyctaxi.config import Settings  # noqa: E402
from nyctaxi.months import Month  # noqa: E402

# The product's default, so a benchmark measures what users run.
DEFAULT_SHUFFLE_PARTITIONS = Settings.model_fields["spark_shuffle_partitions"].default

MONTH = Month.parse("2024-01")
OVERHEAD_ROWS = 10_000
STAGES = ("session", "ingest", "preprocess", "features")


def input_file(rows: int) -> Path:
    """The cached synthetic month of ``rows`` rows (generated on first use)."""
    from nyctaxi.ingest.synthetic import SynthSpec, write_synthetic

    path = CACHE / "data" / str(rows) / f"yellow_tripdata_{MONTH}.parquet"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        write_synthetic(SynthSpec("yellow", MONTH, rows, seed=2024), str(path) + ".tmp")
        os.replace(str(path) + ".tmp", path)
        print(f"  generated {rows:,} rows in {time.perf_counter() - started:.0f} s → {path}", flush=True)
    return path


def probe(path: str) -> None:
    """Inside the measured process: ingest, preprocess, features on this process's session."""
    from nyctaxi.ingest.bronze import ingest_local_file, ingest_zone_lookup
    from nyctaxi.jobs import features, preprocess
    from nyctaxi.spark import build_session

    times, started = {}, time.perf_counter()
    settings = Settings()
    spark = build_session(settings, "bench-etl")
    times["session"] = time.perf_counter() - started
    mark = time.perf_counter()
    ingest_local_file(settings, path, "yellow", MONTH)
    ingest_zone_lookup(settings)
    times["ingest"] = time.perf_counter() - mark
    mark = time.perf_counter()
    pre = preprocess.run(spark, settings, "yellow", MONTH)
    times["preprocess"] = time.perf_counter() - mark
    mark = time.perf_counter()
    gold = features.run(spark, settings, "yellow", MONTH)
    times["features"] = time.perf_counter() - mark
    spark.stop()
    rows = {"rows_in": pre.rows_in, "rows_out": pre.rows_out, "gold_rows": gold.rows_out}
    print(json.dumps({"times": times, **rows, "reasons": pre.reasons}))


def spark_run(rows: int, master: str, shuffle_partitions: int, extra_env: dict | None = None) -> dict:
    lake = CACHE / "etl" / f"lake-{rows}"
    shutil.rmtree(lake, ignore_errors=True)
    env = {
        **os.environ,
        "NYCTAXI_LAKE_BRONZE": str(lake / "bronze"),
        "NYCTAXI_LAKE_SILVER": str(lake / "silver"),
        "NYCTAXI_LAKE_GOLD": str(lake / "gold"),
        "NYCTAXI_SPARK_MASTER": master,
        "NYCTAXI_SPARK_SHUFFLE_PARTITIONS": str(shuffle_partitions),
        "NYCTAXI_TLC_BASE_URL": str(SHARED_TLC),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        **(extra_env or {}),
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, __file__, "--probe", str(input_file(rows))],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    with PeakMemory(process.pid) as memory:
        stdout, _ = process.communicate()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"spark run of {rows:,} rows failed (exit {process.returncode})")
    result = json.loads(stdout.strip().splitlines()[-1])
    silver, gold = lake / "silver", lake / "gold"
    result.update(
        wall=wall,
        python_peak=memory.python_peak,
        jvm_peak=memory.jvm_peak,
        bytes={
            "bronze": input_file(rows).stat().st_size,
            "silver_trips": folder_bytes(silver / "trips"),
            "silver_quarantine": folder_bytes(silver / "quarantine"),
            "gold_trip_features": folder_bytes(gold / "trip_features"),
            "gold_zone_hourly": folder_bytes(gold / "zone_hourly"),
        },
    )
    return result


def duckdb_run(rows: int, threads: int) -> dict:
    import duckdb_reference

    out = CACHE / "etl" / f"duckdb-{rows}"
    shutil.rmtree(out, ignore_errors=True)
    return duckdb_reference.run(input_file(rows), MONTH, out, threads)


def fit(sizes: list[int], seconds: list[float]) -> tuple[float, float]:
    """Least squares seconds = fixed + per_row · rows."""
    slope, intercept = np.polyfit(np.array(sizes, dtype=float), np.array(seconds), 1)
    return float(intercept), float(slope)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e6,3e6,1e7", help="rows per month, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--large-runs", type=int, default=2, help="runs for sizes of 5M rows and more")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument(
        "--shuffle-partitions",
        type=int,
        default=DEFAULT_SHUFFLE_PARTITIONS,
        help="as NYCTAXI_SPARK_SHUFFLE_PARTITIONS",
    )
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads (match the Spark cores)")
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        probe(args.probe)
        return
    if not (SHARED_TLC / "taxi_zone_lookup.csv").exists():
        parser.error(f"the zone lookup is read from {SHARED_TLC}; it is absent")
    sizes = [int(float(s)) for s in args.sizes.split(",")]

    results = {}
    for rows in [OVERHEAD_ROWS, *sizes]:
        runs = 1 if rows == OVERHEAD_ROWS else args.large_runs if rows >= 5_000_000 else args.runs
        input_file(rows)
        spark, duck = [], []
        for number in range(runs):
            spark.append(spark_run(rows, args.master, args.shuffle_partitions))
            duck.append(duckdb_run(rows, args.threads))
            s, d = spark[-1], duck[-1]
            same = s["rows_out"] == d["rows_out"] and s["reasons"] == d["reasons"]
            print(
                f"{rows:>11,} rows run {number + 1}: spark {s['wall']:6.1f} s (preprocess {s['times']['preprocess']:.1f}, "
                f"features {s['times']['features']:.1f}), duckdb {d['seconds']:5.1f} s, "
                f"JVM {s['jvm_peak'] / 2**30:.2f} GiB, python {s['python_peak'] / 2**20:.0f} MiB, "
                f"same silver counts: {'yes' if same else 'NO'}",
                flush=True,
            )
        results[rows] = {"spark": spark, "duckdb": duck}

    summary = summarise(results, sorted(sizes))
    print_summary(summary)
    path = save(
        "etl",
        {
            "command": "python benchmarks/etl.py " + " ".join(sys.argv[1:]),
            "master": args.master,
            "duckdb_threads": args.threads,
            "summary": summary,
            "runs": {str(k): v for k, v in results.items()},
        },
    )
    print(f"\nwrote {path}")


def summarise(results: dict, sizes: list[int]) -> dict:
    rows_summary = {}
    for rows in sizes:
        spark, duck = results[rows]["spark"], results[rows]["duckdb"]
        entry = {"runs": len(spark)}
        entry["spark_wall"] = min_median([r["wall"] for r in spark])
        entry["spark_silver"] = min_median([r["times"]["preprocess"] for r in spark])
        for stage in STAGES:
            entry[f"stage_{stage}"] = min_median([r["times"][stage] for r in spark])
        entry["duckdb_silver"] = min_median([r["seconds"] for r in duck])
        entry["ratio_silver"] = entry["spark_silver"][1] / entry["duckdb_silver"][1]
        entry["ratio_wall_vs_duckdb"] = entry["spark_wall"][1] / entry["duckdb_silver"][1]
        entry["rows_per_s"] = rows / entry["spark_wall"][1]
        entry["jvm_peak_gib"] = max(r["jvm_peak"] for r in spark) / 2**30
        entry["python_peak_mib"] = max(r["python_peak"] for r in spark) / 2**20
        entry["bytes"] = spark[-1]["bytes"]
        entry["duckdb_bytes"] = duck[-1]["bytes"]
        entry["same_counts"] = all(
            s["rows_out"] == d["rows_out"] and s["reasons"] == d["reasons"]
            for s, d in zip(spark, duck, strict=True)
        )
        rows_summary[str(rows)] = entry
    overhead = results[OVERHEAD_ROWS]["spark"][0]
    walls = [rows_summary[str(r)]["spark_wall"][1] for r in sizes]
    fixed, per_row = fit(sizes, walls) if len(sizes) > 1 else (overhead["wall"], 0.0)
    growth = walls[-1] / walls[0] if len(sizes) > 1 else 1.0
    return {
        "sizes": rows_summary,
        "overhead_10k": {"wall": overhead["wall"], **{s: overhead["times"][s] for s in STAGES}},
        "fit": {"fixed_s": fixed, "per_million_rows_s": per_row * 1e6},
        "growth": {"rows": sizes[-1] / sizes[0], "time": growth},
    }


def print_summary(summary: dict) -> None:
    print("\nper size (min / median seconds):")
    print(
        f"{'rows':>12} {'spark total':>16} {'spark silver':>16} {'duckdb silver':>16} {'ratio':>6} {'rows/s':>9} {'JVM GiB':>8} {'py MiB':>7}"
    )
    for rows, e in summary["sizes"].items():
        print(
            f"{int(rows):>12,} {e['spark_wall'][0]:>7.1f} / {e['spark_wall'][1]:<6.1f} "
            f"{e['spark_silver'][0]:>7.1f} / {e['spark_silver'][1]:<6.1f} {e['duckdb_silver'][0]:>7.1f} / "
            f"{e['duckdb_silver'][1]:<6.1f} {e['ratio_silver']:>6.2f} {e['rows_per_s']:>9,.0f} "
            f"{e['jvm_peak_gib']:>8.2f} {e['python_peak_mib']:>7.0f}"
        )
    o = summary["overhead_10k"]
    print(
        f"fixed cost (10,000 rows): {o['wall']:.1f} s total = session {o['session']:.1f} + ingest {o['ingest']:.1f} "
        f"+ preprocess {o['preprocess']:.1f} + features {o['features']:.1f} + process start/stop"
    )
    f, g = summary["fit"], summary["growth"]
    print(f"fit: total = {f['fixed_s']:.1f} s + {f['per_million_rows_s']:.2f} s per million rows")
    print(f"growth: {g['rows']:.0f}× the rows took {g['time']:.2f}× the time")


if __name__ == "__main__":
    main()
