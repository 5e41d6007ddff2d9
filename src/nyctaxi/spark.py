"""The only place that builds a SparkSession, and the one engine-level helper the jobs share
(:func:`shuffled_once`). What the session is configured with is in `nyctaxi.sparkconf`, shared
with spark-submit commands."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from pyspark.sql import DataFrame, SparkSession

from nyctaxi.config import Settings
from nyctaxi.logs import route_engine_logs, stderr_to_log
from nyctaxi.sparkconf import classpath_conf, s3a_conf, session_conf


def launched_by_spark_submit() -> bool:
    """spark-submit starts the JVM first and hands PySpark its gateway port."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def build_session(settings: Settings, app_name: str) -> SparkSession:
    """Build (or reuse) the session for ``app_name``.

    Under spark-submit the master and the jar classpath come from the submit command (see
    :func:`nyctaxi.sparkconf.submit_plan`); run in-process (CLI, tests) they come from settings.
    """
    builder = SparkSession.builder.appName(app_name)
    if not launched_by_spark_submit():
        builder = builder.master(settings.spark_master).config(
            "spark.driver.memory", settings.spark_driver_memory
        )
        for key, value in classpath_conf(settings).items():
            builder = builder.config(key, value)
    for key, value in {**session_conf(settings), **s3a_conf(settings)}.items():
        builder = builder.config(key, value)
    route_engine_logs()
    with _worker_python(), stderr_to_log():
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


@contextmanager
def _worker_python() -> Iterator[None]:
    """Python workers (pandas UDFs, XGBoost) run this virtualenv's interpreter, as under submit.
    PySpark reads it only from the ``PYSPARK_PYTHON`` variable, once, when the context starts:
    it is set for that moment (unless the user chose one) and the environment is left as found."""
    if "PYSPARK_PYTHON" in os.environ:
        yield
        return
    os.environ["PYSPARK_PYTHON"] = sys.executable
    try:
        yield
    finally:
        del os.environ["PYSPARK_PYTHON"]


def shuffled_once(df: DataFrame) -> DataFrame:
    """``df`` as a frame that later queries build on without repeating its shuffles.

    Each action on a DataFrame plans and runs it again from the source, shuffles included. This
    runs ``df``'s shuffle stages now (adaptive execution materialises them when the plan is
    turned into an RDD) and returns a frame over that RDD: every query on it reads the same
    shuffle files, and only the work after the last shuffle is repeated. Unlike a cache, nothing
    more is written (the shuffle files exist anyway) and nothing is held in memory; a lost
    executor's files are recomputed from lineage as for any shuffle.

    preprocess writes its two tables from one classification this way: the costly half (read,
    normalise, hash, shuffle by trip_id) runs once. Uses ``SparkSession.internalCreateDataFrame``
    (public in the JVM, not in PySpark's API), which is how Spark's own ``localCheckpoint``
    builds its result; on Spark Connect, where there is no JVM frame, ``df`` is returned as is.
    """
    java_frame = getattr(df, "_jdf", None)
    if java_frame is None:
        return df
    session = df.sparkSession
    rows = java_frame.queryExecution().toRdd()
    return DataFrame(
        session._jsparkSession.internalCreateDataFrame(rows, java_frame.schema(), False), session
    )
