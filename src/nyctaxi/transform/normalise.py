"""Bronze → one canonical frame: each source file's own columns mapped onto the silver columns.

Handles the drift of 2011–2025 files and of the writers people use (contract §2): name case
(`Airport_fee`), int vs double counts, string vs large_string flags, CSV text (everything a
string), naive vs zoned timestamps in every precision, missing columns. Nothing truncates: a value
that does not convert is null and named in `cast_failed`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from nyctaxi.contract import REQUIRED_COLUMNS, source_names
from nyctaxi.errors import BadSourceFile
from nyctaxi.schemas import SOURCE_VALUE_FIELDS

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


NYC_ZONE = "America/New_York"
# A text timestamp that carries its zone: "2025-01-01 00:18:38-05:00", "…T05:18:38Z", "… +0000".
ZONED_TEXT = r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|UTC|[+-]\d{2}(:?\d{2})?)$"
MALFORMED = "_malformed_record"  # the CSV reader's column for a record of the wrong field count


@dataclass(frozen=True)
class SourceTimestamps:
    """How a file stores its timestamps, read from its own metadata (Parquet footer / Arrow schema).

    ``zoned``: columns stored as instants (tz-aware, or UTC-adjusted): converted to NYC wall clock.
    ``nanos``: nanosecond columns, which Spark reads as long (spark.sql.legacy.parquet.nanosAsLong).
    """

    zoned: frozenset[str] = frozenset()
    nanos: frozenset[str] = frozenset()


def _readable(source_type: T.DataType, target: T.DataType, nanos: bool) -> bool:
    if isinstance(source_type, T.StringType):
        return True
    if isinstance(target, T.TimestampNTZType):
        return isinstance(source_type, (T.TimestampNTZType, T.TimestampType)) or (
            nanos and isinstance(source_type, T.LongType)
        )
    if isinstance(target, T.BooleanType):
        return isinstance(source_type, T.BooleanType)
    return isinstance(source_type, T.NumericType)


def check_source_types(
    schema: T.StructType, mapping: ColumnMapping, stored: SourceTimestamps, file_name: str
) -> None:
    """Refuse a file whose column has a type no conversion of contract §2 reads (a struct fare,
    a timestamp stored as a bare int64), naming the column, its type and what was expected."""
    types = {f.name: f.dataType for f in schema.fields}
    for field in SOURCE_VALUE_FIELDS:
        source = mapping.sources.get(field.name)
        if source is None or _readable(types[source], field.dataType, source in stored.nanos):
            continue
        expected = {
            T.TimestampNTZType: "a timestamp (any Parquet precision) or timestamp text",
            T.BooleanType: "a Y/N flag",
        }.get(type(field.dataType), "a number or number text")
        raise BadSourceFile(
            f"{file_name}: column {source} is {types[source].simpleString()}, expected {expected}"
        )


def _as_wall_clock(instant: Column) -> Column:
    """An instant (Spark LTZ, session zone UTC) → its NYC wall-clock reading as timestamp_ntz."""
    return F.from_utc_timestamp(instant, NYC_ZONE).cast(T.TimestampNTZType())


def _timestamp(column: Column, name: str, source_type: T.DataType, stored: SourceTimestamps) -> Column:
    zoned = name in stored.zoned
    if isinstance(source_type, T.TimestampNTZType):
        return column
    if isinstance(source_type, T.LongType) and name in stored.nanos:
        # integer division: a double of the nanoseconds would lose their last digits
        micros = (column - F.pmod(column, F.lit(1000))).try_cast(T.DecimalType(20, 0)) / F.lit(1000)
        column, source_type = F.timestamp_micros(micros.cast(T.LongType())), T.TimestampType()
    if isinstance(source_type, T.TimestampType):
        # An instant is converted to NYC time; without a zone (INT96 from a naive writer) the
        # stored reading is the wall clock, kept by the UTC session zone pinned in nyctaxi.spark.
        return _as_wall_clock(column) if zoned else column.cast(T.TimestampNTZType())
    text = F.trim(column.cast("string"))
    return F.when(text.rlike(ZONED_TEXT), _as_wall_clock(text.try_cast(T.TimestampType()))).otherwise(
        text.try_cast(T.TimestampNTZType())
    )


def non_finite(number: Column | str) -> Column:
    """NaN or ±infinity (rule 11 `non_finite_value`; never a whole number either)."""
    return F.isnan(number) | (F.abs(number) == F.lit(float("inf")))


def present(names: list[Column]) -> Column:
    """array<string> of the ``names`` that are not null, in order (each a non-empty literal under a
    condition). Not ``filter(…, isNotNull)``: Spark runs higher-order functions interpreted, row by
    row, which made normalising a 3M-row month 3× slower; ``array_remove`` is compiled."""
    if not names:
        return F.array().cast("array<string>")
    found = F.array_remove(F.array(*[F.coalesce(name, F.lit("")) for name in names]), "")
    return found.cast("array<string>")  # the contract's type, whose elements may be null


def _whole(number: Column) -> Column:
    """An int from a double only when it is a whole, finite number: 74.7, NaN, ±inf never truncate."""
    return F.when(~non_finite(number) & (number % 1 == 0), number.try_cast(T.IntegerType()))


def _cast(
    column: Column, name: str, source_type: T.DataType, target: T.DataType, stored: SourceTimestamps
) -> Column:
    """Cast one source column to its silver type; a value that does not convert becomes null."""
    if isinstance(target, T.BooleanType):
        flag = F.upper(F.trim(column.cast("string")))
        return F.when(flag == "Y", True).when(flag == "N", False)
    if isinstance(target, T.TimestampNTZType):
        return _timestamp(column, name, source_type, stored)
    if isinstance(target, T.IntegerType):
        if isinstance(source_type, T.IntegralType):
            return column.try_cast(T.IntegerType())  # a long beyond int range fails, never wraps
        # Doubles, decimals and text ("1.0" from pandas exports) go through double, whole only.
        return _whole(
            F.trim(column.cast("string")).try_cast(T.DoubleType())
            if isinstance(source_type, T.StringType)
            else column.try_cast(T.DoubleType())
        )
    return column.try_cast(target)


def _present(column: Column, source_type: T.DataType) -> Column:
    """The source holds a value (text that is not blank): if the cast gives null, it failed."""
    if isinstance(source_type, T.StringType):
        return column.isNotNull() & (F.trim(column) != "")
    return column.isNotNull()


def normalise(
    raw: DataFrame,
    service: str,
    file_name: str,
    mapping: ColumnMapping,
    stored: SourceTimestamps = SourceTimestamps(),
) -> DataFrame:
    """Select the source-value columns of silver, typed, with `service` and `source_file` added,
    plus `cast_failed` (the columns whose value did not convert) and `raw_record` (the text of a
    CSV record of the wrong field count, whose values are then all null: never shifted)."""
    source_types = {f.name: f.dataType for f in raw.schema.fields}
    malformed = F.col(MALFORMED).isNotNull() if MALFORMED in source_types else F.lit(False)
    columns, failed = [], []
    for field in SOURCE_VALUE_FIELDS:
        source = mapping.sources.get(field.name)
        if source is None:
            columns.append(F.lit(None).cast(field.dataType).alias(field.name))
            continue
        column, source_type = F.col(f"`{source}`"), source_types[source]
        value = _cast(column, source, source_type, field.dataType, stored)
        columns.append(F.when(~malformed, value).alias(field.name))
        # Flags: anything but Y/N is null by rule. A column already of its silver type cannot
        # fail; tracking it would only add code to a stage that is near the JIT's size limit
        # (see spark.py).
        if not isinstance(field.dataType, T.BooleanType) and source_type != field.dataType:
            failed.append(
                F.when(~malformed & _present(column, source_type) & value.isNull(), F.lit(field.name))
            )
    raw_record = F.col(MALFORMED) if MALFORMED in source_types else F.lit(None).cast("string")
    return raw.select(
        F.lit(service).alias("service"),
        *columns,
        F.lit(file_name).alias("source_file"),
        present(failed).alias("cast_failed"),
        raw_record.alias("raw_record"),
    ).transform(with_ratecode_normalised)


def with_ratecode_normalised(df: DataFrame) -> DataFrame:
    """A non-null RatecodeID outside the dictionary becomes 99 ("unknown"), as the contract says."""
    code = F.col("ratecode_id")
    return df.withColumn(
        "ratecode_id",
        F.when(code.isNull() | code.isin(*KNOWN_RATECODES), code).otherwise(F.lit(UNKNOWN_RATECODE)),
    )
