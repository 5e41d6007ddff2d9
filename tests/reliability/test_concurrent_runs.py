"""Runs at once. Of the same (service, month): Delta's optimistic commits let one win; the other
fails with one clear line, or commits after it. Either way the partition is a clean run's, whole.
Of different months: each succeeds as if alone, on a fresh lake too (contract §6)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from nyctaxi.jobs import preprocess
from nyctaxi.lake import Lake
from nyctaxi.months import Month
from nyctaxi.publication import read_record
from nyctaxi.quality.report import load_report
from tests.conftest import make_settings
from tests.pipeline import prepare, settings_env
from tests.tables import fingerprint

NYCTAXI = str(Path(sys.executable).with_name("nyctaxi"))
MONTH = Month.parse("2025-01")


def run_twice_at_once(settings) -> list[subprocess.CompletedProcess]:
    command = [NYCTAXI, "preprocess", "--service", "green", "--month", str(MONTH)]
    env = settings_env(settings)
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    return [
        subprocess.CompletedProcess(p.args, p.wait(timeout=600), p.stdout.read(), p.stderr.read())
        for p in processes
    ]


@pytest.mark.slow
def test_two_runs_of_one_month_at_once(spark, tmp_path, case):
    record = case(
        "two `preprocess` runs of green 2025-01 started at once over the month's existing partition",
        "one wins; the other fails with one clear line or commits after it; silver equals a clean run",
    )
    settings = make_settings(tmp_path)
    prepare(settings)
    preprocess.run(spark, settings, "green", MONTH)
    tables = ("trips", "quarantine")
    clean = {t: fingerprint(spark, settings, t, "green", MONTH) for t in tables}

    done = run_twice_at_once(settings)
    assert any(d.returncode == 0 for d in done), [d.stderr[-2000:] for d in done]
    seen = []
    for loser in (d for d in done if d.returncode != 0):
        errors = [line for line in loser.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and "Traceback" not in loser.stderr, loser.stderr[-3000:]
        assert "another run of green 2025-01 committed while this one was writing" in errors[0]
        conflict = re.search(r"\((\w+)\); its result stands", errors[0])
        seen.append(f"one exited 0, the other 1 with `ConcurrentRun` ({conflict and conflict[1]})")
    if all(d.returncode == 0 for d in done):
        seen.append("both exited 0, the second commit after the first")

    for table in tables:
        version, rows, ids = fingerprint(spark, settings, table, "green", MONTH)
        assert (rows, ids) == clean[table][1:], table
        assert version > clean[table][0], f"{table}: no run committed"
    report = load_report(Lake.from_settings(settings), "preprocess", "green", MONTH)
    assert report["status"] == "succeeded" and report["rows_out"] == clean["trips"][1]
    record.saw(f"{seen[0]}; silver equal to a clean run ({clean['trips'][1]:,} trips); report: the winner's")


def run_at_once(settings, months: tuple[Month, ...]) -> list[subprocess.CompletedProcess]:
    env = settings_env(settings)
    processes = [
        subprocess.Popen(
            [NYCTAXI, "preprocess", "--service", "green", "--month", str(m)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for m in months
    ]
    return [
        subprocess.CompletedProcess(p.args, p.wait(timeout=600), p.stdout.read(), p.stderr.read())
        for p in processes
    ]


@pytest.mark.slow
def test_two_different_months_at_once_on_a_fresh_and_on_an_existing_lake(spark, tmp_path, case):
    record = case(
        "`preprocess` of green 2025-01 and 2025-02 started at once, on a fresh lake, then again on it",
        "both succeed as if alone, each with its own report and publication record (contract §6)",
    )
    months = (MONTH, Month.parse("2025-02"))
    settings = make_settings(tmp_path)
    prepare(settings, months=tuple(map(str, months)))
    lake = Lake.from_settings(settings)
    seen = []
    for lake_state in ("fresh", "existing"):
        done = run_at_once(settings, months)
        assert [d.returncode for d in done] == [0, 0], [d.stderr[-2000:] for d in done]
        for month in months:
            report = load_report(lake, "preprocess", "green", month)
            trips = fingerprint(spark, settings, "trips", "green", month)
            assert report["status"] == "succeeded" and report["rows_out"] == trips[1] > 40_000
            assert read_record(lake, "silver", "green", month).run_id == report["run_id"]
        seen.append(f"{lake_state}: both exited 0")
    record.saw("; ".join(seen) + "; each month's report and record are its own run's")
