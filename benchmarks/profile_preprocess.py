"""Where preprocess spends its time: one warm JVM, one synthetic month, each piece measured alone.

    .venv/bin/python benchmarks/profile_preprocess.py --rows 3e6 --runs 3

Part 1 runs the month through growing prefixes of the pipeline into Spark's no-op sink (read,
+ normalise, + classify, the trips and quarantine selections). Part 2 runs `preprocess.run` on a
fresh lake and times each of its steps (wrapped from outside, the job's code unchanged).
Prints min / median seconds; no assertions, nothing written to the results.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import min_median  # noqa: E402
from etl import MONTH, input_file  # noqa: E402

from nyctaxi.config import Settings  # noqa: E402


def prefixes(spark, path: str):
    """name → frame, each a longer prefix of what preprocess computes."""
    from pyspark.sql import functions as F

    from nyctaxi.jobs.preprocess import counted, tallies
    from nyctaxi.readers import read_trip_file
    from nyctaxi.schemas import SILVER_QUARANTINE, SILVER_TRIPS
    from nyctaxi.storage import ObjectStore
    from nyctaxi.transform.normalise import MALFORMED, map_columns, normalise
    from nyctaxi.transform.rules import classify

    trip_file = read_trip_file(spark, ObjectStore(), path, Path(path).name)
    raw = trip_file.frame
    mapping = map_columns([c for c in raw.columns if c != MALFORMED], "yellow", Path(path).name)
    normalised = normalise(raw, "yellow", Path(path).name, mapping, trip_file.stored)
    classified = normalised.transform(classify, MONTH).withColumn("month", F.lit(str(MONTH)))
    rejected = F.size("reject_reasons") > 0
    trips = classified.where(~rejected).select(*SILVER_TRIPS.fieldNames(), "cast_failed")
    notable = classified.where(rejected | (F.size("cast_failed") > 0))
    notable = notable.select(*SILVER_QUARANTINE.fieldNames(), "cast_failed")
    return {
        "read": raw,
        "+ normalise": normalised,
        "+ classify (all columns)": classified,
        "trips selection": trips.drop("cast_failed"),
        "trips selection, rows observed": counted(trips.drop("cast_failed"), "profile-t")[0],
        "quarantine selection": notable.where(rejected).drop("cast_failed"),
        "quarantine, tallies observed": counted(notable, "profile-q", *tallies())[0].where(rejected),
    }


def timed_steps(times: dict[str, list[float]]):
    """Wrap preprocess's collaborators so each call's wall time is added to ``times``."""
    from nyctaxi.jobs import preprocess

    names = (
        "_finish_promotion",
        "reconcile",
        "month_fit",
        "shuffled_once",
        "ensure_table",
        "write_partition",
        "publish",
        "_read_input",
    )
    originals = {name: getattr(preprocess, name) for name in names}
    promote = preprocess.versions.promote

    def wrap(name, function):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                times[name].append(time.perf_counter() - started)

        return timed

    for name, function in originals.items():
        setattr(preprocess, name, wrap(name, function))
    preprocess.versions.promote = wrap("versions.promote", promote)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=3e6)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-sink", action="store_true", help="skip part 1 (a cold JVM for part 2)")
    args = parser.parse_args()
    from nyctaxi.ingest.bronze import ingest_local_file
    from nyctaxi.jobs import preprocess
    from nyctaxi.spark import build_session

    path = str(input_file(int(args.rows)))
    spark = build_session(Settings(), "profile-preprocess")
    noop: dict[str, list[float]] = defaultdict(list)
    for _ in range(0 if args.no_sink else args.runs):
        for name, frame in prefixes(spark, path).items():
            started = time.perf_counter()
            frame.write.format("noop").mode("overwrite").save()
            noop[name].append(time.perf_counter() - started)
    print(f"no-op sink, {int(args.rows):,} rows, min / median s:")
    for name, values in noop.items():
        print(f"  {name:34s} {min_median(values)}")

    steps: dict[str, list[float]] = defaultdict(list)
    timed_steps(steps)
    totals = []  # each printed too: the first run in a cold JVM may differ
    for _ in range(args.runs):
        root = Path(tempfile.mkdtemp(prefix="profile-lake-"))
        settings = Settings(**{f"lake_{layer}": str(root / layer) for layer in ("bronze", "silver", "gold")})
        ingest_local_file(settings, path, "yellow", MONTH)
        started = time.perf_counter()
        preprocess.run(spark, settings, "yellow", MONTH)
        totals.append(time.perf_counter() - started)
        print(f"  run {len(totals)}: preprocess.run {totals[-1]:.1f} s", flush=True)
        shutil.rmtree(root)
    print(
        f"preprocess.run on a fresh lake, min / median s (per call, summed over a run): total {min_median(totals)}"
    )
    for name, values in steps.items():
        calls = len(values) // args.runs
        per_run = [sum(values[i * calls : (i + 1) * calls]) for i in range(args.runs)]
        print(f"  {name:34s} {min_median(per_run)}  ({calls} call(s) per run)")
    spark.stop()


if __name__ == "__main__":
    main()
