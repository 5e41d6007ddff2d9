"""A month changes all together or not at all (contract §6): write, audit, then publish.

Two Delta tables cannot commit in one transaction, so a month's published state is not "the
latest version of each table" but what its **publication record** says:
``<layer>/_published/<service>/<YYYY-MM>.json`` names, for each table of the layer, the version
that holds the month's published partition, and the bronze sha256 it was built from. A run

1. writes its partitions (one Delta commit each, tagged with its run id),
2. checks everything (row counts, the rejection budget),
3. publishes by replacing the record in one atomic write — the only commit point.

Stages read a month at the versions its record names, so a run that fails, is refused or is
killed between its commits is never seen: not by a later stage, not by a rerun. Its commits are
then rolled back (`reconcile`): at once when it fails, at the next run of the month when it was
killed, so that a plain reader of the tables' latest version sees the published month too.
See docs/month-publication.md.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession

from nyctaxi import catalog
from nyctaxi.errors import MissingInput
from nyctaxi.lake import Lake, utc_now
from nyctaxi.months import Month
from nyctaxi.storage import spark_uri
from nyctaxi.tables import COMMIT_CONFLICTS, commit_metadata, commits_since, read_partition, write_partition

NOTHING = -1  # "no version": the month was never published in this table


@dataclass(frozen=True)
class MonthRecord:
    """What a layer publishes of a month: table versions, and what they were built from."""

    layer: str
    service: str
    month: str
    run_id: str
    source_sha256: str | None  # the bronze file the month was built from (contract §6)
    source_file: str | None
    tables: dict[str, int]  # table → the version holding the month's published partition
    inputs: dict[str, int] = field(default_factory=dict)  # gold: the silver versions it read
    published_at: str = field(default_factory=utc_now)


def read_record(lake: Lake, layer: str, service: str, month: Month) -> MonthRecord | None:
    uri = lake.publication(layer, service, month)
    return MonthRecord(**lake.read_json(uri)) if lake.exists(uri) else None


def publish(lake: Lake, record: MonthRecord) -> str:
    """The commit point of a run: one atomic replace of the month's record."""
    uri = lake.publication(record.layer, record.service, Month.parse(record.month))
    lake.write_json_atomic(uri, asdict(record))
    return uri


def published_version(lake: Lake, table: str, service: str, month: Month) -> int | None:
    """The version holding the month's published partition of ``table`` (None: not published)."""
    record = read_record(lake, catalog.table(table).layer, service, month)
    return record.tables.get(table) if record else None


def published_partition(
    spark: SparkSession, lake: Lake, table: str, service: str, month: Month
) -> tuple[DataFrame, int, MonthRecord]:
    """The month's published rows of ``table``, the version they are at, and the record."""
    layer = catalog.table(table).layer
    record = read_record(lake, layer, service, month)
    if record is None or table not in record.tables:
        raise MissingInput(
            f"{layer} {table} has no published {service} {month}: run `nyctaxi {catalog.publishing_stage(layer)} "
            f"--service {service} --month {month}` first"
        )
    version = record.tables[table]
    return read_partition(spark, lake.table(table), service, month, version), version, record


def reconcile(
    spark: SparkSession,
    lake: Lake,
    layer: str,
    service: str,
    month: Month,
    run_id: str,
    only_own: bool = False,
) -> list[str]:
    """Roll back what runs that did not publish left in the month's partitions of ``layer``:
    each goes back to the version its record names (or to empty when never published).
    ``only_own``: only where run ``run_id`` made the last commit (a failing run undoing itself
    must not undo a concurrent run of the month that may still publish).
    Returns the tables restored. Commits that are not ours (no run metadata) are left alone."""
    record = read_record(lake, layer, service, month)
    restored = []
    for table in catalog.published_tables(layer):
        uri = lake.table(table)
        if not DeltaTable.isDeltaTable(spark, spark_uri(uri)):
            continue
        base = record.tables.get(table, NOTHING) if record else NOTHING
        touching = [
            (version, operation, meta)
            for version, operation, meta in commits_since(spark, uri, base)
            if meta.get("service") == service and meta.get("month") == str(month)
        ]
        if not touching or touching[-1][2].get("restores") == base:
            continue
        if only_own and touching[-1][2].get("run_id") != run_id:
            continue
        _restore(
            spark, uri, service, month, base, touching, commit_metadata(service, month, run_id, restores=base)
        )
        restored.append(table)
    return restored


def _restore(
    spark: SparkSession, uri: str, service: str, month: Month, base: int, touching, meta: str
) -> None:
    """Put one partition back to ``base``. When the only stray commit is the table's latest, Delta's
    RESTORE to the version before it is exact and writes no data (it works on a full disk too);
    otherwise the partition is rewritten from ``base`` (or emptied) in one replaceWhere commit."""
    table = DeltaTable.forPath(spark, spark_uri(uri))
    latest = table.history(1).first()["version"]
    if len(touching) == 1 and touching[0][0] == latest and touching[0][1] == "WRITE":
        try:
            with _commit_info(spark, meta):
                table.restoreToVersion(latest - 1)
            return
        except COMMIT_CONFLICTS:
            pass  # another month committed meanwhile: rewrite just this partition instead
    if base == NOTHING:
        rows = spark.createDataFrame([], spark.read.format("delta").load(spark_uri(uri)).schema)
    else:
        rows = read_partition(spark, uri, service, month, base)
    write_partition(rows, uri, service, month, meta)


@contextmanager
def _commit_info(spark: SparkSession, meta: str):
    """Delta's RESTORE takes no userMetadata option; the session setting tags its commit."""
    key = "spark.databricks.delta.commitInfo.userMetadata"
    spark.conf.set(key, meta)
    try:
        yield
    finally:
        spark.conf.unset(key)
