"""Where the full traces go: one log file per process, named in every error line.

The console gets one line per failure (contract §6); the JVM's log4j output and Python's traces
of the same process go to this file instead (see nyctaxi/log4j2.properties, which reads its
path from the ``nyctaxi.log.file`` system property that :mod:`nyctaxi.sparkconf` passes the JVM)."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import UTC, datetime

ENV = "NYCTAXI_LOG_FILE"  # set once per process; child processes (spark-submit) inherit it
TRACE_LOGGER = "nyctaxi.trace"
# PySpark logs every SQL error it raises, as JSON with the JVM stack, to stderr through these.
ENGINE_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")
# Libraries that log to the console by themselves: MLflow (and alembic, creating its database
# tables), XGBoost's Spark estimator (its parameters, every fit), py4j.
LIBRARY_LOGGERS = ("mlflow", "alembic", "XGBoost-PySpark", "py4j", "py.warnings", "feast")


def start(log_dir: str, name: str) -> str:
    """Choose this process's log file under ``log_dir`` (unless a parent chose one already)."""
    if not os.environ.get(ENV):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        os.environ[ENV] = os.path.join(os.path.abspath(log_dir), f"nyctaxi-{name}-{stamp}-{os.getpid()}.log")
    return log_file()


def log_file() -> str:
    """This process's log file (a default one in the temp folder for library use and tests)."""
    if not os.environ.get(ENV):
        start(os.path.join(tempfile.gettempdir(), "nyctaxi-logs"), "lib")
    path = os.environ[ENV]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def _to_file(logger: logging.Logger, path: str) -> logging.Logger:
    """``logger``'s records go to ``path`` only, never to the console."""
    if not any(getattr(h, "baseFilename", None) == path for h in logger.handlers):
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        handler = logging.FileHandler(path, encoding="utf-8", delay=True)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.Logger.addHandler(logger, handler)  # plain: PySpark's loggers reformat as JSON
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def route_engine_logs() -> None:
    """Send PySpark's own error logging to the log file. The loggers are PySpark's own class: it
    logs with extra keywords (``file=``, ``fragment=``) that a plain Logger refuses with a
    TypeError, which then hid the real error (an AnalysisException) from the run's report."""
    from pyspark.logger import PySparkLogger  # only where Spark runs

    for name in ENGINE_LOGGERS:
        _to_file(PySparkLogger.getLogger(name), log_file())


def _trace_logger() -> logging.Logger:
    return _to_file(logging.getLogger(TRACE_LOGGER), log_file())


def record_trace(summary: str, error: BaseException) -> str:
    """Append ``error``'s full trace to the log file (a py4j error's text holds the JVM's stack)."""
    _trace_logger().error(summary, exc_info=(type(error), error, error.__traceback__))
    return log_file()


@contextmanager
def stderr_to_log() -> Iterator[None]:
    """Processes started inside the block write their stderr to the log file: the JVM launched
    here keeps it for life (its launcher's `WARNING: Using incubator modules`, native library
    messages, and the Python workers it starts, e.g. XGBoost's `Task 0 got rank 0`). This
    process's own stderr is the console again after the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(log_file(), "a", encoding="utf-8") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


@contextmanager
def prints_to_log(stdout: bool = False) -> Iterator[None]:
    """What Python code inside the block prints to ``sys.stderr`` (and ``sys.stdout`` if asked) goes
    to the log file: MLflow announces a registration with bare prints (``Successfully registered
    model …``), Feast a materialization with banners and progress bars."""
    with open(log_file(), "a", encoding="utf-8") as log, redirect_stderr(log):
        if not stdout:
            yield
            return
        with redirect_stdout(log):
            yield


def quiet_libraries() -> None:
    """The CLI's console shows its own lines only: library logging and Python warnings go to the
    log file."""
    os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")  # read when mlflow is imported
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # its tqdm bars
    logging.captureWarnings(True)
    warnings.simplefilter("default")
    for name in LIBRARY_LOGGERS:
        _to_file(logging.getLogger(name), log_file())
