"""Job `preprocess`: bronze (service, month) → silver `trips` + `quarantine` + run report."""

from __future__ import annotations

from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from nyctaxi.config import Settings
from nyctaxi.errors import BadSourceFile, ContractViolation, RejectionBudgetExceeded
from nyctaxi.lake import Lake, exists, manifest_uri, read_json
from nyctaxi.months import Month
from nyctaxi.quality.report import RunReport, reporting
from nyctaxi.schemas import REASON_CODES, SILVER_QUARANTINE, SILVER_TRIPS, TRIP_STATS_COLUMNS
from nyctaxi.tables import check_schema, read_trip_file, table_version, write_partition
from nyctaxi.transform.normalise import map_columns, normalise
from nyctaxi.transform.rules import classify, pickup_outside

# A file whose pickups mostly fall outside its month is a mislabeled file, not a dirty month.
MISLABELED_FRACTION = 0.5


def month_fit(normalised: DataFrame, month: Month) -> tuple[int, int]:
    """(rows, pickups outside the month): one pass over the pickup column, before any write."""
    row = normalised.agg(
        F.count(F.lit(1)).alias("rows"), F.sum(pickup_outside(month).cast("long")).alias("outside")
    ).first()
    return int(row["rows"]), int(row["outside"] or 0)


def counted(df: DataFrame, name: str, reasons: tuple[str, ...] = ()) -> tuple[DataFrame, Observation]:
    """``df`` observed: its rows (and rows per reason) are counted while it is written, no extra pass."""
    observation = Observation(name)
    per_reason = [
        F.sum(F.array_contains("reject_reasons", code).cast("long")).alias(code) for code in reasons
    ]
    return df.observe(observation, F.count(F.lit(1)).alias("rows"), *per_reason), observation


def observed_counts(observation: Observation) -> tuple[int, dict[str, int]]:
    counts = dict(observation.get)
    return int(counts.pop("rows")), {code: int(value or 0) for code, value in counts.items()}


def budget_error(report: RunReport, limit: float) -> RejectionBudgetExceeded:
    top = sorted(report.reasons.items(), key=lambda kv: -kv[1])[:3]
    share = report.rows_quarantined / report.rows_in
    named = ", ".join(f"{code} {count:,}" for code, count in top if count)
    return RejectionBudgetExceeded(
        f"{report.service} {report.month}: {share:.1%} of {report.rows_in:,} rows quarantined, over the "
        f"budget of {limit:.0%} (top reasons: {named}); silver not published, quarantine written"
    )


def run(spark: SparkSession, settings: Settings, service: str, month: Month) -> RunReport:
    lake = Lake.from_settings(settings)
    report = RunReport("preprocess", service, str(month), engine=spark.sparkContext.master)
    with reporting(lake, report):
        _preprocess(spark, settings, lake, report, month)
    return report


def _preprocess(spark: SparkSession, settings: Settings, lake: Lake, report: RunReport, month: Month) -> None:
    service = report.service
    source = lake.find_bronze_trip_file(service, month)
    file_name = source.rsplit("/", 1)[-1]
    manifest = read_json(manifest_uri(source)) if exists(manifest_uri(source)) else {}
    report.inputs.append({"uri": source, "sha256": manifest.get("sha256")})

    raw = read_trip_file(spark, source)
    mapping = map_columns(raw.columns, service, file_name)
    report.unexpected_columns = mapping.unexpected
    normalised = normalise(raw, service, file_name, mapping)
    report.rows_in, outside = month_fit(normalised, month)
    if report.rows_in and outside / report.rows_in > MISLABELED_FRACTION:
        raise BadSourceFile(
            f"{file_name}: {outside:,} of {report.rows_in:,} pickups fall outside {month}; "
            "the file does not hold that month's trips"
        )
    # Not cached: computing the rows twice (quarantine, then trips) costs less than writing them
    # all to a cache and reading them back, and a 10M-row month cached in memory ran a 2 GB driver
    # out of heap. Both passes classify identically (copies of a duplicate are equal rows).
    classified = normalised.transform(classify, month).withColumn("month", F.lit(str(month)))
    is_rejected = F.size("reject_reasons") > 0
    quarantine_uri = lake.silver_table("quarantine")
    quarantine = classified.where(is_rejected).select(*SILVER_QUARANTINE.fieldNames())
    quarantine, observation = counted(
        check_schema(quarantine, SILVER_QUARANTINE, "quarantine"), "quarantine", REASON_CODES
    )
    write_partition(quarantine, quarantine_uri, service, month, TRIP_STATS_COLUMNS)
    report.rows_quarantined, report.reasons = observed_counts(observation)
    report.outputs.append(_output(spark, "quarantine", quarantine_uri))
    if report.rows_in and report.rows_quarantined / report.rows_in > settings.max_reject_fraction:
        raise budget_error(report, settings.max_reject_fraction)
    trips_uri = lake.silver_table("trips")
    trips = classified.where(~is_rejected).select(*SILVER_TRIPS.fieldNames())
    trips, observation = counted(check_schema(trips, SILVER_TRIPS, "trips"), "trips")
    write_partition(trips, trips_uri, service, month, TRIP_STATS_COLUMNS)
    report.rows_out, _ = observed_counts(observation)
    if report.rows_out + report.rows_quarantined != report.rows_in:
        raise ContractViolation(
            f"{file_name}: {report.rows_in:,} rows read but {report.rows_out:,} in silver and "
            f"{report.rows_quarantined:,} in quarantine; the two passes over the file disagree"
        )
    report.outputs.append(_output(spark, "trips", trips_uri))


def _output(spark: SparkSession, table: str, uri: str) -> dict:
    return {"table": table, "uri": uri, "version": table_version(spark, uri)}
