"""The one envelope every Spark job runs in, and the catalog's Spark face.

A job body is ``body(ctx: JobContext) -> Result``. It reads tables with ``ctx.read`` (the month's
published version unless told otherwise) and writes them with ``ctx.write`` (schema checked,
table created with its declared partitioning and statistics, the commit's version and row count
returned); both are recorded as the run's inputs and outputs. Files and models it uses or makes
are recorded with ``ctx.used`` / ``ctx.made``. :func:`run` owns the rest: the lake, the run id,
the run report (contract §5, written when the body returns or fails) and turning any failure into
one line that names the log holding its trace. No job builds a RunReport.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession

from nyctaxi import catalog
from nyctaxi.config import Settings
from nyctaxi.failures import explain
from nyctaxi.lake import Lake
from nyctaxi.months import Month
from nyctaxi.publication import MonthRecord, published_partition
from nyctaxi.quality.report import RunReport, save_report
from nyctaxi.tables import (
    Commit,
    check_schema,
    commit_metadata,
    ensure_table,
    read_partition,
    table_version,
    write_partition,
)


@dataclass(frozen=True)
class Partition:
    """One (service, month) partition of a table as read: its rows and the version they are at."""

    table: str
    uri: str
    month: Month
    version: int
    frame: DataFrame
    record: MonthRecord | None  # the publication record that named the version (None: asked for)


class Catalog:
    """Read and write the catalog's tables (`nyctaxi.catalog`) by name. A write checks the frame
    against the table's schema and creates the table with its partitioning and statistics."""

    def __init__(self, spark: SparkSession, lake: Lake) -> None:
        self.spark, self.lake = spark, lake

    def read(self, table: str, service: str, month: Month, version: int | None = None) -> Partition:
        """The partition at ``version``; by default the version the month's publication record
        names (MissingInput when the month is not published), or the latest for a table no
        record publishes."""
        uri, record = self.lake.table(table), None
        if version is None and catalog.table(table).published_by:
            frame, version, record = published_partition(self.spark, self.lake, table, service, month)
            return Partition(table, uri, month, version, frame, record)
        if version is None:
            version = table_version(self.spark, uri)
        return Partition(
            table, uri, month, version, read_partition(self.spark, uri, service, month, version), None
        )

    def write(self, df: DataFrame, table: str, service: str, month: Month, metadata: str) -> Commit:
        """Replace the (service, month) partition of ``table`` with ``df`` in one commit."""
        spec, uri = catalog.table(table), self.lake.table(table)
        check_schema(df, spec.schema, table)
        ensure_table(self.spark, uri, spec.schema, spec.stats_columns)
        version, rows = write_partition(df, uri, service, month, metadata)
        return Commit(table, uri, version, rows)


@dataclass
class Result:
    """What a job body returns, or what a refusal carries (``NyctaxiError(result=…)``)."""

    rows_in: int | None = None
    rows_out: int | None = None
    rows_quarantined: int | None = None
    reasons: dict[str, int] | None = None
    cast_failures: dict[str, int] = field(default_factory=dict)
    unexpected_columns: list[str] = field(default_factory=list)
    source_sha256: str | None = None  # the bronze file the outputs were built from
    summary: dict = field(default_factory=dict)


@dataclass
class JobContext:
    """What a job body works with: the session, settings, lake and catalog of its run."""

    spark: SparkSession
    settings: Settings
    lake: Lake
    service: str
    month: Month  # the month the run reports on
    run_id: str
    inputs: list[dict] = field(default_factory=list)
    outputs: list[dict] = field(default_factory=list)

    @property
    def catalog(self) -> Catalog:
        """Unrecorded reads (e.g. reference months that may be absent)."""
        return Catalog(self.spark, self.lake)

    def read(self, table: str, month: Month | None = None, version: int | None = None) -> Partition:
        read = self.catalog.read(table, self.service, month or self.month, version)
        source = read.record.source_sha256 if read.record else None
        self.used(
            table=table, uri=read.uri, month=str(read.month), version=read.version, source_sha256=source
        )
        return read

    def write(self, df: DataFrame, table: str, month: Month | None = None, **facts) -> Commit:
        """``facts`` go into the commit's metadata beside the service, month and run id."""
        month = month or self.month
        metadata = commit_metadata(self.service, month, self.run_id, **facts)
        commit = self.catalog.write(df, table, self.service, month, metadata)
        self.made(table=table, uri=commit.uri, version=commit.version, rows=commit.rows)
        return commit

    def used(self, **item) -> None:
        """Record an input that is not a table partition (a source file, a model version)."""
        self.inputs.append(item)

    def made(self, **item) -> None:
        """Record an output that is not a table partition (an HTML report)."""
        self.outputs.append(item)


def run(
    stage: str,
    body: Callable[[JobContext], Result],
    spark: SparkSession,
    settings: Settings,
    service: str,
    month: Month,
) -> RunReport:
    """Run ``body`` for (service, month) and save its report: succeeded, or failed with the error
    as one line (raised as a NyctaxiError naming the log file that holds the full trace)."""
    lake = Lake.from_settings(settings)
    report = RunReport(stage, service, str(month), engine=spark.sparkContext.master)
    ctx = JobContext(spark, settings, lake, service, month, report.run_id, report.inputs, report.outputs)
    try:
        result = body(ctx)
    except Exception as error:
        _fill(report, getattr(error, "result", None))
        explained = explain(error, report)
        save_report(lake, report.finish(explained))
        if explained is error:
            raise
        raise explained from error
    save_report(lake, _fill(report, result).finish())
    return report


def _fill(report: RunReport, result: Result | None) -> RunReport:
    if result is not None:
        for name, value in vars(result).items():
            if value is not None:
                setattr(report, name, value)
    return report
