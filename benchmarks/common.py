"""Shared by the benchmark scripts: where results go, run statistics, the machine, peak memory."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CACHE = ROOT / ".bench"  # git-ignored: generated inputs, lakes, registries
SHARED_TLC = (ROOT.parent / "shared" / "data" / "tlc").resolve()


def min_median(values: list[float]) -> tuple[float, float]:
    return min(values), statistics.median(values)


def machine() -> dict:
    """What the figures were measured on."""
    versions = {}
    for package in ("pyspark", "delta-spark", "duckdb", "xgboost-cpu", "fastapi", "uvicorn"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "java": java[0] if java else "?",
        "os": platform.platform(terse=True),
        "versions": versions,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def save(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        **payload,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


@dataclass
class PeakMemory:
    """Samples a process tree's resident memory every 0.1 s: the peak of the Python process itself
    and of its Java descendants (the Spark driver JVM)."""

    pid: int
    python_peak: int = 0
    jvm_peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            try:
                self.python_peak = max(self.python_peak, root.memory_info().rss)
                jvm = 0
                for child in root.children(recursive=True):
                    try:
                        if child.name() == "java":
                            jvm += child.memory_info().rss
                    except psutil.NoSuchProcess:
                        continue
                self.jvm_peak = max(self.jvm_peak, jvm)
            except psutil.NoSuchProcess:
                return
            self._stop.wait(0.1)


def free_port() -> int:
    """An ephemeral port on 127.0.0.1 for a server the benchmark starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0
