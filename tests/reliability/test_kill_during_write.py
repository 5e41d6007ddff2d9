"""kill -9 of the preprocessing job while it writes silver, twice at different moments: the
previous partition stays readable and intact (or, if the commit landed, the new one is whole),
never a mix; a rerun yields exactly the rows of a clean run."""

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
ROWS = 60_000
TRIALS = 2  # one at the first new data file, one at a random moment around it
RETRIES = 2  # a trial whose job outran its kill is retried with an earlier one


def data_files(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*.parquet")} if folder.is_dir() else set()


def kill_during_write(command, env, watch: Path, delay_s: float | None) -> tuple[str, float]:
    """Start the job; kill -9 once a new silver data file appears (or after ``delay_s``)."""
    before = data_files(watch)
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    while process.poll() is None:
        elapsed = time.monotonic() - started
        if (delay_s is None and data_files(watch) - before) or (delay_s is not None and elapsed >= delay_s):
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return "killed", elapsed
        if elapsed > 240:
            process.kill()
            pytest.fail("the job never reached its silver write")
        time.sleep(0.02)
    return "finished", time.monotonic() - started


@pytest.mark.slow
def test_kill_9_mid_write_twice(spark, tmp_path, case):
    record = case(
        "kill -9 of `preprocess` during its write (2 trials: at the first new data file, then at a random moment)",
        "previous partition readable and intact, or the new one whole; a rerun gives exactly a clean run's rows",
    )
    settings = make_settings(tmp_path)
    env = settings_env(settings)
    files = []
    for seed in (1, 2):
        path = tmp_path / f"seed{seed}" / f"yellow_tripdata_{MONTH}.parquet"
        path.parent.mkdir()
        write_synthetic(SynthSpec("yellow", MONTH, ROWS, seed=seed), str(path))
        files.append(path)

    def publish(path: Path) -> tuple:
        """A whole in-process run of ``path``: the month's trips fingerprint afterwards."""
        ingest_local_file(settings, str(path), "yellow", MONTH)
        preprocess.run(spark, settings, "yellow", MONTH)
        return fingerprint(spark, settings, "trips", "yellow", MONTH)

    # clean runs of both versions of the month: the rows each must give
    clean = [publish(path)[1:] for path in files]
    assert clean[0] != clean[1]

    watch = Path(Lake.from_settings(settings).table("trips")) / "service=yellow" / f"month={MONTH}"
    draw = random.Random(20261127)
    # trial 0 finds when the write starts; the other lands around it
    kept, landed, kills, early = 0, 0, [], 0
    for trial in range(TRIALS):
        upcoming = trial % 2  # silver holds the other version: the upstream file changed
        before = fingerprint(spark, settings, "trips", "yellow", MONTH)
        assert before[1:] == clean[1 - upcoming]
        delay = None if trial == 0 else draw.uniform(0.5, 1.05) * kills[0]
        for attempt in range(RETRIES + 1):
            ingest_local_file(settings, str(files[upcoming]), "yellow", MONTH)
            outcome, at = kill_during_write(
                [NYCTAXI, "preprocess", "--service", "yellow", "--month", str(MONTH)], env, watch, delay
            )
            if outcome == "killed":
                break
            # A job that ran faster than trial 0 finished before its kill: a whole run, which
            # must have published the new file; put the month back and kill it earlier.
            assert attempt < RETRIES, f"trial {trial}: the job finished before every kill (last {at:.1f} s)"
            assert fingerprint(spark, settings, "trips", "yellow", MONTH)[1:] == clean[upcoming]
            before = publish(files[1 - upcoming])
            assert before[1:] == clean[1 - upcoming]
            delay, early = 0.8 * at, early + 1
        kills.append(at)

        after = fingerprint(spark, settings, "trips", "yellow", MONTH)
        if after[0] == before[0]:
            assert after == before, "same version must mean the same partition"
            kept += 1
        else:  # the commit landed before the kill: the whole new partition, nothing of the old
            assert after[0] == before[0] + 1 and after[1:] == clean[upcoming]
            landed += 1

        report = preprocess.run(spark, settings, "yellow", MONTH)
        assert fingerprint(spark, settings, "trips", "yellow", MONTH)[1:] == clean[upcoming]
        assert report.rows_in == ROWS and report.rows_out == clean[upcoming][0]

    record.saw(
        f"{TRIALS}/{TRIALS} killed mid-job; after each kill the partition was the previous one intact "
        f"({kept}) or the new one whole ({landed}), never a mix; every rerun equalled the clean run "
        f"({clean[0][0]:,} / {clean[1][0]:,} rows of {ROWS:,}); {early} job(s) outran their kill and "
        "were retried with an earlier one"
    )
