"""Land a fetched file in bronze: verify it, skip it when unchanged, publish it atomically, then
write its manifest. Bronze holds the bytes exactly as published."""

from __future__ import annotations

import gzip
import logging
import os
import tempfile
from dataclasses import dataclass

import pyarrow.parquet as pq

from nyctaxi.config import Settings
from nyctaxi.errors import BadSourceFile, InvalidArgument
from nyctaxi.ingest.download import Fetched, fetch, sha256_of
from nyctaxi.ingest.sources import SourceFile, trip_source, zone_lookup_source
from nyctaxi.lake import (
    Lake,
    exists,
    join,
    manifest_uri,
    publish_file,
    read_json,
    remove,
    with_storage_retry,
    write_json_atomic,
)
from nyctaxi.months import Month, service_month_of_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    uri: str
    action: str  # "new" | "replaced" | "unchanged"
    sha256: str
    size: int


def verify_file(path: str, name: str) -> None:
    """Refuse a download that is not a whole file of its kind (corrupt bytes never reach bronze)."""
    try:
        if name.endswith(".parquet"):
            pq.read_metadata(path)
        elif name.endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                while handle.read(1 << 20):
                    pass
        else:
            with open(path, "rb") as handle:
                handle.readline().decode("utf-8-sig")
    except Exception as error:
        kind = "Parquet" if name.endswith(".parquet") else "gzip" if name.endswith(".gz") else "text"
        raise BadSourceFile(
            f"{name}: not a valid {kind} file ({error}); nothing written to bronze"
        ) from error


def _land(settings: Settings, source: SourceFile, target: str) -> IngestResult:
    def store(action):  # object-store I/O, retried while the store is unreachable (a restart)
        return with_storage_retry(settings.storage_retry_s, target, action)

    manifest = manifest_uri(target)
    known = store(lambda: read_json(manifest) if exists(manifest) and exists(target) else None)
    workdir = os.path.dirname(target) if "://" not in target else tempfile.gettempdir()
    os.makedirs(workdir, exist_ok=True)
    fetched: Fetched = fetch(
        source,
        workdir,
        timeout_s=settings.http_timeout_s,
        retries=settings.http_retries,
        backoff_s=settings.http_backoff_s,
        known=known,
    )
    if fetched.path is None:  # 304 Not Modified
        return IngestResult(target, "unchanged", known["sha256"], known["size"])
    try:
        verify_file(fetched.path, source.name)
        if known and known.get("sha256") == fetched.sha256:
            return IngestResult(target, "unchanged", fetched.sha256, fetched.size)
        store(lambda: publish_file(fetched.path, target))
    finally:
        if os.path.exists(fetched.path):
            os.remove(fetched.path)
    record = {
        "file_name": source.name,
        "source_url": source.location if source.is_http else "file://" + os.path.abspath(source.location),
        "size": fetched.size,
        "sha256": fetched.sha256,
        "fetched_at": fetched.fetched_at,
        "etag": fetched.etag,
        "last_modified": fetched.last_modified,
    }
    store(lambda: write_json_atomic(manifest, record))
    action = "replaced" if known else "new"
    log.info("%s %s (%s bytes, sha256 %s)", action, target, fetched.size, fetched.sha256)
    return IngestResult(target, action, fetched.sha256, fetched.size)


def _drop_other_versions(settings: Settings, service: str, month: Month, keep: str) -> None:
    """A month republished under another extension replaces the old bronze file, not sits beside it."""
    folder = Lake.from_settings(settings).bronze_dir(service, month)
    for ext in (".parquet", ".csv.gz", ".csv"):
        other = join(folder, f"{service}_tripdata_{month}{ext}")
        if other != keep:
            with_storage_retry(settings.storage_retry_s, other, lambda o=other: _remove_with_manifest(o))


def _remove_with_manifest(uri: str) -> None:
    if exists(uri):
        remove(uri)
        remove(manifest_uri(uri))


def ingest_month(settings: Settings, service: str, month: Month) -> IngestResult:
    """Fetch one monthly trip file from the configured TLC base URL into bronze."""
    lake = Lake.from_settings(settings)
    source = trip_source(settings.tlc_base_url, service, month)
    target = join(lake.bronze_dir(service, month), source.name)
    result = _land(settings, source, target)
    _drop_other_versions(settings, service, month, target)
    return result


def ingest_zone_lookup(settings: Settings) -> IngestResult:
    lake = Lake.from_settings(settings)
    return _land(settings, zone_lookup_source(settings.tlc_base_url), lake.zone_lookup())


def ingest_local_file(settings: Settings, path: str, service: str, month: Month) -> IngestResult:
    """Ingest a given local file (a sample, a mirror's CSV) whose name must match service and month."""
    name = os.path.basename(path)
    if not os.path.isfile(path):
        raise InvalidArgument(f"{path}: no such file")
    encoded = service_month_of_file(name)
    if encoded is None:
        raise InvalidArgument(f"{name}: not a TLC trip file name (<service>_tripdata_YYYY-MM...)")
    if encoded != (service, str(month)):
        raise InvalidArgument(
            f"{name} holds {encoded[0]} {encoded[1]}, but --service {service} --month {month} was given"
        )
    lake = Lake.from_settings(settings)
    target = join(lake.bronze_dir(service, month), name)
    return _land(settings, SourceFile(os.path.abspath(path), name), target)


__all__ = [
    "IngestResult",
    "ingest_local_file",
    "ingest_month",
    "ingest_zone_lookup",
    "sha256_of",
    "verify_file",
]
