"""Every failure as one line a user can act on (contract §6): which file, which column, what was
found and what was expected; never an engine class name or a stack frame. The full trace goes
to the process's log file (:mod:`nyctaxi.logs`), which the line names."""

from __future__ import annotations

import re

from nyctaxi.errors import BadSourceFile, EngineFailure, NyctaxiError, StorageFull
from nyctaxi.logs import record_trace

# "org.apache.spark.SparkException: ", "java.io.IOException: " …: engine class names, not news.
_CLASS_NAME = re.compile(r"\b(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error)\b:?\s*")
_ERROR_CLASS = re.compile(r"\[[A-Z_.]+\]\s*|\s*SQLSTATE:\s*\w+\.?")
_LINES_OF_NOISE = (
    "at ",
    "Caused by",
    "Driver stacktrace",
    "JVM stacktrace",
    "An error occurred while calling",
)

# Root causes we can name: (pattern in any message of the cause chain, what it means).
DISK_FULL = re.compile(r"No space left on device|Disk quota exceeded", re.IGNORECASE)
DAMAGED_PARQUET = re.compile(
    r"ParquetDecodingException|Can not read value at|can't read page|CRC|decompress|"
    r"Could not read footer|is not a Parquet file|Unexpected end of stream|EOFException",
    re.IGNORECASE,
)


def messages(error: BaseException) -> list[str]:
    """The message of the error and of each cause (the JVM's cause chain for py4j errors)."""
    found, java = [], getattr(error, "java_exception", None)
    seen = 0
    while java is not None and seen < 20:
        found.append(f"{java.getClass().getName()}: {java.getMessage() or ''}")
        java, seen = java.getCause(), seen + 1
    cause: BaseException | None = error
    while cause is not None and seen < 40:
        found.append(f"{type(cause).__name__}: {cause}")
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return found


def clean(text: str, limit: int = 240) -> str:
    """The first meaningful line of an engine message, without class names or error codes."""
    for line in text.splitlines():
        line = _ERROR_CLASS.sub(" ", _CLASS_NAME.sub("", line)).strip(" :")
        if line and not line.startswith(_LINES_OF_NOISE):
            return line[:limit]
    return "no message"


def explain(error: BaseException, report) -> BaseException:
    """``error`` logged in full; returned as is when it already is one of ours, else as the
    NyctaxiError it means for ``report``'s stage, service, month and input file."""
    where = f"{report.stage} {report.service} {report.month}"
    log = record_trace(f"{where} failed (run {getattr(report, 'run_id', '?')})", error)
    if isinstance(error, NyctaxiError):
        return error
    chain = messages(error)
    source = next((i.get("uri") for i in report.inputs if i.get("uri")), None)
    name = source.rsplit("/", 1)[-1] if source else None
    if any(DISK_FULL.search(m) for m in chain):
        return StorageFull(
            f"{where}: no space left on the lake's storage while writing; nothing published changed "
            f"(free space and rerun; full trace in {log})"
        )
    if source and any(DAMAGED_PARQUET.search(m) for m in chain):
        detail = clean(next(m for m in chain if DAMAGED_PARQUET.search(m)))
        return BadSourceFile(
            f"{source.rsplit('/', 1)[-1]}: damaged data in the file ({detail}); expected a whole "
            f"TLC file: fetch it again with `nyctaxi ingest` (full trace in {log})"
        )
    return EngineFailure(
        f"{where}{f' ({name})' if name else ''}: failed: {_deepest(error)} (full trace in {log})"
    )


def _deepest(error: BaseException) -> str:
    """The most specific message: the root of the JVM's cause chain (else the error's own) that
    says something."""
    java = messages(error)[: _java_depth(error)]
    for text in reversed(java or [f"{type(error).__name__}: {error}"]):
        if clean(text) != "no message":
            return clean(text)
    return clean(str(error))


def _java_depth(error: BaseException) -> int:
    depth, java = 0, getattr(error, "java_exception", None)
    while java is not None and depth < 20:
        java, depth = java.getCause(), depth + 1
    return depth
