"""Spark-side I/O: read bronze files and the zone lookup, read/write one Delta partition atomically."""

from __future__ import annotations

from collections.abc import Sequence

import delta.exceptions as delta_errors
import fsspec
from delta.tables import DeltaTable
from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from nyctaxi.errors import BadSourceFile, ConcurrentRun, ContractViolation, MissingInput
from nyctaxi.lake import python_uri, spark_uri
from nyctaxi.months import Month
from nyctaxi.schemas import PARTITION_COLUMNS, ZONE_LOOKUP


def _first_line(error: Exception) -> str:
    """The useful line of a Spark/JVM error (py4j puts "An error occurred while calling…" first)."""
    is_java = isinstance(error, Py4JJavaError)
    text = str(error.java_exception.getMessage() or "") if is_java else str(error)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else type(error).__name__


PARQUET_MAGIC = b"PAR1"


def check_parquet_magic(uri: str) -> None:
    """Refuse a file that is not Parquet before Spark does (with a JVM stack trace in its log)."""
    name = uri.rsplit("/", 1)[-1]
    fs, path = fsspec.core.url_to_fs(python_uri(uri))
    size = fs.size(path)
    with fs.open(path, "rb") as handle:
        head = handle.read(4)
        handle.seek(max(size - 4, 0))
        tail = handle.read(4)
    if size < 12 or head != PARQUET_MAGIC or tail != PARQUET_MAGIC:
        raise BadSourceFile(f"{name}: not a Parquet file ({size:,} bytes, no PAR1 header/footer)")


def read_trip_file(spark: SparkSession, uri: str) -> DataFrame:
    """A raw TLC file with its own schema. CSV is read as text (never inferSchema): the
    normaliser casts each column explicitly, so one odd value cannot change a column's type."""
    name = uri.rsplit("/", 1)[-1]
    if name.endswith(".parquet"):
        check_parquet_magic(uri)
    try:
        if name.endswith(".parquet"):
            return spark.read.parquet(spark_uri(uri))
        # .csv and .csv.gz (Hadoop picks the gzip codec from the extension)
        return (
            spark.read.option("header", True)
            .option("inferSchema", False)
            .option("mode", "PERMISSIVE")
            .csv(spark_uri(uri))
        )
    except (PySparkException, Py4JJavaError) as error:
        kind = "Parquet" if name.endswith(".parquet") else "CSV"
        raise BadSourceFile(f"{name}: not a readable {kind} file ({_first_line(error)})") from error


def read_zone_lookup(spark: SparkSession, uri: str) -> DataFrame:
    """The zone lookup with its declared schema; "N/A" and "NA" stay literal strings."""
    return (
        spark.read.option("header", True)
        .option("nullValue", "")
        .schema(ZONE_LOOKUP)
        .option("enforceSchema", False)
        .csv(spark_uri(uri))
    )


def check_schema(df: DataFrame, schema: T.StructType, table: str) -> DataFrame:
    """Refuse to write a frame whose columns/types differ from the declared contract."""
    actual = [(f.name, f.dataType) for f in df.schema.fields]
    expected = [(f.name, f.dataType) for f in schema.fields]
    if actual != expected:
        diff = sorted(set(expected) ^ set(actual), key=str)
        raise ContractViolation(f"{table}: output schema differs from the contract: {diff}")
    return df


def partition_predicate(service: str, month: Month) -> str:
    return f"service = '{service}' AND month = '{month}'"


# Delta's optimistic concurrency: the commit that comes second sees the first one's files and fails.
COMMIT_CONFLICTS = (
    delta_errors.ConcurrentAppendException,
    delta_errors.ConcurrentDeleteReadException,
    delta_errors.ConcurrentDeleteDeleteException,
    delta_errors.ConcurrentTransactionException,
    delta_errors.ConcurrentWriteException,
    delta_errors.MetadataChangedException,
    delta_errors.ProtocolChangedException,
    delta_errors.DeltaConcurrentModificationException,
)


def write_partition(
    df: DataFrame, uri: str, service: str, month: Month, stats_columns: Sequence[str] | None = None
) -> None:
    """Replace exactly one (service, month) partition in one Delta commit (other months untouched).

    ``stats_columns``: the columns Delta keeps min/max statistics of, set when the write creates
    the table (default: Delta's first 32). Statistics of every column cost a fifth of a silver write.

    Two runs of the same partition at once: the first commit wins; the other fails with
    ConcurrentRun and leaves nothing of its own (its data files are never referenced).
    """
    options = {"delta.dataSkippingStatsColumns": ",".join(stats_columns)} if stats_columns else {}
    try:
        (
            df.write.format("delta")
            .options(**options)
            .mode("overwrite")
            .option("replaceWhere", partition_predicate(service, month))
            .partitionBy(*PARTITION_COLUMNS)
            .save(spark_uri(uri))
        )
    except COMMIT_CONFLICTS as error:
        raise ConcurrentRun(
            f"{uri} ({service} {month}): another run committed to this partition while this one was "
            f"writing ({type(error).__name__}); its result stands and this run's output was discarded"
        ) from error


def table_version(spark: SparkSession, uri: str) -> int:
    """Latest committed version of a Delta table (clear error when the table does not exist)."""
    if not DeltaTable.isDeltaTable(spark, spark_uri(uri)):
        raise MissingInput(f"no Delta table at {uri}: run the earlier stage first")
    return DeltaTable.forPath(spark, spark_uri(uri)).history(1).collect()[0]["version"]


def last_commit(spark: SparkSession, uri: str) -> tuple[int, int]:
    """(version, rows written) of a Delta table's latest commit, from its log (no data read)."""
    entry = DeltaTable.forPath(spark, spark_uri(uri)).history(1).select("version", "operationMetrics").first()
    return entry["version"], int((entry["operationMetrics"] or {}).get("numOutputRows", 0))


def read_partition(spark: SparkSession, uri: str, service: str, month: Month, version: int) -> DataFrame:
    """One (service, month) partition as of ``version`` (recorded, so runs trace to their data)."""
    return (
        spark.read.format("delta")
        .option("versionAsOf", version)
        .load(spark_uri(uri))
        .where(partition_predicate(service, month))
    )
