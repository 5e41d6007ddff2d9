"""The only place that builds a SparkSession (and sets ``fs.s3a.*`` for object storage), and the
one engine-level helper the jobs share (:func:`shuffled_once`)."""

from __future__ import annotations

import glob
import os
import sys

from pyspark.sql import DataFrame, SparkSession

from nyctaxi.config import PROJECT_ROOT, Settings
from nyctaxi.errors import NyctaxiError
from nyctaxi.logs import log_file, route_engine_logs

# Results must not depend on the machine's zone: TLC times are wall-clock NYC time stored without a
# zone (timestamp_ntz), and every conversion Spark might still do uses UTC, which has no DST gaps.
SESSION_TIME_ZONE = "UTC"

LOG_CONFIG = PROJECT_ROOT / "conf" / "log4j2.properties"

_DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def jar_paths(settings: Settings) -> list[str]:
    """The Delta/S3 jars resolved by ``make jars``; a clear error when they are missing."""
    jars = sorted(glob.glob(os.path.join(settings.jars_dir, "*.jar")))
    if not any(os.path.basename(j).startswith("delta-spark") for j in jars):
        raise NyctaxiError(
            f"Delta Lake jars not found in {settings.jars_dir}: run `make jars` "
            "(Maven resolves them from Maven Central)"
        )
    return jars


def classpath_conf(settings: Settings) -> dict[str, str]:
    """Put the jars on the driver and executor class paths instead of shipping them (spark.jars).

    Shipping copies every jar (the AWS SDK bundle alone is ~690 MB) to each executor's work
    folder at every application start; a class path only needs the same folder on every
    machine, which holds for local mode, the local standalone cluster and our Spark image.
    """
    classpath = os.pathsep.join(jar_paths(settings))
    return {"spark.driver.extraClassPath": classpath, "spark.executor.extraClassPath": classpath}


def session_conf(settings: Settings) -> dict[str, str]:
    """SQL and runtime settings every job uses, whatever launched it."""
    return {
        **_DELTA_CONF,
        "spark.sql.session.timeZone": SESSION_TIME_ZONE,
        "spark.executor.memory": settings.spark_executor_memory,
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        # Delta writes many tiny files for small partitions otherwise.
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.adaptive.coalescePartitions.enabled": "true",
        "spark.ui.showConsoleProgress": "false",
        # The JVM does not JIT-compile a method over 8,000 bytes of bytecode, and Spark's default
        # limit (65,535) keeps whole-stage methods that large: preprocess's one stage of casts,
        # hashes and rules then ran interpreted, 3× slower (3M rows: 39.8 s vs 12.7 s, no-op sink).
        # At 8,000 Spark splits such a stage into compiled pieces instead.
        "spark.sql.codegen.hugeMethodLimit": "8000",
        "spark.sql.debug.maxToStringFields": "200",  # silver has ~30 columns; avoid truncation warnings
        # Delta rebuilds table state from its log with this many tasks (default 50): one (service,
        # month) commit touches a handful of files, so 50 tiny tasks cost more than the work.
        "spark.databricks.delta.snapshotPartitions": str(min(settings.spark_shuffle_partitions, 8)),
        # Nanosecond Parquet timestamps (the pandas default) are refused by Spark otherwise; read as
        # longs, the normaliser converts them (nyctaxi.transform.normalise).
        "spark.sql.legacy.parquet.nanosAsLong": "true",
        "spark.driver.extraJavaOptions": (
            f"-Duser.timezone={SESSION_TIME_ZONE} -Dlog4j2.configurationFile={LOG_CONFIG} "
            f"-Dnyctaxi.log.file={log_file()}"
        ),
        "spark.executor.extraJavaOptions": f"-Duser.timezone={SESSION_TIME_ZONE}",
    }


def s3a_conf(settings: Settings) -> dict[str, str]:
    """``fs.s3a.*`` when a layer lives on object storage: endpoint, path-style, region, credentials.

    Credentials come from the environment only (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY); they
    are put in the Hadoop conf so executors on other machines can use them too. Spark redacts
    keys matching `secret|access.key` in its UI and logs.
    """
    roots = (settings.lake_bronze, settings.lake_silver, settings.lake_gold)
    if not any(root.startswith(("s3://", "s3a://")) for root in roots):
        return {}
    conf = {
        "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.endpoint.region": os.environ.get("AWS_REGION", "us-east-1"),
        # One writer per table partition (the DAG serialises runs); Delta's default S3 log store.
        "spark.hadoop.fs.s3a.fast.upload": "true",
    }
    if settings.s3_endpoint:
        conf["spark.hadoop.fs.s3a.endpoint"] = settings.s3_endpoint
        conf["spark.hadoop.fs.s3a.path.style.access"] = "true"
        conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(settings.s3_endpoint.startswith("https"))
    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        conf["spark.hadoop.fs.s3a.access.key"] = os.environ["AWS_ACCESS_KEY_ID"]
        conf["spark.hadoop.fs.s3a.secret.key"] = os.environ["AWS_SECRET_ACCESS_KEY"]
    return conf


def launched_by_spark_submit() -> bool:
    """spark-submit starts the JVM first and hands PySpark its gateway port."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def build_session(settings: Settings, app_name: str) -> SparkSession:
    """Build (or reuse) the session for ``app_name``.

    Under spark-submit the master and the jar classpath come from the submit command (see
    :func:`submit_command`); run in-process (CLI, tests) they come from settings.
    """
    builder = SparkSession.builder.appName(app_name)
    if not launched_by_spark_submit():
        builder = builder.master(settings.spark_master).config(
            "spark.driver.memory", settings.spark_driver_memory
        )
        # Python workers (pandas UDFs, XGBoost) run this virtualenv's interpreter, as under submit;
        # PySpark reads only the environment variable, when the context starts.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        for key, value in classpath_conf(settings).items():
            builder = builder.config(key, value)
    for key, value in {**session_conf(settings), **s3a_conf(settings)}.items():
        builder = builder.config(key, value)
    route_engine_logs()
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def submit_command(settings: Settings, job_file: str, args: list[str]) -> list[str]:
    """The spark-submit command line that runs ``job_file`` on ``settings.spark_master``."""
    spark_submit = os.path.join(os.path.dirname(__import__("pyspark").__file__), "bin", "spark-submit")
    command = [
        spark_submit,
        "--master",
        settings.spark_master,
        "--driver-memory",
        settings.spark_driver_memory,
    ]
    for key, value in {**classpath_conf(settings), **session_conf(settings)}.items():
        command += ["--conf", f"{key}={value}"]
    return command + [job_file, *args]


def submit_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for spark-submit: the driver and executors run this virtualenv's Python (the
    system one lacks pyarrow and nyctaxi), and Spark binds loopback unless told otherwise."""
    env = dict(os.environ if base is None else base)
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env.setdefault("PYSPARK_DRIVER_PYTHON", env["PYSPARK_PYTHON"])
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return env


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
