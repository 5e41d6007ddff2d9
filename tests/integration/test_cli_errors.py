"""Bad input gets one clear `error:` line and a non-zero exit, never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nyctaxi.months import Month
from tests.conftest import SHARED_TLC, make_settings, shared_file
from tests.expected import file_rows, pickups_outside
from tests.pipeline import settings_env

NYCTAXI = str(Path(sys.executable).with_name("nyctaxi"))


def nyctaxi(
    tmp_path: Path, *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """The CLI on a lake under tmp_path (``env``: more variables); ``timeout`` only guards against
    a hang (the CI machine is shared and slow: the two-month pipeline once took more than 300 s there)."""
    env = {**settings_env(make_settings(tmp_path)), "NYCTAXI_TLC_BASE_URL": str(SHARED_TLC), **(env or {})}
    return subprocess.run(
        [NYCTAXI, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=tmp_path
    )


def single_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "Exception" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, done.stderr
    return errors[0]


def ingest_then_preprocess(
    tmp_path: Path, service: str, month: str, path: Path
) -> subprocess.CompletedProcess:
    """`ingest --file path` (which must land it) then `preprocess` of that month; the latter's result."""
    given = ("--service", service, "--month", month)
    landed = nyctaxi(tmp_path, "ingest", *given, "--file", str(path))
    assert landed.returncode == 0, landed.stderr[-3000:]
    return nyctaxi(tmp_path, "preprocess", *given)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["preprocess", "--service", "blue", "--month", "2025-01"], "error: unknown service 'blue': expected one of yellow, green"),
        (["preprocess", "--service", "green", "--month", "2025-13"], "error: month '2025-13' is not of the form YYYY-MM"),
        (["ingest", "--service", "green", "--months", "2025-03..2025-01"], "error: month range '2025-03..2025-01' ends before it starts"),
        (["report", "--service", "green", "--month", "2025-01"], "error: no preprocess report for green 2025-01"),
        (["ingest", "--service", "green", "--months", "2025-01-2025-02"], "error: month range '2025-01-2025-02': write it with two dots, 2025-01..2025-02"),
        # what a stage needs is checked before a JVM starts, and the error names the command that makes it
        (["features", "--service", "green", "--month", "2025-01"], "error: silver has no green 2025-01 in "),
        (["train", "--service", "green", "--train-months", "2025-01", "--eval-month", "2025-02"], "error: gold has no green 2025-01 (the training month) in "),
        (["score", "--service", "green", "--month", "2025-01", "--verbose"], "error: gold has no green 2025-01 in "),
        (["monitor", "--service", "green", "--reference", "champion", "--current", "2025-02"], "error: gold has no green 2025-02 (the month to check) in "),
        (["report", "--service", "green", "--month", "2025-01", "--stage", "deploy"], "error: unknown stage 'deploy': expected one of preprocess, features, materialize, validate, train, score, monitor"),
    ],
)  # fmt: skip
def test_argument_errors(tmp_path, args, message):
    done = nyctaxi(tmp_path, *args)
    if "--verbose" in args:  # accepted after the command too: the trace is shown
        assert "Traceback" in done.stderr and done.returncode == 1
        assert [line for line in done.stderr.splitlines() if line.startswith("error: ")][0].startswith(
            message
        )
    else:
        assert single_error(done).startswith(message)


def test_next_command_is_named(tmp_path):
    """The errors of a stage whose input is missing name the command to run, with real options."""
    line = single_error(
        nyctaxi(
            tmp_path, "train", "--service", "green", "--train-months", "2025-01", "--eval-month", "2025-02"
        )
    )
    assert "run `nyctaxi features --service green --month 2025-01` first" in line
    line = single_error(nyctaxi(tmp_path, "features", "--service", "green", "--month", "2025-01"))
    assert "run `nyctaxi preprocess --service green --month 2025-01` first" in line


def test_a_model_version_that_does_not_exist(tmp_path, real_gold):
    """`score --model-version abc` on a lake with gold: refused before Spark, naming the versions."""
    settings = make_settings(tmp_path, lake_gold=real_gold.lake_gold, lake_silver=real_gold.lake_silver)
    env = {**settings_env(settings), "NYCTAXI_TLC_BASE_URL": str(SHARED_TLC)}
    done = subprocess.run(
        [NYCTAXI, "score", "--service", "green", "--month", "2025-01", "--model-version", "abc"],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert single_error(done).startswith(
        f"error: model nyc-taxi-trip-duration at {settings.mlflow_tracking_uri} has no version 'abc' (versions: none)"
    )


def test_version_and_help(tmp_path):
    from importlib.metadata import version

    assert nyctaxi(tmp_path, "--version").stdout == f"nyctaxi {version('nyctaxi')}\n"
    assert nyctaxi(tmp_path, "report", "--version").stdout == f"nyctaxi {version('nyctaxi')}\n"
    help_text = " ".join(nyctaxi(tmp_path, "submit", "--help").stdout.split())  # as wrapped to any width
    assert "preprocess, features, materialize, validate, train, score, monitor" in help_text
    assert "ingest" not in help_text


def test_serve_on_a_busy_port(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = nyctaxi(tmp_path, "serve", "--port", str(port))
    assert single_error(done).startswith(
        f"error: cannot listen on 127.0.0.1:{port} (Address already in use): is another `nyctaxi serve` "
        f"running? stop it, or pass --port {port + 1}"
    )


def test_file_of_another_month_is_refused_at_ingest(tmp_path):
    source = shared_file("green_tripdata_2025-01.parquet")
    done = nyctaxi(tmp_path, "ingest", "--service", "green", "--month", "2025-02", "--file", str(source))
    assert single_error(done).startswith(
        "error: green_tripdata_2025-01.parquet holds green 2025-01, but --service green --month 2025-02 was given"
        " (full trace in "
    )


def test_non_parquet_bytes_are_refused(tmp_path):
    fake = tmp_path / "green_tripdata_2025-01.parquet"
    fake.write_text("VendorID,lpep_pickup_datetime\n1,2025-01-01\n")
    done = nyctaxi(tmp_path, "ingest", "--service", "green", "--month", "2025-01", "--file", str(fake))
    assert single_error(done).startswith("error: green_tripdata_2025-01.parquet: not a valid Parquet file")
    assert [p for p in (tmp_path / "lake" / "bronze").rglob("*") if p.is_file()] == []
    # the same bytes put into bronze by hand are refused by the job, before Spark reads them
    bronze = tmp_path / "lake" / "bronze" / "green" / "2025"
    bronze.mkdir(parents=True, exist_ok=True)
    shutil.copy(fake, bronze)
    done = nyctaxi(tmp_path, "preprocess", "--service", "green", "--month", "2025-01")
    assert single_error(done).startswith(
        "error: green_tripdata_2025-01.parquet: not a Parquet file (43 bytes, no PAR1 header/footer)"
    )


@pytest.mark.slow
def test_missing_columns_and_mislabeled_month(tmp_path):
    five = shared_file("green_tripdata_2022-01_5cols.parquet")
    done = ingest_then_preprocess(tmp_path, "green", "2022-01", five)
    assert single_error(done).startswith(
        "error: green_tripdata_2022-01_5cols.parquet: required green columns missing: fare_amount, total_amount"
    )
    # January's trips published under February's name
    mislabeled = tmp_path / "green_tripdata_2025-02.parquet"
    shutil.copy(shared_file("green_tripdata_2025-01.parquet"), mislabeled)
    done = ingest_then_preprocess(tmp_path, "green", "2025-02", mislabeled)
    january = "green_tripdata_2025-01.parquet"
    outside, rows = pickups_outside(january, "2025-02"), file_rows(january)
    assert single_error(done).startswith(
        f"error: green_tripdata_2025-02.parquet: {outside:,} of {rows:,} pickups fall outside 2025-02; "
        "the file does not hold that month's trips (nothing published changed; the file is kept aside in "
    )


def test_no_bronze_file_says_what_to_run(tmp_path):
    done = nyctaxi(tmp_path, "preprocess", "--service", "yellow", "--month", "2024-01")
    assert "run `nyctaxi ingest --service yellow --month 2024-01` first" in single_error(done)


def _rows():
    import pyarrow.parquet as pq

    return pq.read_table(shared_file("green_tripdata_2025-01.parquet")).slice(0, 5_000)


def int64_timestamps(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = _rows()
    for name in ("lpep_pickup_datetime", "lpep_dropoff_datetime"):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, table[name].cast(pa.int64()))
    pq.write_table(table, path)


def damaged_page(path: Path) -> None:
    """Whole footer, damaged data: gzip pages with bytes overwritten in the middle of the file."""
    import pyarrow.parquet as pq

    pq.write_table(_rows(), path, compression="gzip", row_group_size=1_000)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 2_000] = bytes(2_000)
    path.write_bytes(bytes(data))


ENGINE_NOISE = ("Py4JJavaError", "AnalysisException", "unexpected", "Traceback", "\tat ")


# One case per failure class through the real CLI: a wrong column type (the other types' messages
# are checked in-process in tests/unit/test_normalise.py) and unreadable data.
@pytest.mark.slow
@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (int64_timestamps, "column lpep_pickup_datetime is bigint, expected a timestamp"),
        (damaged_page, "damaged data in the file"),
    ],
    ids=["int64-timestamps", "damaged-page"],
)
def test_engine_failures_are_one_line_naming_the_file_and_the_log(tmp_path, make, expected):
    source = tmp_path / "in" / "green_tripdata_2025-01.parquet"
    source.parent.mkdir()
    make(source)
    done = ingest_then_preprocess(tmp_path, "green", "2025-01", source)
    line = single_error(done)
    assert line.startswith("error: green_tripdata_2025-01.parquet: ") and expected in line, line
    assert not any(noise in done.stderr for noise in ENGINE_NOISE), done.stderr[-3000:]
    log = Path(line.rsplit("full trace in ", 1)[1].rstrip(")"))
    assert log.is_file() and "Traceback" in log.read_text(), "the full trace is in the named log"


def test_a_zone_lookup_that_is_not_one_is_refused_at_ingest(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copy(shared_file("green_tripdata_2025-01.parquet"), mirror)
    (mirror / "taxi_zone_lookup.csv").write_text("<html><body>503 Service Unavailable</body></html>\n")
    env = {**settings_env(make_settings(tmp_path)), "NYCTAXI_TLC_BASE_URL": str(mirror)}
    done = subprocess.run(
        [NYCTAXI, "ingest", "--service", "green", "--month", "2025-01"],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert single_error(done).startswith(
        "error: taxi_zone_lookup.csv: not the TLC zone lookup: header is '<html><body>503 Service "
        "Unavailable</body></html>', expected LocationID,Borough,Zone,service_zone; nothing written to bronze"
    )
    assert [p for p in (tmp_path / "lake" / "bronze" / "reference").rglob("*") if p.is_file()] == []


@pytest.mark.slow
def test_two_current_bronze_files_are_repaired_as_the_error_says(spark, tmp_path):
    """A second current file for a month (here one copied into bronze by hand) stops preprocess
    with a line saying how to repair it from the CLI; doing what it says repairs the month."""
    import pyarrow.parquet as pq

    from nyctaxi.ingest import versions
    from nyctaxi.ingest.bronze import ingest_local_file
    from nyctaxi.jobs import preprocess
    from nyctaxi.lake import Lake

    source = tmp_path / "in" / "green_tripdata_2025-01.parquet"
    source.parent.mkdir()
    pq.write_table(_rows(), source)
    month, jan = ("--service", "green", "--month", "2025-01"), Month.parse("2025-01")
    settings = make_settings(tmp_path)
    ingest_local_file(settings, str(source), "green", jan)  # a published month, in-process
    preprocess.run(spark, settings, "green", jan)
    lake = Lake.from_settings(settings)
    folder = Path(lake.bronze_dir("green", jan))
    hand_copied = folder / "green_tripdata_2025-01_fixed.parquet"
    pq.write_table(_rows().slice(0, 4_000), hand_copied)

    line = single_error(nyctaxi(tmp_path, "preprocess", *month))
    assert "several current bronze files for green 2025-01" in line, line
    repair = line.split("`")[1]  # the first command the error names
    assert repair == f"nyctaxi ingest --service green --month 2025-01 --file {folder}/<the right one>"
    chosen = repair.replace("<the right one>", "green_tripdata_2025-01.parquet").split()[1:]
    assert nyctaxi(tmp_path, *chosen).returncode == 0
    preprocess.run(spark, settings, "green", jan)  # the CLI's run of it, in-process (the JVM is up)

    assert versions.current_names(lake, "green", jan) == ["green_tripdata_2025-01.parquet"]
    aside = [v for v in versions.versions(lake, "green", jan) if v.name == hand_copied.name]
    assert [v.manifest["status"] for v in aside] == ["superseded"], "the other file is kept in _versions/"
    report = lake.read_json(lake.report("preprocess", "green", jan))
    assert report["rows_in"] == 5_000 and report["inputs"][0]["file_name"] == "green_tripdata_2025-01.parquet"
