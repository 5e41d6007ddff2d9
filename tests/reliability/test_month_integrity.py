"""Contract §6 on a published month (real green 2025-01): a refused, failed or killed run changes
nothing published; what it was given is kept aside; a rerun of the good file equals a clean run;
and after every step bronze, silver and gold agree on the sha256 the month was built from."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nyctaxi.catalog import LAYERS, published_tables
from nyctaxi.errors import BadSourceFile, NyctaxiError, RejectionBudgetExceeded, StorageFull
from nyctaxi.ingest import versions
from nyctaxi.ingest.bronze import ingest_local_file
from nyctaxi.jobs import features, preprocess
from nyctaxi.lake import Lake
from nyctaxi.months import Month
from nyctaxi.publication import published_partition, read_record
from tests.conftest import make_settings, shared_file
from tests.pipeline import prepare, settings_env
from tests.tables import PIPELINE_TABLES, content_hash

NYCTAXI = str(Path(sys.executable).with_name("nyctaxi"))
MONTH = Month.parse("2025-01")
NAME = f"green_tripdata_{MONTH}.parquet"


def file_hash(path: str) -> str | None:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if os.path.exists(path) else None


def published_state(spark, settings) -> dict:
    """Everything contract §6 calls the month's published state, as content hashes."""
    lake = Lake.from_settings(settings)
    current = versions.current_file(lake, "green", MONTH)
    state = {
        "bronze": file_hash(current.uri),
        "manifest": file_hash(current.uri + ".manifest.json"),
        **{f"report:{s}": file_hash(lake.report(s, "green", MONTH)) for s in ("preprocess", "features")},
    }
    for layer in LAYERS:
        state[f"record:{layer}"] = file_hash(lake.publication(layer, "green", MONTH))
        for table in published_tables(layer):
            state[table] = content_hash(published_partition(spark, lake, table, "green", MONTH)[0])
    return state


def layers_agree(settings) -> str:
    """The sha256 bronze, silver and gold all name for the month (fails when they differ)."""
    lake = Lake.from_settings(settings)
    bronze = versions.current_file(lake, "green", MONTH).sha256
    silver, gold = (read_record(lake, layer, "green", MONTH).source_sha256 for layer in ("silver", "gold"))
    assert bronze == silver == gold, (bronze, silver, gold)
    return bronze


def run_month(spark, settings) -> None:
    preprocess.run(spark, settings, "green", MONTH)
    features.run(spark, settings, "green", MONTH)


def real(change=None) -> pa.Table:
    table = pq.read_table(shared_file(NAME))
    return change(table) if change else table


def write(folder: Path, table: pa.Table) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / NAME)
    return str(folder / NAME)


def negative_fares(table: pa.Table) -> pa.Table:  # a third of the month fails amount_out_of_range
    fares = table["fare_amount"].to_pylist()
    fares[::3] = [-abs(f or 1.0) for f in fares[::3]]
    return table.set_column(table.schema.get_field_index("fare_amount"), "fare_amount", pa.array(fares))


@pytest.fixture(scope="module")
def published(spark, tmp_path_factory):
    """A lake with real green 2025-01 published through gold (each test takes its state first)."""
    settings = make_settings(tmp_path_factory.mktemp("published"))
    prepare(settings)
    run_month(spark, settings)
    return settings


def check_unchanged_then_rerun(spark, settings, before, record) -> None:
    assert published_state(spark, settings) == before, "the published month changed"
    sha = layers_agree(settings)
    ingest_local_file(settings, str(shared_file(NAME)), "green", MONTH)
    run_month(spark, settings)
    after = published_state(spark, settings)
    same_rows = {k: v for k, v in after.items() if k in PIPELINE_TABLES}
    assert same_rows == {k: before[k] for k in same_rows}, "a rerun of the good file equals a clean run"
    assert layers_agree(settings) == sha
    record.saw("published state equal by content hash; layers agree; rerun of the good file = clean run")


REFUSED = [
    ("0-row file", lambda t: t.slice(0, 0), BadSourceFile, "the file has no rows"),
    (
        "over the rejection budget (a third of fares negative)",
        negative_fares,
        RejectionBudgetExceeded,
        "over the budget",
    ),
    ("mislabeled month (February's trips as January)", None, BadSourceFile, "pickups fall outside 2025-01"),
]


@pytest.mark.parametrize("label,change,error,text", REFUSED, ids=["empty", "over-budget", "mislabeled"])
def test_a_refused_file_changes_nothing_published(
    spark, published, tmp_path, case, label, change, error, text
):
    record = case(
        f"published month, then {label}",
        "refused with one line; nothing published changes; file in _versions/",
    )
    settings, before = published, published_state(spark, published)
    table = pq.read_table(shared_file("green_tripdata_2025-02.parquet")) if change is None else real(change)
    path = write(tmp_path / "in", table)
    ingest_local_file(settings, path, "green", MONTH)
    with pytest.raises(error) as refused:
        preprocess.run(spark, settings, "green", MONTH)
    message = str(refused.value)
    assert text in message and "\n" not in message, message
    lake = Lake.from_settings(settings)
    kept = versions.find_version(lake, "green", MONTH, hashlib.sha256(Path(path).read_bytes()).hexdigest())
    assert kept and kept.manifest["status"] == "refused" and file_hash(kept.uri) == file_hash(path)
    if error is RejectionBudgetExceeded:
        rejected = message.rsplit("the rejected rows are in ", 1)[1]
        failed = lake.read_json(lake.report("preprocess", "green", MONTH, failed=True))
        assert spark.read.parquet(rejected).count() == failed["rows_quarantined"] > table.num_rows * 0.2
    for table_name in ("trips", "quarantine"):  # rolled back: the latest version shows it too
        latest = spark.read.format("delta").load(lake.table(table_name)).where("month = '2025-01'")
        assert content_hash(latest) == before[table_name], table_name
    record.saw(f"`{message[:160]}…`; kept in {kept.uri.rsplit('/', 2)[-2]}/ as refused")
    check_unchanged_then_rerun(spark, settings, before, record)


def test_a_full_disk_during_the_silver_write_changes_nothing(spark, tmp_path, case):
    record = case(
        "published month, then the disk fills during the silver write (tmpfs)",
        "fails with one line; nothing published changes",
    )
    silver = tmp_path / "silver"
    silver.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(silver)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()}): needs root")
    try:
        settings = make_settings(tmp_path, lake_silver=str(silver))
        prepare(settings)
        run_month(spark, settings)
        before = published_state(spark, settings)
        free = os.statvfs(silver).f_bavail * os.statvfs(silver).f_frsize
        (silver / "filler").write_bytes(b"\0" * max(free - 400_000, 0))  # room for logs, not for trips
        ingest_local_file(settings, write(tmp_path / "in", real(lambda t: t.slice(1))), "green", MONTH)
        with pytest.raises(NyctaxiError) as failed:
            preprocess.run(spark, settings, "green", MONTH)
        assert isinstance(failed.value, StorageFull), failed.value
        assert "no space left" in str(failed.value) and "full trace in" in str(failed.value)
        (silver / "filler").unlink()
        record.saw(f"`{str(failed.value)[:140]}…`")
        check_unchanged_then_rerun(spark, settings, before, record)
    finally:
        subprocess.run(["umount", "-l", str(silver)], check=False)


def _commits(table_dir: Path) -> int:
    return len(list((table_dir / "_delta_log").glob("*.json")))


def test_kill_9_between_the_two_table_commits(spark, published, tmp_path, case):
    record = case(
        "kill -9 of `preprocess` between its quarantine and trips commits",
        "nothing published changes; the next run rolls the stray commit back",
    )
    settings, before = published, published_state(spark, published)
    lake = Lake.from_settings(settings)
    again = real(lambda t: pa.concat_tables([t, t.slice(0, 1)]))  # one more row, for quarantine
    ingest_local_file(settings, write(tmp_path / "in", again), "green", MONTH)
    quarantine_dir, trips_dir = Path(lake.table("quarantine")), Path(lake.table("trips"))
    commits = _commits(quarantine_dir), _commits(trips_dir)
    command = [NYCTAXI, "preprocess", "--service", "green", "--month", str(MONTH)]
    process = subprocess.Popen(
        command, env=settings_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    started = time.monotonic()
    while process.poll() is None and _commits(quarantine_dir) == commits[0]:
        if time.monotonic() - started > 240:
            process.kill()
            pytest.fail("preprocess never committed its quarantine")
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert _commits(quarantine_dir) == commits[0] + 1 and _commits(trips_dir) == commits[1], (
        "killed between the commits"
    )
    stray = spark.read.format("delta").load(str(quarantine_dir)).where("month = '2025-01'")
    assert content_hash(stray) != before["quarantine"], "the stray commit is there, unpublished"
    record.saw("killed after the quarantine commit, before the trips commit")
    check_unchanged_then_rerun(spark, settings, before, record)
    latest = spark.read.format("delta").load(str(quarantine_dir)).where("month = '2025-01'")
    assert content_hash(latest) == before["quarantine"], "rolled back by the next run"


def test_good_bad_and_republished_files_keep_the_layers_agreeing(spark, published, tmp_path, case):
    record = case(
        "sequence: good, bad, republished (100 rows fewer), bad, original",
        "bronze, silver and gold name the same sha256 after each",
    )
    settings, before = published, published_state(spark, published)
    steps = [
        ("bad", real(lambda t: t.slice(0, 0))),
        ("republished", real(lambda t: t.slice(100))),
        ("bad", pq.read_table(shared_file("green_tripdata_2025-02.parquet"))),
        ("original", None),  # the shared file itself: its own bytes, not a rewrite of its rows
    ]
    seen = [layers_agree(settings)[:12]]
    for number, (kind, table) in enumerate(steps):
        path = str(shared_file(NAME)) if table is None else write(tmp_path / str(number), table)
        ingest_local_file(settings, path, "green", MONTH)
        try:
            run_month(spark, settings)
        except BadSourceFile:
            assert kind == "bad"
        seen.append(layers_agree(settings)[:12])
    assert seen[0] == seen[1] != seen[2] == seen[3] != seen[4] == seen[0], seen
    assert published_state(spark, settings)["trips"] == before["trips"]
    record.saw("sha256 after each step: " + " → ".join(seen))
