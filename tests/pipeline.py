"""Test helpers that run the real pipeline: lakes with real TLC months in them, and the
environment a subprocess (nyctaxi CLI, spark-submit) needs to see the same settings."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from nyctaxi.ingest.bronze import ingest_local_file, ingest_zone_lookup
from nyctaxi.jobs import features, preprocess
from nyctaxi.months import Month
from tests.conftest import shared_file

# The JVM option of the jobs the tests start as processes: most run one job on a small month,
# where the JIT's optimising compiler costs more CPU than it saves (`nyctaxi submit` of green
# 2025-01, local[2]: preprocess 63 → 39 s of CPU and 39 → 34 s wall; features 77 → 42 s, 44 → 34 s).
# A long-lived JVM is slower with it (the suite's own session: 130 → 163 s on test_validation.py),
# so the session and the multi-month `nyctaxi pipeline` keep the default.
SHORT_JOB_JVM = "-XX:TieredStopAtLevel=1"


def settings_env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NYCTAXI_")}
    env["NYCTAXI_SPARK_JAVA_OPTIONS"] = SHORT_JOB_JVM
    env.update(
        NYCTAXI_JARS_DIR=settings.jars_dir,
        NYCTAXI_LAKE_BRONZE=settings.lake_bronze,
        NYCTAXI_LAKE_SILVER=settings.lake_silver,
        NYCTAXI_LAKE_GOLD=settings.lake_gold,
        NYCTAXI_SPARK_MASTER="local[2]",
        NYCTAXI_SPARK_SHUFFLE_PARTITIONS="4",
        NYCTAXI_MLFLOW_ARTIFACTS=settings.mlflow_artifacts,
        NYCTAXI_FEATURE_REGISTRY=settings.feature_registry,
        NYCTAXI_FEATURE_ONLINE_PATH=settings.feature_online_path,
        MLFLOW_TRACKING_URI=settings.mlflow_tracking_uri,
        MLFLOW_DISABLE_TELEMETRY="true",
    )
    return env


def prepare(settings, service: str = "green", months: tuple[str, ...] = ("2025-01",)) -> None:
    """Real TLC months (from ../shared) and the zone lookup in the lake's bronze."""
    for month in months:
        ingest_local_file(
            settings, str(shared_file(f"{service}_tripdata_{month}.parquet")), service, Month.parse(month)
        )
    ingest_zone_lookup(settings)


def build_gold(spark, settings, service: str, months: tuple[str, ...]) -> None:
    """bronze → silver → gold for each month, in-process on the run's session."""
    prepare(settings, service, months)
    for month in map(Month.parse, months):
        preprocess.run(spark, settings, service, month)
        features.run(spark, settings, service, month)


def february_as_march(folder, change: Callable[[pa.Table], pa.Table]) -> str:
    """The real green 2025-02 moved 28 days later (into March) with ``change`` applied: a crafted
    month that goes through the real pipeline. Returns the file (named for 2025-03)."""
    table = pq.read_table(shared_file("green_tripdata_2025-02.parquet"))
    shift = pa.scalar(dt.timedelta(days=28), type=pa.duration("us"))
    for name in ("lpep_pickup_datetime", "lpep_dropoff_datetime"):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, pc.add(table[name].cast(pa.timestamp("us")), shift))
    path = os.path.join(folder, "green_tripdata_2025-03.parquet")
    pq.write_table(change(table), path)
    return path


def request_trips(inputs) -> list[dict]:
    """Request inputs (a frame of ``ml.features.request_inputs``) as Python values, the way pydantic
    hands them to the predictor: a datetime, ints, None when absent."""
    from datetime import datetime

    trips = inputs.astype(object).where(inputs.notna(), None).to_dict("records")
    for trip in trips:
        trip["pickup_at"] = datetime.fromisoformat(trip["pickup_at"])
        for name in ("pu_location_id", "do_location_id", "passenger_count", "vendor_id", "ratecode_id"):
            trip[name] = None if trip[name] is None else int(trip[name])
    return trips
