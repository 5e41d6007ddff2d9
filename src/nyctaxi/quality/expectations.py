"""Data expectations for one (service, month), declared with pandera's PySpark backend.

Row-level expectations (types, non-null keys, ranges, unique trip_id) are pandera schemas over
silver ``trips`` and gold ``trip_features``. Month-level ones (rows present, quarantine budget,
volume against previous months, columns turning null, gold = silver) are a pandera schema over a
one-row summary frame, so every expectation is declared the same way and judged by pandera.
"""

from __future__ import annotations

import pandas as pd
import pandera.errors
import pandera.pandas as pp
import pandera.pyspark as pa
from pyspark.sql import functions as F
from pyspark.sql import types as T

from nyctaxi import contract
from nyctaxi.contract import REQUIRED_COLUMNS
from nyctaxi.months import Month
from nyctaxi.schemas import GOLD_TRIP_FEATURES, SILVER_TRIPS

TRIP_KEYS = ("trip_id", "service", "month", "pickup_at", "pu_location_id", "do_location_id")
SILVER_NOT_NULL = (*TRIP_KEYS, *REQUIRED_COLUMNS, "duration_min", "source_file")
GOLD_NOT_NULL = (
    *TRIP_KEYS,
    "pickup_date",
    "pickup_hour",
    "pickup_dow",
    "pu_borough",
    "do_borough",
    "duration_min",
)
# Columns that may turn null for a whole month without it being a defect is none: a column that
# is null for everyone now but was not in the previous months is flagged (this share more).
NULL_SHARE_INCREASE = 0.25


def _within(data, start: str, end: str) -> bool:
    column = F.col(data.column_name)
    low, high = (F.lit(bound).cast("timestamp_ntz") for bound in (start, end))
    return data.dataframe.where(~((column >= low) & (column < high))).limit(1).count() == 0


def _within_month(month: Month) -> pa.Check:
    """pandera's built-in range checks do not accept Spark's timestamp_ntz (TLC wall-clock time).
    (A custom check gets the column only when it has keyword arguments.)"""
    return pa.Check(
        _within,
        name="within_month",
        error=f"within_month({month})",
        start=str(month.start),
        end=str(month.end),
    )


def _ranges(month: Month) -> dict[str, list[pa.Check]]:
    """Silver's cleaning rules restated as expectations (they must hold after cleaning)."""
    zone = pa.Check.in_range(contract.MIN_ZONE, contract.MAX_ZONE)
    return {
        "month": [pa.Check.eq(str(month))],
        "pickup_at": [_within_month(month)],
        "pu_location_id": [zone],
        "do_location_id": [zone],
        "duration_min": [pa.Check.in_range(contract.MIN_DURATION_MIN, contract.MAX_DURATION_MIN)],
        "trip_distance": [pa.Check.in_range(0.0, contract.MAX_DISTANCE_MI, include_min=False)],
        "fare_amount": [pa.Check.in_range(0.0, contract.MAX_FARE)],
        "total_amount": [pa.Check.ge(0.0)],
        "passenger_count": [pa.Check.in_range(0, contract.MAX_PASSENGERS)],
    }


def _schema(name: str, struct: T.StructType, not_null: tuple[str, ...], checks: dict) -> pa.DataFrameSchema:
    columns = {
        field.name: pa.Column(
            field.dataType, nullable=field.name not in not_null, checks=checks.get(field.name, [])
        )
        for field in struct.fields
    }
    return pa.DataFrameSchema(columns, unique=["trip_id"], strict=True, name=name)


def silver_trips_schema(month: Month) -> pa.DataFrameSchema:
    return _schema("silver.trips", SILVER_TRIPS, SILVER_NOT_NULL, _ranges(month))


def gold_features_schema(month: Month) -> pa.DataFrameSchema:
    checks = {
        **{k: v for k, v in _ranges(month).items() if k in {f.name for f in GOLD_TRIP_FEATURES.fields}},
        "pickup_hour": [pa.Check.in_range(0, 23)],
        "pickup_dow": [pa.Check.in_range(1, 7)],
    }
    return _schema("gold.trip_features", GOLD_TRIP_FEATURES, GOLD_NOT_NULL, checks)


def month_schema(
    max_reject_fraction: float, volume_tolerance: float, columns: list[str]
) -> pp.DataFrameSchema:
    """Expectations on the month's summary row (see ``jobs.validate.month_summary``). The row
    lives on the driver, so pandera's pandas backend judges it without a Spark job per check."""
    present = [pp.Check.gt(0)]
    low, high = 1.0 - volume_tolerance, 1.0 / (1.0 - volume_tolerance)
    summary = {
        "silver_rows": pp.Column("int64", checks=present),
        "gold_rows": pp.Column("int64", checks=present),
        "zone_hourly_rows": pp.Column("int64", checks=present),
        "gold_minus_silver_rows": pp.Column("int64", checks=[pp.Check.eq(0)]),
        "quarantine_share": pp.Column("float64", checks=[pp.Check.le(max_reject_fraction)]),
        # Null when no previous month is in silver: nothing to compare with yet.
        "volume_ratio": pp.Column("float64", nullable=True, checks=[pp.Check.in_range(low, high)]),
    }
    summary |= {
        f"null_share_increase__{column}": pp.Column(
            "float64", nullable=True, checks=[pp.Check.le(NULL_SHARE_INCREASE)]
        )
        for column in columns
    }
    return pp.DataFrameSchema(summary, strict=True, name="month")


def month_frame(summary: dict, schema: pp.DataFrameSchema) -> pd.DataFrame:
    row = {name: [summary[name]] for name in schema.columns}
    return pd.DataFrame(row).astype({name: str(column.dtype) for name, column in schema.columns.items()})


def _kind(check: str) -> str:
    """pandera's check label → its kind: "in_range(1, 2)" → "in_range", "dtype('X')" → "dtype"."""
    return check.split("(", 1)[0]


def declared(schema: pa.DataFrameSchema) -> list[tuple[str, str, str]]:
    """(kind, column, label) of every expectation ``schema`` declares."""
    found = (
        [("unique", ",".join(schema.unique), f"unique({', '.join(schema.unique)})")] if schema.unique else []
    )
    for name, column in schema.columns.items():
        found.append(("dtype", name, f"type {column.dtype}"))
        if not column.nullable:
            found.append(("not_nullable", name, "not null"))
        found += [
            (_kind(check.error or check.name), name, check.error or check.name) for check in column.checks
        ]
    return found


def evaluate(schema: pa.DataFrameSchema, df) -> list[dict]:
    """Every declared expectation of ``schema`` with its outcome on ``df`` (pandera judges, lazily,
    so all failures are collected), plus any failure pandera found outside the declared ones."""
    failures = _failures(schema, df)
    results, matched = [], set()
    for kind, name, label in declared(schema):
        hits = [
            e
            for e in failures
            if e.get("column") in (name, schema.name) and _kind(str(e.get("check"))) == kind
        ]
        matched.update(id(e) for e in hits)
        message = "; ".join(str(e.get("error")) for e in hits)
        results.append(_result(schema.name, name, label, message))
    results += [
        _result(schema.name, e.get("column"), str(e.get("check")), str(e.get("error")))
        for e in failures
        if id(e) not in matched
    ]
    return results


def _failures(schema, df) -> list[dict]:
    """pandera's findings as {column, check, error}, from either backend."""
    if isinstance(df, pd.DataFrame):
        try:
            schema.validate(df, lazy=True)
        except pandera.errors.SchemaErrors as errors:
            return [
                {
                    "column": r["column"],
                    "check": r["check"],
                    "error": f"{r['check']} failed for {r['failure_case']!r}",
                }
                for r in errors.failure_cases.to_dict("records")
            ]
        return []
    errors = schema.validate(df).pandera.errors
    return [error for category in errors.values() for found in category.values() for error in found]


NOT_CHECKED = "not checked"


def not_checked_without_history(results: list[dict], summary: dict) -> list[dict]:
    """Month-level comparisons with the previous months have no value when there are none (the
    first month in silver): pandera passes a null, the report says they were not checked."""
    marked = []
    for result in results:
        column = result["column"]
        if (
            result["table"] == "month"
            and summary.get(column, 0) is None
            and not result["expectation"].startswith("type ")
        ):
            reason = "no previous month in silver to compare with"
            result = {**result, "status": NOT_CHECKED, "message": reason}
        marked.append(result)
    return marked


def _result(table: str, column: str | None, expectation: str, failure: str) -> dict:
    status = "failed" if failure else "passed"
    return {
        "table": table,
        "column": column,
        "expectation": expectation,
        "status": status,
        "message": failure,
    }
