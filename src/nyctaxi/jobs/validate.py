"""Job `validate`: the data expectations of one (service, month) over silver and gold; a JSON + HTML
report in the lake; a clear failure naming each broken expectation (blocks training in the DAG)."""

from __future__ import annotations

import math
import statistics
from functools import reduce

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from nyctaxi.config import Settings
from nyctaxi.errors import MissingInput, ValidationFailed
from nyctaxi.jobs import envelope
from nyctaxi.jobs.envelope import JobContext, Result
from nyctaxi.months import Month
from nyctaxi.quality import expectations as ex
from nyctaxi.quality.report import RunReport, validation_html
from nyctaxi.schemas import SILVER_TRIPS

ROWS_PER_TASK = 1_000_000  # rows per partition while the expectations run
NULLABLE_SILVER = [f.name for f in SILVER_TRIPS.fields if f.name not in ex.SILVER_NOT_NULL]


def run(spark: SparkSession, settings: Settings, service: str, month: Month) -> RunReport:
    return envelope.run("validate", _validate, spark, settings, service, month)


def _previous_months(month: Month, count: int) -> list[str]:
    months, current = [], month
    for _ in range(count):
        current = current.previous()
        months.append(str(current))
    return months


def _null_shares(df: DataFrame) -> dict[str, float | None]:
    row = df.agg(*[F.avg(F.col(c).isNull().cast("double")).alias(c) for c in NULLABLE_SILVER]).first()
    return {c: row[c] for c in NULLABLE_SILVER}


def _reference(ctx: JobContext, months: list[str]) -> DataFrame:
    """Silver trips of the previous months that are published, each as its record says."""
    frames = []
    for month in map(Month.parse, months):
        try:
            frames.append(ctx.catalog.read("trips", ctx.service, month).frame)
        except MissingInput:
            continue
    if not frames:
        return ctx.spark.createDataFrame([], SILVER_TRIPS)
    return reduce(DataFrame.unionByName, frames)


def month_summary(ctx: JobContext, frames: dict[str, DataFrame]) -> dict:
    """The month-level facts the month expectations judge, and the reference they compare with."""
    settings = ctx.settings
    counts = {name: frame.count() for name, frame in frames.items()}
    previous = _previous_months(ctx.month, settings.volume_reference_months)
    reference = _reference(ctx, previous).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        volumes = {row["month"]: row["count"] for row in reference.groupBy("month").count().collect()}
        reference_nulls = _null_shares(reference) if volumes else {}
    finally:
        reference.unpersist()
    current_nulls = _null_shares(frames["trips"])
    silver, quarantined = counts["trips"], counts["quarantine"]
    usual = statistics.median(volumes.values()) if volumes else None
    summary = {
        "silver_rows": silver,
        "gold_rows": counts["trip_features"],
        "zone_hourly_rows": counts["zone_hourly"],
        "gold_minus_silver_rows": counts["trip_features"] - silver,
        "quarantine_share": quarantined / (silver + quarantined) if silver + quarantined else 0.0,
        "volume_ratio": silver / usual if usual else None,
    }
    for column in NULLABLE_SILVER:
        before = reference_nulls.get(column)
        now = current_nulls[column]
        summary[f"null_share_increase__{column}"] = None if before is None or now is None else now - before
    context = {
        "volume_tolerance": settings.volume_tolerance,
        "reference_volumes": volumes,
        "null_shares": current_nulls,
        "reference_null_shares": reference_nulls,
    }
    return summary | {"_context": context}


def _validate(ctx: JobContext) -> Result:
    settings, month = ctx.settings, ctx.month
    tables = ("trips", "quarantine", "trip_features", "zone_hourly")
    frames = {name: ctx.read(name).frame for name in tables}
    for name in ("trips", "trip_features"):
        # pandera runs a Spark job per expectation (~100): few partitions keep each one cheap.
        tasks = max(1, math.ceil(frames[name].count() / ROWS_PER_TASK))
        frames[name] = frames[name].coalesce(tasks).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        results = ex.evaluate(ex.silver_trips_schema(month), frames["trips"])
        results += ex.evaluate(ex.gold_features_schema(month), frames["trip_features"])
        summary = month_summary(ctx, frames)
    finally:
        for frame in frames.values():
            frame.unpersist()
    schema = ex.month_schema(settings.max_reject_fraction, settings.volume_tolerance, NULLABLE_SILVER)
    results += ex.not_checked_without_history(ex.evaluate(schema, ex.month_frame(summary, schema)), summary)
    failed = [r for r in results if r["status"] == "failed"]
    rows = summary["silver_rows"]
    result = Result(rows, rows, summary={"expectations": results, "failed": len(failed), "month": summary})
    html_uri = ctx.lake.report("validate", ctx.service, month).removesuffix(".json") + ".html"
    ctx.made(report="html", uri=html_uri)
    ctx.lake.write_bytes_atomic(html_uri, validation_html(ctx.service, month, result.summary).encode())
    if failed:
        raise ValidationFailed(failure_message(ctx.service, month, failed, summary), result=result)
    return result


def _explain(result: dict, summary: dict) -> str:
    """One failed expectation in words, with the numbers behind month-level ones."""
    column, context = result["column"], summary["_context"]
    if column == "volume_ratio":
        volumes = context["reference_volumes"]
        usual, tolerance = statistics.median(volumes.values()), context["volume_tolerance"]
        return (
            f"{summary['silver_rows']:,} trips is {summary['volume_ratio']:.0%} of the usual "
            f"{usual:,.0f} (median of {', '.join(sorted(volumes))}); expected "
            f"{1 - tolerance:.0%}–{1 / (1 - tolerance):.0%} of it"
        )
    if column and column.startswith("null_share_increase__"):
        name = column.removeprefix("null_share_increase__")
        return (
            f"silver column {name} is {context['null_shares'][name]:.0%} null, "
            f"was {context['reference_null_shares'][name]:.0%} in the previous months"
        )
    if result["table"] == "month":
        return f"{column} = {summary.get(column)!r}, expected {result['expectation']}"
    return f"{result['table']}.{column}: {result['expectation']} ({result['message']})"


def failure_message(service: str, month: Month, failed: list[dict], summary: dict) -> str:
    shown = "; ".join(_explain(result, summary) for result in failed[:5])
    more = f" (+{len(failed) - 5} more)" if len(failed) > 5 else ""
    return f"validation of {service} {month} failed: {len(failed)} expectation(s): {shown}{more}"
