"""Live progress of a stage on a terminal, read from Spark's status tracker: the running job and
stage, its tasks done / total, the time since the stage began; while a model trains, XGBoost's
boosting rounds. Drawn on stderr (stdout stays the command's result) and removed when the stage
ends. Not a terminal (or ``--quiet``): nothing live; the line each stage prints when it ends is
the log.

Boosting rounds are counted by a training callback that runs inside XGBoost's barrier tasks (in
the Python workers, not in this process); it appends each round to a file that this process
reads. With a local master the workers share this machine's file system; on a cluster they do
not, and only the Spark tasks are shown.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_ROUNDS_ENV = "NYCTAXI_ROUNDS_FILE"  # set while a stage is shown: where the training callback writes
_state = {"quiet": False}


def set_quiet(quiet: bool) -> None:
    _state["quiet"] = quiet


def live() -> bool:
    return not _state["quiet"] and sys.stderr.isatty()


def rounds_file() -> str | None:
    """Where the XGBoost callback appends its rounds (None: nobody is watching)."""
    return os.environ.get(_ROUNDS_ENV)


def _rounds(path: str) -> int:
    try:
        return os.path.getsize(path)  # one byte per round
    except OSError:
        return 0


def _spark_state(spark: SparkSession) -> tuple[str, int, int] | None:
    """(what runs, tasks done, tasks total) of the most recent active stage, or None."""
    tracker = spark.sparkContext.statusTracker()
    stages = [info for sid in tracker.getActiveStageIds() if (info := tracker.getStageInfo(sid))]
    if not stages:
        return None
    stage = max(stages, key=lambda info: info.stageId)
    jobs = tracker.getActiveJobsIds()
    job = f"job {max(jobs)} " if jobs else ""
    return f"{job}stage {stage.stageId}", stage.numCompletedTasks, stage.numTasks


@contextmanager
def stage(spark: SparkSession | None, label: str, total_rounds: int | None = None) -> Iterator[None]:
    """Show ``label``'s progress while the block runs."""
    if not live() or spark is None:
        yield
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    folder = tempfile.mkdtemp(prefix="nyctaxi-progress-")
    rounds_path = os.path.join(folder, "rounds")
    os.environ[_ROUNDS_ENV] = rounds_path
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    done = threading.Event()
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        tasks = bar.add_task(f"{label}: starting", total=None)
        boosting = bar.add_task("boosting rounds", total=total_rounds, visible=False)

        def watch() -> None:
            while not done.wait(0.5):
                try:
                    state = _spark_state(spark)
                except Exception:  # the session is stopping or busy: try again
                    continue
                if state:
                    what, finished, total = state
                    bar.update(tasks, description=f"{label}: {what}", completed=finished, total=total)
                if count := _rounds(rounds_path):
                    bar.update(boosting, completed=count, visible=True)

        watcher = threading.Thread(target=watch, name="nyctaxi-progress", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join(timeout=2)
            os.environ.pop(_ROUNDS_ENV, None)
            for name in os.listdir(folder):
                os.remove(os.path.join(folder, name))
            os.rmdir(folder)
