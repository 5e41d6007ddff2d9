"""kill -9 of the preprocessing job while it writes silver: the previous partition stays readable
and intact (or, if the commit landed, the new one is complete), never a mix; a rerun recovers."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nyctaxi.ingest.bronze import ingest_local_file
from nyctaxi.ingest.synthetic import SynthSpec, write_synthetic
from nyctaxi.jobs import preprocess
from nyctaxi.lake import Lake
from nyctaxi.months import Month
from tests.conftest import make_settings
from tests.pipeline import settings_env
from tests.tables import fingerprint

NYCTAXI = str(Path(sys.executable).with_name("nyctaxi"))
MONTH = Month.parse("2024-03")
ROWS = 200_000


def data_files(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*.parquet")} if folder.is_dir() else set()


def kill_during_write(command, env, watch: Path, delay_s: float | None) -> str:
    """Start the job; kill -9 once a new silver data file appears (or after ``delay_s``)."""
    before = data_files(watch)
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    while process.poll() is None:
        elapsed = time.monotonic() - started
        if (delay_s is None and data_files(watch) - before) or (delay_s is not None and elapsed >= delay_s):
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return "killed"
        if elapsed > 240:
            process.kill()
            pytest.fail("the job never reached its silver write")
        time.sleep(0.02)
    return "finished"


@pytest.mark.slow
@pytest.mark.parametrize("trial", ["at first new data file", "at a random moment"])
def test_kill_9_mid_write(spark, tmp_path, trial):
    settings = make_settings(tmp_path)
    lake = Lake.from_settings(settings)
    old_file, new_file = (
        tmp_path / "a" / f"yellow_tripdata_{MONTH}.parquet",
        tmp_path / "b" / f"yellow_tripdata_{MONTH}.parquet",
    )
    for seed, path in ((1, old_file), (2, new_file)):
        path.parent.mkdir()
        write_synthetic(SynthSpec("yellow", MONTH, ROWS, seed=seed), str(path))

    ingest_local_file(settings, str(old_file), "yellow", MONTH)
    old_report = preprocess.run(spark, settings, "yellow", MONTH)
    trips = lake.silver_table("trips")
    old = fingerprint(spark, settings, "trips", "yellow", MONTH)

    ingest_local_file(settings, str(new_file), "yellow", MONTH)  # upstream changed: new content
    watch = Path(trips) / "service=yellow" / f"month={MONTH}"
    delay = None if trial.startswith("at") else random.Random(trial).uniform(8.0, 30.0)
    outcome = kill_during_write(
        [NYCTAXI, "preprocess", "--service", "yellow", "--month", str(MONTH)],
        settings_env(settings),
        watch,
        delay,
    )

    after_kill = fingerprint(spark, settings, "trips", "yellow", MONTH)
    if after_kill[0] == old[0]:
        assert after_kill == old, "same version must mean the same partition"
    else:  # the commit landed before the kill: the whole new partition, nothing of the old
        assert after_kill[0] == old[0] + 1 and after_kill[2] != old[2]

    new_report = preprocess.run(spark, settings, "yellow", MONTH)
    rerun = fingerprint(spark, settings, "trips", "yellow", MONTH)
    assert rerun[1] == new_report.rows_out and new_report.rows_in == ROWS
    assert rerun[2] != old[2] and old_report.rows_in == ROWS
    if trial.startswith("at"):
        assert outcome == "killed", "the first trial must interrupt the write itself"
