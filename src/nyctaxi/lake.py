"""Where each layer, table, month and report lives, and atomic writes of small files.

Layer roots are URIs (a folder, ``file://`` or ``s3a://bucket/prefix``); `nyctaxi.storage` maps
them to what Spark and fsspec read. Moving the lake is a settings change.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from nyctaxi import catalog
from nyctaxi.config import Settings
from nyctaxi.months import Month
from nyctaxi.storage import ObjectStore, python_uri

ZONE_LOOKUP_NAME = "taxi_zone_lookup.csv"
TRIP_FILE_EXTENSIONS = (".parquet", ".csv.gz", ".csv")
MANIFEST_SUFFIX = ".manifest.json"


def join(root: str, *parts: str) -> str:
    return posixpath.join(root, *parts)


@dataclass(frozen=True)
class Lake:
    """The three layer roots and the relative layout of contract §1."""

    bronze: str
    silver: str
    gold: str
    store: ObjectStore = field(default_factory=ObjectStore)  # how the Python side reaches them

    @classmethod
    def from_settings(cls, settings: Settings) -> Lake:
        return cls(
            settings.lake_bronze,
            settings.lake_silver,
            settings.lake_gold,
            ObjectStore.from_settings(settings),
        )

    @property
    def roots(self) -> dict[str, str]:
        return {"bronze": self.bronze, "silver": self.silver, "gold": self.gold}

    # ---- bronze ----
    def bronze_dir(self, service: str, month: Month) -> str:
        return join(self.bronze, service, f"{month.year:04d}")

    def zone_lookup(self) -> str:
        return join(self.bronze, "reference", ZONE_LOOKUP_NAME)

    # ---- silver / gold ----
    def table(self, name: str) -> str:
        """A Delta table of the catalog (`nyctaxi.catalog`) by name: its layer's root / name."""
        return join(self.roots[catalog.table(name).layer], name)

    def publication(self, layer: str, service: str, month: Month) -> str:
        """The month's publication record in ``layer`` (contract §6): which table versions hold
        the month's published partitions, and the bronze sha256 they were built from."""
        return join(self.roots[layer], "_published", service, f"{month}.json")

    def rejected(self, service: str, month: Month, run_id: str) -> str:
        """Where a refused run's rejected rows are kept for inspection (never read by a stage)."""
        return join(self.silver, "_rejected", service, str(month), run_id)

    def report(self, stage: str, service: str, month: Month, failed: bool = False) -> str:
        """The stage's last succeeded report of the month, or (``failed``) its last failed one."""
        name = f"month={month}.failed.json" if failed else f"month={month}.json"
        return join(self.gold, "_reports", stage, f"service={service}", name)

    # ---- files (atomic writes: readers see the old content or the new, never a partial file) ----
    def exists(self, uri: str) -> bool:
        fs, path = self.store.fs(uri)
        return fs.exists(path)

    def read_json(self, uri: str) -> dict:
        fs, path = self.store.fs(uri)
        with fs.open(path, "r") as handle:
            return json.load(handle)

    @staticmethod
    def _temp_beside(target: str) -> str:
        """A hidden, unique name in ``target``'s folder: renaming it onto ``target`` is atomic."""
        return os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.{uuid.uuid4().hex}.tmp")

    def write_bytes_atomic(self, uri: str, data: bytes) -> None:
        """Readers see the old content or the new, never a partial file.

        Local: write a hidden temp file beside the target, fsync, rename (atomic on POSIX).
        Object stores: a single PUT is atomic already.
        """
        target = python_uri(uri)
        if "://" in target:
            fs, path = self.store.fs(uri)
            with fs.open(path, "wb") as handle:
                handle.write(data)
            return
        os.makedirs(os.path.dirname(target), exist_ok=True)
        temp = self._temp_beside(target)
        try:
            with open(temp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        finally:
            if os.path.exists(temp):
                os.remove(temp)

    def write_json_atomic(self, uri: str, payload: dict) -> None:
        self.write_bytes_atomic(uri, (json.dumps(payload, indent=2, default=str) + "\n").encode())

    def publish_file(self, local_path: str, uri: str) -> None:
        """Move a finished local file to ``uri`` so it appears whole or not at all.

        Local: copy next to the target under a hidden name if needed, then rename (atomic).
        Object stores: one upload (multipart above the client's threshold) that only becomes
        visible when it completes.
        """
        target = python_uri(uri)
        if "://" in target:
            fs, path = self.store.fs(uri)
            fs.put_file(local_path, path)
            os.remove(local_path)
            return
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.dirname(os.path.abspath(local_path)) != os.path.dirname(target):
            staged = self._temp_beside(target)
            shutil.move(local_path, staged)
            local_path = staged
        os.replace(local_path, target)

    def copy_atomic(self, source: str, target: str) -> None:
        """Copy one file to ``target`` so it appears whole or not at all (same store on both sides).

        Local: a hidden temp copy beside the target, fsync, rename. Object stores: one server-side
        CopyObject, which is atomic."""
        src, dst = python_uri(source), python_uri(target)
        if "://" in dst:
            fs, path = self.store.fs(target)
            fs.copy(self.store.fs(source)[1], path)
            return
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        temp = self._temp_beside(dst)
        try:
            shutil.copyfile(src, temp)
            with open(temp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(temp, dst)
        finally:
            if os.path.exists(temp):
                os.remove(temp)

    def remove(self, uri: str) -> None:
        fs, path = self.store.fs(uri)
        if fs.exists(path):
            fs.rm(path)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def manifest_uri(file_uri: str) -> str:
    return file_uri + MANIFEST_SUFFIX
