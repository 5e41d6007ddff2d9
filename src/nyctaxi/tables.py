"""Spark-side I/O: read bronze files and the zone lookup, read/write one Delta partition atomically."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass

import delta.exceptions as delta_errors
import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from delta.tables import DeltaTable
from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from nyctaxi.contract import PARTITION_COLUMNS
from nyctaxi.errors import BadSourceFile, ConcurrentRun, ContractViolation, MissingInput
from nyctaxi.lake import python_uri, spark_uri
from nyctaxi.months import Month
from nyctaxi.schemas import ZONE_LOOKUP
from nyctaxi.transform.normalise import MALFORMED, SourceTimestamps


def _first_line(error: Exception) -> str:
    """The useful line of a Spark/JVM error (py4j puts "An error occurred while calling…" first)."""
    is_java = isinstance(error, Py4JJavaError)
    text = str(error.java_exception.getMessage() or "") if is_java else str(error)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else type(error).__name__


PARQUET_MAGIC = b"PAR1"


def check_parquet_magic(uri: str, name: str) -> None:
    """Refuse a file that is not Parquet before Spark does (with a JVM stack trace in its log)."""
    fs, path = fsspec.core.url_to_fs(python_uri(uri))
    size = fs.size(path)
    with fs.open(path, "rb") as handle:
        head = handle.read(4)
        handle.seek(max(size - 4, 0))
        tail = handle.read(4)
    if size < 12 or head != PARQUET_MAGIC or tail != PARQUET_MAGIC:
        raise BadSourceFile(f"{name}: not a Parquet file ({size:,} bytes, no PAR1 header/footer)")


@dataclass(frozen=True)
class TripFile:
    """A raw TLC file as Spark reads it, and what its own metadata says of its timestamps."""

    frame: DataFrame
    stored: SourceTimestamps


def _arrow_schema(uri: str, name: str) -> pa.Schema:
    fs, path = fsspec.core.url_to_fs(python_uri(uri))
    with fs.open(path, "rb") as handle:
        try:
            return pq.ParquetFile(handle).schema_arrow
        except (pa.ArrowException, OSError) as error:
            raise BadSourceFile(f"{name}: not a readable Parquet file ({error})") from error


def source_timestamps(schema: pa.Schema) -> SourceTimestamps:
    """Zoned and nanosecond columns, from the file's Arrow schema (which keeps a writer's zone
    even where Parquet cannot, as in INT96)."""
    stamps = [f for f in schema if pa.types.is_timestamp(f.type)]
    return SourceTimestamps(
        zoned=frozenset(f.name for f in stamps if f.type.tz is not None),
        nanos=frozenset(f.name for f in stamps if f.type.unit == "ns"),
    )


def csv_header(uri: str, name: str) -> list[str]:
    """The header of a CSV (or gzip CSV) file, read here so the reader gets an explicit schema."""
    fs, path = fsspec.core.url_to_fs(python_uri(uri))
    with fs.open(path, "rb") as raw, gzip.open(raw) if name.endswith(".gz") else raw as handle:
        head = handle.read(1 << 16)  # not readline(limit): object-store files take no limit
    line = head.split(b"\n", 1)[0]
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadSourceFile(f"{name}: the header is not UTF-8 text ({error})") from error
    header = next(csv.reader([text]), [])
    if len(header) < 2:
        raise BadSourceFile(f"{name}: no CSV header (first line {text.strip()[:80]!r})")
    return [column.strip() for column in header]


def read_trip_file(spark: SparkSession, uri: str, name: str) -> TripFile:
    """A raw TLC file with its own schema; ``name`` (the original file name) says its format.

    CSV is read as text with an explicit schema from its header (never inferSchema), strictly:
    quoted fields may hold commas and newlines (multiLine), and a record whose field count
    differs from the header's lands whole in MALFORMED instead of being shifted into columns.
    """
    if name.endswith(".parquet"):
        check_parquet_magic(uri, name)
        schema = _arrow_schema(uri, name)
        try:
            return TripFile(spark.read.parquet(spark_uri(uri)), source_timestamps(schema))
        except (PySparkException, Py4JJavaError) as error:
            raise BadSourceFile(f"{name}: not a readable Parquet file ({_first_line(error)})") from error
    header = csv_header(uri, name)
    schema = T.StructType([T.StructField(c, T.StringType()) for c in header + [MALFORMED]])
    frame = (
        spark.read.schema(schema)
        .option("header", True)
        .option("enforceSchema", True)  # the header was read above, BOM and all
        .option("multiLine", True)
        .option("escape", '"')  # RFC 4180: a quote inside a quoted field is doubled (Spark: backslash)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", MALFORMED)
        .csv(spark_uri(uri))
    )
    return TripFile(frame, SourceTimestamps())


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


def commit_metadata(service: str, month: Month, run_id: str, **facts) -> str:
    """What every commit of ours says about itself (Delta ``userMetadata``): whose, which month."""
    return json.dumps({"service": service, "month": str(month), "run_id": run_id, **facts}, sort_keys=True)


def ensure_table(
    spark: SparkSession, uri: str, schema: T.StructType, stats_columns: Sequence[str] | None
) -> None:
    """Create the (empty, partitioned) table once, before any month writes to it.

    Two first runs of different months on a fresh lake would otherwise both try to create it in
    their data commit, and Delta fails the second one; creating it apart makes that race harmless
    (the loser finds the table made) and leaves month writes touching only their own partition."""
    if DeltaTable.isDeltaTable(spark, spark_uri(uri)):
        return
    options = {"delta.dataSkippingStatsColumns": ",".join(stats_columns)} if stats_columns else {}
    try:
        (
            spark.createDataFrame([], schema)
            .write.format("delta")
            .options(**options)
            .mode("append")
            .partitionBy(*PARTITION_COLUMNS)
            .save(spark_uri(uri))
        )
    except COMMIT_CONFLICTS:
        # Another run committed the table's first version while we tried to: that commit is the
        # conflict. (Asking isDeltaTable again here answered False, from this session's cache.)
        return


def write_partition(df: DataFrame, uri: str, service: str, month: Month, metadata: str) -> int:
    """Replace exactly one (service, month) partition in one Delta commit (other months untouched);
    returns the version it committed. ``metadata`` (see :func:`commit_metadata`) names the run.

    Two runs of the same partition at once: the first commit wins; the other fails with
    ConcurrentRun and leaves nothing of its own (its data files are never referenced).
    """
    try:
        (
            df.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", partition_predicate(service, month))
            .option("userMetadata", metadata)
            .partitionBy(*PARTITION_COLUMNS)
            .save(spark_uri(uri))
        )
    except COMMIT_CONFLICTS as error:
        raise ConcurrentRun(
            f"{uri} ({service} {month}): another run of {service} {month} committed while this one was "
            f"writing ({type(error).__name__}); its result stands and this run's output was discarded"
        ) from error
    return commit_of(df.sparkSession, uri, metadata)


def commits_since(spark: SparkSession, uri: str, version: int) -> list[tuple[int, str, dict]]:
    """(version, operation, our metadata or {}) of every commit after ``version``, oldest first."""
    table = DeltaTable.forPath(spark, spark_uri(uri))
    latest = table.history(1).first()["version"]
    if latest <= version:
        return []
    rows = table.history(latest - version).select("version", "operation", "userMetadata").collect()
    found = []
    for row in sorted(rows, key=lambda r: r["version"]):
        try:
            meta = json.loads(row["userMetadata"]) if row["userMetadata"] else {}
        except ValueError:  # someone else's free text
            meta = {}
        found.append((row["version"], row["operation"], meta if isinstance(meta, dict) else {}))
    return found


def commit_of(spark: SparkSession, uri: str, metadata: str) -> int:
    """The version of the commit that carries ``metadata`` (a run's own, among the latest few)."""
    wanted = json.loads(metadata)
    rows = DeltaTable.forPath(spark, spark_uri(uri)).history(50).select("version", "userMetadata").collect()
    for row in sorted(rows, key=lambda r: -r["version"]):
        if row["userMetadata"] and json.loads(row["userMetadata"]) == wanted:
            return row["version"]
    # Delta commits nothing for a write that adds and removes no file (an empty partition written
    # over an empty one): the partition is then as wanted at the latest version.
    return max(row["version"] for row in rows)


def table_version(spark: SparkSession, uri: str) -> int:
    """Latest committed version of a Delta table (clear error when the table does not exist)."""
    if not DeltaTable.isDeltaTable(spark, spark_uri(uri)):
        raise MissingInput(f"no Delta table at {uri}: run the earlier stage first")
    return DeltaTable.forPath(spark, spark_uri(uri)).history(1).collect()[0]["version"]


def read_partition(spark: SparkSession, uri: str, service: str, month: Month, version: int) -> DataFrame:
    """One (service, month) partition as of ``version`` (recorded, so runs trace to their data)."""
    return (
        spark.read.format("delta")
        .option("versionAsOf", version)
        .load(spark_uri(uri))
        .where(partition_predicate(service, month))
    )
