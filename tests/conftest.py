"""Shared fixtures: one SparkSession per test run, real TLC files from ../shared, per-test lakes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from nyctaxi.config import PROJECT_ROOT, Settings

SHARED_TLC = (PROJECT_ROOT.parent / "shared" / "data" / "tlc").resolve()
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def shared_file(name: str) -> Path:
    """A real TLC file from ../shared/data/tlc, or a skip saying why."""
    path = SHARED_TLC / name
    if not path.is_file():
        pytest.skip(f"real TLC data not available: {path} is absent (tests read ../shared/data/tlc)")
    return path


def make_settings(root: Path, **overrides) -> Settings:
    values = {
        "lake_bronze": str(root / "lake" / "bronze"),
        "lake_silver": str(root / "lake" / "silver"),
        "lake_gold": str(root / "lake" / "gold"),
        "tlc_base_url": str(SHARED_TLC),
        "spark_master": "local[2]",
        "spark_shuffle_partitions": 4,
        "http_backoff_s": 0.01,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def spark():
    from nyctaxi.spark import build_session

    session = build_session(make_settings(Path("/nonexistent")), "nyctaxi-tests")
    yield session
    session.stop()


@pytest.fixture
def zone_lookup(settings: Settings) -> str:
    """The real zone lookup placed in the test lake's bronze."""
    from nyctaxi.lake import Lake

    target = Lake.from_settings(settings).zone_lookup()
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copyfile(shared_file("taxi_zone_lookup.csv"), target)
    return target
