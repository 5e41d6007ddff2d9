"""Land a fetched file in bronze: verify it, skip it when unchanged, publish it atomically, then
write its manifest. Bronze holds the bytes exactly as published; a trip file lands as the month's
candidate (see ``versions``), the zone lookup directly."""

from __future__ import annotations

import gzip
import logging
import os
import tempfile
from dataclasses import dataclass

import pyarrow.parquet as pq

from nyctaxi.config import Settings
from nyctaxi.errors import BadSourceFile, InvalidArgument
from nyctaxi.ingest import versions
from nyctaxi.ingest.download import Fetched, fetch, sha256_of
from nyctaxi.ingest.reference import check_zone_lookup
from nyctaxi.ingest.sources import SourceFile, trip_source, zone_lookup_source
from nyctaxi.lake import Lake, join, manifest_uri
from nyctaxi.months import Month, service_month_of_file
from nyctaxi.storage import with_storage_retry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    uri: str
    action: str  # trip files: "pending" | "unchanged"; the zone lookup: "new" | "replaced" | "unchanged"
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


def _fetch_verified(settings: Settings, source: SourceFile, workdir: str, known: dict | None) -> Fetched:
    """The source fetched to a local temp file and verified; ``path`` None: 304 Not Modified."""
    os.makedirs(workdir, exist_ok=True)
    fetched: Fetched = fetch(
        source,
        workdir,
        timeout_s=settings.http_timeout_s,
        retries=settings.http_retries,
        backoff_s=settings.http_backoff_s,
        known=known,
    )
    if fetched.path is not None:
        try:
            verify_file(fetched.path, source.name)
        except BadSourceFile:
            os.remove(fetched.path)
            raise
    return fetched


def _manifest(source: SourceFile, fetched: Fetched) -> dict:
    return {
        "file_name": source.name,
        "source_url": source.location if source.is_http else "file://" + os.path.abspath(source.location),
        "size": fetched.size,
        "sha256": fetched.sha256,
        "fetched_at": fetched.fetched_at,
        "etag": fetched.etag,
        "last_modified": fetched.last_modified,
    }


def _workdir(target: str) -> str:
    return os.path.dirname(target) if "://" not in target else tempfile.gettempdir()


def _land_trip_file(settings: Settings, source: SourceFile, service: str, month: Month) -> IngestResult:
    """A month's file becomes its pending candidate in bronze ``_versions/``; preprocess decides
    whether it becomes the current one (contract §6)."""
    lake = Lake.from_settings(settings)
    folder = lake.bronze_dir(service, month)

    def store(action):  # object-store I/O, retried while the store is unreachable (a restart)
        return with_storage_retry(settings.storage_retry_s, join(folder, source.name), action)

    known = store(lambda: versions.pending_candidate(lake, service, month))
    known = known or store(lambda: versions.current_file_or_none(lake, service, month))
    fetched = _fetch_verified(settings, source, _workdir(join(folder, source.name)), known and known.manifest)
    if fetched.path is None:  # 304 Not Modified: what we hold is what the TLC serves
        return IngestResult(known.uri, "unchanged", known.sha256, known.manifest.get("size"))
    try:
        record = _manifest(source, fetched)
        action, uri = store(
            lambda: versions.land_candidate(
                lake, service, month, lambda target: lake.publish_file(fetched.path, target), record
            )
        )
    finally:
        if os.path.exists(fetched.path):
            os.remove(fetched.path)
    log.info("%s %s (%s bytes, sha256 %s)", action, uri, fetched.size, fetched.sha256)
    return IngestResult(uri, action, fetched.sha256, fetched.size)


def _land_reference(settings: Settings, lake: Lake, source: SourceFile, target: str) -> IngestResult:
    """The zone lookup: validated like a trip file, replaced atomically when it changed."""

    def store(action):
        return with_storage_retry(settings.storage_retry_s, target, action)

    manifest = manifest_uri(target)
    known = store(lambda: lake.read_json(manifest) if lake.exists(manifest) and lake.exists(target) else None)
    fetched = _fetch_verified(settings, source, _workdir(target), known)
    if fetched.path is None:
        return IngestResult(target, "unchanged", known["sha256"], known["size"])
    try:
        check_zone_lookup(fetched.path, source.name)
        if known and known.get("sha256") == fetched.sha256:
            return IngestResult(target, "unchanged", fetched.sha256, fetched.size)
        store(lambda: lake.publish_file(fetched.path, target))
    finally:
        if os.path.exists(fetched.path):
            os.remove(fetched.path)
    store(lambda: lake.write_json_atomic(manifest, _manifest(source, fetched)))
    return IngestResult(target, "replaced" if known else "new", fetched.sha256, fetched.size)


def ingest_month(settings: Settings, service: str, month: Month) -> IngestResult:
    """Fetch one monthly trip file from the configured TLC base URL into bronze (as a candidate)."""
    return _land_trip_file(settings, trip_source(settings.tlc_base_url, service, month), service, month)


def ingest_zone_lookup(settings: Settings) -> IngestResult:
    lake = Lake.from_settings(settings)
    return _land_reference(settings, lake, zone_lookup_source(settings.tlc_base_url), lake.zone_lookup())


def ingest_local_file(settings: Settings, path: str, service: str, month: Month) -> IngestResult:
    """Ingest a given local file (a sample, a mirror's CSV) whose name must be one preprocess reads
    for exactly that service and month."""
    name = os.path.basename(path)
    if not os.path.isfile(path):
        raise InvalidArgument(f"{path}: no such file")
    encoded = service_month_of_file(name)
    if encoded is not None and encoded != (service, str(month)):
        raise InvalidArgument(
            f"{name} holds {encoded[0]} {encoded[1]}, but --service {service} --month {month} was given"
        )
    if not versions.trip_file_pattern(service, month).match(name):
        raise InvalidArgument(
            f"{name}: not a name preprocess reads for {service} {month}; expected "
            f"{versions.expected_names(service, month)} (rename the file, e.g. to "
            f"{service}_tripdata_{month}.parquet)"
        )
    return _land_trip_file(settings, SourceFile(os.path.abspath(path), name), service, month)


__all__ = [
    "IngestResult",
    "ingest_local_file",
    "ingest_month",
    "ingest_zone_lookup",
    "sha256_of",
    "verify_file",
]
