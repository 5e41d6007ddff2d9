"""On a terminal a long stage draws its progress from Spark's status tracker (on stderr)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess

import pytest

from tests.conftest import SHARED_TLC, make_settings, shared_file
from tests.integration.test_cli_errors import NYCTAXI
from tests.pipeline import settings_env


def on_a_terminal(args: list[str], env: dict, cwd) -> tuple[int, str]:
    """Run the CLI with stdout and stderr on a pseudo-terminal; (exit status, all it drew)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        args, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower
    )
    os.close(follower)
    drawn = bytearray()
    while True:
        ready, _, _ = select.select([leader], [], [], 300)
        if not ready:
            process.kill()
            pytest.fail("no output for 300 s")
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process ended
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    return process.wait(timeout=60), drawn.decode(errors="replace")


@pytest.mark.slow
def test_preprocess_draws_spark_progress_on_a_terminal(tmp_path):
    import pyarrow.parquet as pq

    source = tmp_path / "in" / "green_tripdata_2025-01.parquet"
    source.parent.mkdir()
    pq.write_table(pq.read_table(shared_file("green_tripdata_2025-01.parquet")).slice(0, 20_000), source)
    env = {**settings_env(make_settings(tmp_path)), "NYCTAXI_TLC_BASE_URL": str(SHARED_TLC), "TERM": "xterm"}
    month = ["--service", "green", "--month", "2025-01"]
    assert (
        subprocess.run([NYCTAXI, "ingest", *month, "--file", str(source)], env=env, cwd=tmp_path).returncode
        == 0
    )

    status, drawn = on_a_terminal([NYCTAXI, "preprocess", *month], env, tmp_path)
    assert status == 0, drawn[-3000:]
    # a bar naming the Spark job and stage, with tasks done / total and the elapsed time
    assert re.search(r"preprocess 2025-01: job \d+ stage \d+.*\d+/\d+.*\d:\d\d:\d\d", drawn), drawn[-3000:]
    assert "preprocess green 2025-01: succeeded, rows in 20,000" in drawn
    assert "WARNING: Using incubator modules" not in drawn

    quiet, plain = on_a_terminal([NYCTAXI, "preprocess", *month, "--quiet"], env, tmp_path)
    assert quiet == 0 and "stage" not in plain and "preprocess green 2025-01: succeeded" in plain, plain
