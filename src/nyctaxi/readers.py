"""Source files as Spark reads them: a raw TLC trip file (Parquet or strict CSV, with what its own
metadata says of its timestamps) and the zone lookup, with clear errors for unreadable files."""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from nyctaxi.errors import BadSourceFile
from nyctaxi.schemas import ZONE_LOOKUP
from nyctaxi.storage import ObjectStore, spark_uri
from nyctaxi.transform.normalise import MALFORMED, SourceTimestamps


def _first_line(error: Exception) -> str:
    """The useful line of a Spark/JVM error (py4j puts "An error occurred while calling…" first)."""
    is_java = isinstance(error, Py4JJavaError)
    text = str(error.java_exception.getMessage() or "") if is_java else str(error)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else type(error).__name__


PARQUET_MAGIC = b"PAR1"


def check_parquet_magic(store: ObjectStore, uri: str, name: str) -> None:
    """Refuse a file that is not Parquet before Spark does (with a JVM stack trace in its log)."""
    fs, path = store.fs(uri)
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


def _arrow_schema(store: ObjectStore, uri: str, name: str) -> pa.Schema:
    fs, path = store.fs(uri)
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


def csv_header(store: ObjectStore, uri: str, name: str) -> list[str]:
    """The header of a CSV (or gzip CSV) file, read here so the reader gets an explicit schema."""
    fs, path = store.fs(uri)
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


def read_trip_file(spark: SparkSession, store: ObjectStore, uri: str, name: str) -> TripFile:
    """A raw TLC file with its own schema; ``name`` (the original file name) says its format.

    CSV is read as text with an explicit schema from its header (never inferSchema), strictly:
    quoted fields may hold commas and newlines (multiLine), and a record whose field count
    differs from the header's lands whole in MALFORMED instead of being shifted into columns.
    """
    if name.endswith(".parquet"):
        check_parquet_magic(store, uri, name)
        schema = _arrow_schema(store, uri, name)
        try:
            return TripFile(spark.read.parquet(spark_uri(uri)), source_timestamps(schema))
        except (PySparkException, Py4JJavaError) as error:
            raise BadSourceFile(f"{name}: not a readable Parquet file ({_first_line(error)})") from error
    header = csv_header(store, uri, name)
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
