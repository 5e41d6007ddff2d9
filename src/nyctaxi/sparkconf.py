"""What every Spark application of ours is configured with, whoever starts it: the in-process
session (`nyctaxi.spark`), `nyctaxi submit`, and the DAG's spark-submit tasks (which ask for
:func:`submit_plan` at task time). No pyspark import here: the CLI and the DAG's plan step
build commands without loading Spark."""

from __future__ import annotations

import glob
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nyctaxi.config import Settings
from nyctaxi.errors import NyctaxiError
from nyctaxi.logs import ENV as LOG_FILE_ENV
from nyctaxi.logs import log_file

# Results must not depend on the machine's zone: TLC times are wall-clock NYC time stored without a
# zone (timestamp_ntz), and every conversion Spark might still do uses UTC, which has no DST gaps.
SESSION_TIME_ZONE = "UTC"

# Package data: the JVM log goes to the process's log file (nyctaxi.logs).
LOG_CONFIG = Path(__file__).with_name("log4j2.properties")

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
            f"-Dnyctaxi.log.file={log_file()} {settings.spark_java_options}"
        ).strip(),
        "spark.executor.extraJavaOptions": f"-Duser.timezone={SESSION_TIME_ZONE} {settings.spark_java_options}".strip(),
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


def submit_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for spark-submit: the driver and executors run this virtualenv's Python (the
    system one lacks pyarrow and nyctaxi), and Spark binds loopback unless told otherwise."""
    env = dict(os.environ if base is None else base)
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env.setdefault("PYSPARK_DRIVER_PYTHON", env["PYSPARK_PYTHON"])
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return env


# The spark-submit application of every job: `python -m nyctaxi.jobs <job> …` as a file, inside
# the installed package (a wheel in site-packages as much as a source checkout).
JOBS_MAIN = Path(__file__).with_name("jobs") / "__main__.py"


@dataclass(frozen=True)
class SubmitPlan:
    """One job's spark-submit: everything but the master, which is the launcher's (settings for
    `nyctaxi submit`, the Airflow connection for the DAG)."""

    application: str
    args: list[str]
    driver_memory: str
    conf: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)  # for the driver (and executors' Python)

    def command(self, master: str) -> list[str]:
        spark_submit = os.path.join(os.path.dirname(_pyspark_file()), "bin", "spark-submit")
        command = [spark_submit, "--master", master, "--driver-memory", self.driver_memory]
        for key, value in self.conf.items():
            command += ["--conf", f"{key}={value}"]
        return [*command, self.application, *self.args]

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def _pyspark_file() -> str:
    """pyspark's package file, found without importing it."""
    import importlib.util

    return importlib.util.find_spec("pyspark").origin


def submit_plan(settings: Settings, job: str, args: list[str]) -> SubmitPlan:
    """The spark-submit of registry job ``job`` with its ``args`` (``--service …`` and options)."""
    python = os.environ.get("PYSPARK_PYTHON", sys.executable)
    return SubmitPlan(
        application=str(JOBS_MAIN),
        args=[job, *args],
        driver_memory=settings.spark_driver_memory,
        conf={**classpath_conf(settings), **session_conf(settings)},
        env={"PYSPARK_PYTHON": python, "PYSPARK_DRIVER_PYTHON": python, LOG_FILE_ENV: log_file()},
    )
