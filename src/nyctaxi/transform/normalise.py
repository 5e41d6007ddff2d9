"""Bronze → one canonical frame: each source file's own columns mapped onto the silver columns.

Handles the drift of 2011–2025 files: name case (`Airport_fee`), int vs double counts, string
vs large_string flags, CSV text (everything a string), LTZ vs NTZ timestamps, missing columns.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from nyctaxi.errors import BadSourceFile
from nyctaxi.schemas import REQUIRED_COLUMNS, SOURCE_VALUE_FIELDS, source_names

# RatecodeID codes of the data dictionary; anything else that is not null is "unknown" (99).
KNOWN_RATECODES = (1, 2, 3, 4, 5, 6, 99)
UNKNOWN_RATECODE = 99


@dataclass(frozen=True)
class ColumnMapping:
    """Which source column (exact name) feeds each silver column, and what was left over."""

    sources: dict[str, str]
    unexpected: list[str]


def map_columns(source_columns: list[str], service: str, file_name: str) -> ColumnMapping:
    """Match source names case-insensitively; refuse files without the required columns."""
    accepted = source_names(service)
    by_lower: dict[str, list[str]] = {}
    for name in source_columns:
        by_lower.setdefault(name.strip().lower(), []).append(name)
    sources: dict[str, str] = {}
    used: set[str] = set()
    for column, names in accepted.items():
        matches = [src for name in names for src in by_lower.get(name.lower(), [])]
        if len(matches) > 1:
            raise BadSourceFile(f"{file_name}: columns {matches} all map to silver column {column!r}")
        if matches:
            sources[column] = matches[0]
            used.add(matches[0])
    missing = [c for c in REQUIRED_COLUMNS if c not in sources]
    if missing:
        wanted = [accepted[c][0] for c in missing]
        raise BadSourceFile(
            f"{file_name}: required {service} columns missing: {', '.join(wanted)} "
            f"(file has: {', '.join(source_columns)})"
        )
    unexpected = [name for name in source_columns if name not in used]
    return ColumnMapping(sources, unexpected)


def _cast(column: Column, source_type: T.DataType, target_type: T.DataType) -> Column:
    """Cast one source column to its silver type; unparseable text becomes null (never an abort)."""
    if isinstance(target_type, T.BooleanType):
        flag = F.upper(F.trim(column.cast("string")))
        return F.when(flag == "Y", True).when(flag == "N", False)
    if isinstance(target_type, T.TimestampNTZType):
        # An LTZ timestamp (old writers) is converted with the session zone, pinned to UTC in
        # nyctaxi.spark, so the stored wall-clock reading is kept whatever the machine's zone.
        return column.try_cast(T.TimestampNTZType())
    if isinstance(target_type, T.IntegerType) and isinstance(source_type, T.StringType):
        # CSV text of a nullable int column may read "1.0" (pandas exports): go through double.
        return column.try_cast(T.DoubleType()).try_cast(T.IntegerType())
    return column.try_cast(target_type)


def normalise(raw: DataFrame, service: str, file_name: str, mapping: ColumnMapping) -> DataFrame:
    """Select the source-value columns of silver, typed, with `service` and `source_file` added."""
    source_types = {f.name: f.dataType for f in raw.schema.fields}
    columns = []
    for field in SOURCE_VALUE_FIELDS:
        source = mapping.sources.get(field.name)
        if source is None:
            value = F.lit(None).cast(field.dataType)
        else:
            value = _cast(F.col(f"`{source}`"), source_types[source], field.dataType)
        columns.append(value.alias(field.name))
    return raw.select(
        F.lit(service).alias("service"), *columns, F.lit(file_name).alias("source_file")
    ).transform(with_ratecode_normalised)


def with_ratecode_normalised(df: DataFrame) -> DataFrame:
    """A non-null RatecodeID outside the dictionary becomes 99 ("unknown"), as the contract says."""
    code = F.col("ratecode_id")
    return df.withColumn(
        "ratecode_id",
        F.when(code.isNull() | code.isin(*KNOWN_RATECODES), code).otherwise(F.lit(UNKNOWN_RATECODE)),
    )
