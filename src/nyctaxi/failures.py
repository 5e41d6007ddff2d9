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
    r"Could not read footer|is not a Parquet file|Unexpected end of stream|EOFException|"
    r"not found in serialized data",  # a page header overwritten (Thrift cannot decode it)
    re.IGNORECASE,
)


MAX_CAUSES = 20  # cause chains are a handful deep; the bound only guards against a cycle


def _java_messages(error: BaseException) -> list[str]:
    """The JVM's cause chain of a py4j error, outermost first (empty for a Python error)."""
    found, java = [], getattr(error, "java_exception", None)
    while java is not None and len(found) < MAX_CAUSES:
        found.append(f"{java.getClass().getName()}: {java.getMessage() or ''}")
        java = java.getCause()
    return found


def messages(error: BaseException) -> list[str]:
    """The message of the error and of each cause: the JVM's chain, then Python's."""
    found, cause = _java_messages(error), error
    while cause is not None and len(found) < 2 * MAX_CAUSES:
        found.append(f"{type(cause).__name__}: {cause}")
        cause = cause.__cause__ or cause.__context__
    return found


def clean(text: str, limit: int = 240) -> str:
    """The first meaningful line of an engine message, without class names or error codes."""
    for line in text.splitlines():
        line = _ERROR_CLASS.sub(" ", _CLASS_NAME.sub("", line)).strip(" :")
        if line and not line.startswith(_LINES_OF_NOISE):
            return line[:limit]
    return "no message"


def error_line(command: str, error: BaseException) -> str:
    """The one line a command (CLI or spark-submit) prints for ``error``, naming the log file
    that holds its full trace; anything not ours is an internal error, still one line."""
    if isinstance(error, NyctaxiError):
        text = " ".join(str(error).split())
        if "full trace in" in text:  # explained by a job's envelope, which logged the trace
            return text
        return f"{text} (full trace in {record_trace(f'{command} failed', error)})"
    log = record_trace(f"{command} failed", error)
    return f"{command} failed: {clean(str(error))} (an internal error; full trace in {log})"


def explain(error: BaseException, report) -> BaseException:
    """``error`` logged in full; returned as is when it already is one of ours, else as the
    NyctaxiError it means for ``report``'s stage, service, month and input file."""
    where = f"{report.stage} {report.service} {report.month}"
    log = record_trace(f"{where} failed (run {getattr(report, 'run_id', '?')})", error)
    if isinstance(error, NyctaxiError):
        return error
    chain = messages(error)
    source = next((i for i in report.inputs if i.get("uri")), None)
    name = (source.get("file_name") or source["uri"].rsplit("/", 1)[-1]) if source else None
    if any(DISK_FULL.search(m) for m in chain):
        return StorageFull(
            f"{where}: no space left on the lake's storage while writing; nothing published changed "
            f"(free space and rerun; full trace in {log})"
        )
    if source and any(DAMAGED_PARQUET.search(m) for m in chain):
        detail = clean(next(m for m in chain if DAMAGED_PARQUET.search(m)))
        return BadSourceFile(
            f"{name}: damaged data in the file ({detail}); expected a whole "
            f"TLC file: fetch it again with `nyctaxi ingest` (full trace in {log})"
        )
    return EngineFailure(
        f"{where}{f' ({name})' if name else ''}: failed: {_deepest(error)} (full trace in {log})"
    )


def _deepest(error: BaseException) -> str:
    """The most specific message: the root of the JVM's cause chain (else the error's own) that
    says something."""
    for text in reversed(_java_messages(error) or [f"{type(error).__name__}: {error}"]):
        if clean(text) != "no message":
            return clean(text)
    return clean(str(error))
