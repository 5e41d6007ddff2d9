"""Delta tables of the lake: create one, read or replace one (service, month) partition atomically,
and what each commit says about itself. Source files are read in `nyctaxi.readers`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import delta.exceptions as delta_errors
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from nyctaxi.contract import PARTITION_COLUMNS
from nyctaxi.errors import ConcurrentRun, ContractViolation, MissingInput
from nyctaxi.months import Month
from nyctaxi.storage import spark_uri


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


@dataclass(frozen=True)
class Commit:
    """One write of a (service, month) partition: the version it committed and the rows it wrote
    (both from the commit's own log entry)."""

    table: str
    uri: str
    version: int
    rows: int


def ensure_table(spark: SparkSession, uri: str, schema: T.StructType, stats_columns: Sequence[str]) -> None:
    """Create the (empty, partitioned) table once, before any month writes to it.

    Two first runs of different months on a fresh lake would otherwise both try to create it in
    their data commit, and Delta fails the second one; creating it apart makes that race harmless
    (the loser finds the table made) and leaves month writes touching only their own partition."""
    if DeltaTable.isDeltaTable(spark, spark_uri(uri)):
        return
    if stats_columns:
        options = {"delta.dataSkippingStatsColumns": ",".join(stats_columns)}
    else:  # min/max of no column
        options = {"delta.dataSkippingNumIndexedCols": "0"}
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


def write_partition(df: DataFrame, uri: str, service: str, month: Month, metadata: str) -> tuple[int, int]:
    """Replace exactly one (service, month) partition in one Delta commit (other months untouched);
    returns (the version it committed, rows written). ``metadata`` (see :func:`commit_metadata`) names the run.

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


def commit_of(spark: SparkSession, uri: str, metadata: str) -> tuple[int, int]:
    """(version, rows written) of the commit that carries ``metadata`` (a run's own, among the
    latest few), from one read of the table's log."""
    wanted = json.loads(metadata)
    history = DeltaTable.forPath(spark, spark_uri(uri)).history(50)
    rows = history.select("version", "userMetadata", "operationMetrics").collect()
    for row in sorted(rows, key=lambda r: -r["version"]):
        if row["userMetadata"] and json.loads(row["userMetadata"]) == wanted:
            return row["version"], int((row["operationMetrics"] or {}).get("numOutputRows", 0))
    # Delta commits nothing for a write that adds and removes no file (an empty partition written
    # over an empty one): the partition is then as wanted, and empty, at the latest version.
    return max(row["version"] for row in rows), 0


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
