"""Job `preprocess`: bronze (service, month) → silver `trips` + `quarantine` + run report.

Write, audit, publish (contract §6, docs/month-publication.md): the month's two partitions are
committed, checked, and only then published by the silver record; a run that fails or is refused
rolls its commits back and changes nothing published. The bronze candidate it read becomes the
month's current file only after that.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from nyctaxi.config import Settings
from nyctaxi.contract import REASON_CODES, SOURCE_VALUE_COLUMNS
from nyctaxi.errors import BadSourceFile, ContractViolation, NyctaxiError, RejectionBudgetExceeded
from nyctaxi.ingest import versions
from nyctaxi.jobs import envelope
from nyctaxi.jobs.envelope import JobContext, Result
from nyctaxi.lake import Lake, join
from nyctaxi.logs import record_trace
from nyctaxi.months import Month
from nyctaxi.publication import MonthRecord, publish, read_record, reconcile
from nyctaxi.quality.report import RunReport
from nyctaxi.readers import read_trip_file
from nyctaxi.schemas import SILVER_QUARANTINE, SILVER_TRIPS
from nyctaxi.spark import shuffled_once
from nyctaxi.storage import spark_uri
from nyctaxi.transform.normalise import MALFORMED, check_source_types, map_columns, normalise
from nyctaxi.transform.rules import classify, pickup_outside

# A file whose pickups mostly fall outside its month is a mislabeled file, not a dirty month.
MISLABELED_FRACTION = 0.5
# Refusals are about the file: the candidate is marked refused. Other failures (a full disk, a
# lost race) say nothing about it, and it stays pending for the next run.
REFUSALS = (BadSourceFile, RejectionBudgetExceeded, ContractViolation)


def month_fit(normalised: DataFrame, month: Month) -> tuple[int, int]:
    """(rows, pickups outside the month): one pass over the pickup column, before any write."""
    row = normalised.agg(
        F.count(F.lit(1)).alias("rows"), F.sum(pickup_outside(month).cast("long")).alias("outside")
    ).first()
    return int(row["rows"]), int(row["outside"] or 0)


CAST = "cast:"  # the observed key of a column's cast failures, beside the reason codes


def counted(df: DataFrame, name: str, *more: Column) -> tuple[DataFrame, Observation]:
    """``df`` observed: its rows (and the aggregates ``more``) are counted while it is written,
    no extra pass."""
    observation = Observation(name)
    return df.observe(observation, F.count(F.lit(1)).alias("rows"), *more), observation


def tallies() -> list[Column]:
    """Rejected rows, rows per reason and cast failures per column. Observed on the rows that are
    rejected or have a failed cast (a few percent of a month): the other rows add nothing to any
    of them, and 36 aggregates over every row made the trips write ~40 % slower."""
    rejected = F.sum((F.size("reject_reasons") > 0).cast("long")).alias("rejected")
    per_reason = [
        F.sum(F.array_contains("reject_reasons", code).cast("long")).alias(code) for code in REASON_CODES
    ]
    per_column = [
        F.sum(F.array_contains("cast_failed", c).cast("long")).alias(f"{CAST}{c}")
        for c in SOURCE_VALUE_COLUMNS
    ]
    return [rejected, *per_reason, *per_column]


def observed_tallies(observation: Observation) -> tuple[int, dict[str, int], dict[str, int]]:
    """(rejected rows, per-reason counts, per-column cast failures) of :func:`tallies`."""
    counts = {key: int(value or 0) for key, value in observation.get.items()}
    reasons = {code: counts[code] for code in REASON_CODES}
    casts = {c: counts[f"{CAST}{c}"] for c in SOURCE_VALUE_COLUMNS if counts[f"{CAST}{c}"]}
    return counts["rejected"], reasons, casts


def run(spark: SparkSession, settings: Settings, service: str, month: Month) -> RunReport:
    return envelope.run("preprocess", _preprocess, spark, settings, service, month)


def _preprocess(ctx: JobContext) -> Result:
    service, month, lake = ctx.service, ctx.month, ctx.lake
    _finish_promotion(lake, service, month, ctx.run_id)
    reconcile(ctx.spark, lake, "silver", service, month, ctx.run_id)  # a killed run's commits
    source = versions.preprocess_input(lake, service, month)
    ctx.used(uri=source.uri, file_name=source.name, sha256=source.sha256)
    try:
        record, result = _write_and_audit(ctx, source)
    except Exception as error:
        _roll_back(ctx, source, error)
        raise
    publish(lake, record)
    if source.candidate:
        versions.promote(lake, service, month, source, ctx.run_id)
    return result


def _finish_promotion(lake: Lake, service: str, month: Month, run_id: str) -> None:
    """A run killed after publishing but before promoting its bronze file: finish that promotion,
    so bronze agrees with the silver record again."""
    record = read_record(lake, "silver", service, month)
    candidate = versions.pending_candidate(lake, service, month)
    if record and candidate and candidate.sha256 == record.source_sha256:
        versions.promote(lake, service, month, candidate, run_id)


def _roll_back(ctx: JobContext, source: versions.BronzeFile, error: Exception) -> None:
    """Undo this run's commits (best effort: the record was never replaced, so readers are safe
    even when this fails, e.g. on a full disk; the next run retries it)."""
    try:
        reconcile(ctx.spark, ctx.lake, "silver", ctx.service, ctx.month, ctx.run_id, only_own=True)
    except Exception as undo_error:  # noqa: BLE001 - the original error is the one to report
        record_trace(f"rollback of run {ctx.run_id} deferred to the next run", undo_error)
    if isinstance(error, REFUSALS):
        versions.refuse(ctx.lake, source, ctx.run_id, str(error).split(";")[0])


def _read_input(ctx: JobContext, source: versions.BronzeFile):
    """The source file as Spark reads it. A gzip candidate is read through a copy that keeps its
    name: Hadoop picks the codec from the extension, and a version's name ends in its sha256."""
    if source.candidate and source.name.endswith(".gz"):
        staged = join(ctx.lake.silver, "_staging", ctx.run_id, source.name)
        ctx.lake.copy_atomic(source.uri, staged)
        return read_trip_file(ctx.spark, ctx.lake.store, staged, source.name), staged
    return read_trip_file(ctx.spark, ctx.lake.store, source.uri, source.name), None


def _write_and_audit(ctx: JobContext, source: versions.BronzeFile) -> tuple[MonthRecord, Result]:
    trip_file, staged = _read_input(ctx, source)
    try:
        return _classify_and_write(ctx, source, trip_file)
    finally:
        if staged:
            ctx.lake.remove(staged)


def _classified(ctx: JobContext, source: versions.BronzeFile, trip_file) -> tuple[DataFrame, Result]:
    """The month's rows with their reject reasons, after the checks that refuse the whole file."""
    month, file_name, raw = ctx.month, source.name, trip_file.frame
    mapping = map_columns([c for c in raw.columns if c != MALFORMED], ctx.service, file_name)
    check_source_types(raw.schema, mapping, trip_file.stored, file_name)
    normalised = normalise(raw, ctx.service, file_name, mapping, trip_file.stored)
    rows, outside = month_fit(normalised, month)
    where = f"kept aside in {source.uri}" if source.candidate else "the current bronze file"
    if rows == 0:
        raise BadSourceFile(
            f"{file_name}: the file has no rows; an empty month is never published over a full one "
            f"(nothing published changed; the file is {where})"
        )
    if outside / rows > MISLABELED_FRACTION:
        raise BadSourceFile(
            f"{file_name}: {outside:,} of {rows:,} pickups fall outside {month}; "
            f"the file does not hold that month's trips (nothing published changed; the file is {where})"
        )
    # Classified once: the read, casts, hashes and the shuffle by trip_id run here, a single time;
    # both writes build on that shuffle's output (nothing cached: a 10M-row month cached in
    # memory ran a 2 GB driver out of heap, and caching on disk cost more than it saved).
    classified = shuffled_once(normalised.transform(classify, month).withColumn("month", F.lit(str(month))))
    found = Result(rows_in=rows, unexpected_columns=mapping.unexpected, source_sha256=source.sha256)
    return classified, found


def _classify_and_write(
    ctx: JobContext, source: versions.BronzeFile, trip_file
) -> tuple[MonthRecord, Result]:
    classified, found = _classified(ctx, source, trip_file)
    is_rejected = F.size("reject_reasons") > 0
    notable = classified.where(is_rejected | (F.size("cast_failed") > 0))
    notable, observation = counted(
        notable.select(*SILVER_QUARANTINE.fieldNames(), "cast_failed"), "notable", *tallies()
    )
    quarantine = ctx.write(
        notable.where(is_rejected).drop("cast_failed"), "quarantine", source_sha256=source.sha256
    )
    found.rows_quarantined, found.reasons, found.cast_failures = observed_tallies(observation)
    if found.rows_quarantined / found.rows_in > ctx.settings.max_reject_fraction:
        raise _over_budget(ctx, found, quarantine.version)
    trips, observation = counted(classified.where(~is_rejected).select(*SILVER_TRIPS.fieldNames()), "trips")
    trips_commit = ctx.write(trips, "trips", source_sha256=source.sha256)
    found.rows_out = int(observation.get["rows"])
    if found.rows_out + found.rows_quarantined != found.rows_in:
        raise ContractViolation(
            f"{source.name}: {found.rows_in:,} rows read but {found.rows_out:,} in silver and "
            f"{found.rows_quarantined:,} in quarantine; the two writes over the file disagree",
            result=found,
        )
    tables = {"quarantine": quarantine.version, "trips": trips_commit.version}
    record = MonthRecord(
        "silver", ctx.service, str(ctx.month), ctx.run_id, source.sha256, source.name, tables
    )
    return record, found


def _over_budget(ctx: JobContext, found: Result, version: int) -> NyctaxiError:
    """Keep the refused run's rejected rows under silver `_rejected/` (for inspection, never read
    by a stage); the error names the top reasons and that place."""
    kept = ctx.lake.rejected(ctx.service, ctx.month, ctx.run_id)
    ctx.catalog.read("quarantine", ctx.service, ctx.month, version).frame.write.mode("errorifexists").parquet(
        spark_uri(kept)
    )
    top = sorted(found.reasons.items(), key=lambda kv: -kv[1])[:3]
    share, limit = found.rows_quarantined / found.rows_in, ctx.settings.max_reject_fraction
    named = ", ".join(f"{code} {count:,}" for code, count in top if count)
    return RejectionBudgetExceeded(
        f"{ctx.service} {ctx.month}: {share:.1%} of {found.rows_in:,} rows quarantined, over the "
        f"budget of {limit:.0%} (top reasons: {named}; a row may carry several); nothing published "
        f"changed; the rejected rows are in {kept}",
        result=found,
    )
