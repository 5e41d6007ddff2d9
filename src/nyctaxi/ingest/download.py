"""Fetch one file to a local temp file: streamed, retried with backoff + jitter, size-checked, hashed.

Transient failures (timeouts, connection resets, 5xx, truncated bodies) are retried; 403/404
mean "not published (yet)" and fail at once. The caller decides whether the result reaches bronze.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)
from tqdm import tqdm

from nyctaxi.errors import DownloadFailed, SourceNotPublished
from nyctaxi.ingest.sources import SourceFile

CHUNK_BYTES = 1 << 20
NOT_PUBLISHED = (403, 404)  # CloudFront answers 403 for keys that do not exist


class TransientError(Exception):
    """A failure worth retrying."""


@dataclass
class Fetched:
    """A downloaded (or unchanged) file and what we know of it."""

    path: str | None  # None when the server said 304 Not Modified
    size: int | None
    sha256: str | None
    etag: str | None
    last_modified: str | None
    fetched_at: str


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def fetch(
    source: SourceFile,
    workdir: str,
    *,
    timeout_s: float,
    retries: int,
    backoff_s: float,
    known: dict | None = None,
) -> Fetched:
    """Fetch ``source`` into ``workdir``. ``known`` (a manifest) enables conditional requests."""
    if not source.is_http:
        target = os.path.join(workdir, f".{source.name}.part")
        shutil.copyfile(source.location, target)
        return Fetched(target, os.path.getsize(target), sha256_of(target), None, None, _now())
    retrying = Retrying(
        retry=retry_if_exception_type(TransientError),
        wait=wait_random_exponential(multiplier=backoff_s, max=60 * max(backoff_s, 0.01)),
        stop=stop_after_attempt(retries + 1),
        reraise=False,
    )
    try:
        return retrying(_http_get, source, workdir, timeout_s, known or {})
    except RetryError as error:
        cause = error.last_attempt.exception()
        raise DownloadFailed(f"{source.location}: gave up after {retries + 1} attempts: {cause}") from cause


def _http_get(source: SourceFile, workdir: str, timeout_s: float, known: dict) -> Fetched:
    headers = {}
    if known.get("etag"):
        headers["If-None-Match"] = known["etag"]
    if known.get("last_modified"):
        headers["If-Modified-Since"] = known["last_modified"]
    try:
        response = requests.get(source.location, headers=headers, stream=True, timeout=timeout_s)
    except (requests.Timeout, requests.ConnectionError) as error:
        raise TransientError(f"connection failed: {error}") from error
    with response:
        if response.status_code == 304:
            return Fetched(None, None, None, known.get("etag"), known.get("last_modified"), _now())
        if response.status_code in NOT_PUBLISHED:
            raise SourceNotPublished(
                f"{source.name} is not published (yet): {source.location} answered HTTP {response.status_code}"
            )
        if response.status_code >= 500:
            raise TransientError(f"HTTP {response.status_code} from {source.location}")
        if response.status_code != 200:
            raise DownloadFailed(f"{source.location}: unexpected HTTP {response.status_code}")
        expected = int(response.headers["Content-Length"]) if "Content-Length" in response.headers else None
        path, size, sha = _stream_to_file(response, source, workdir, expected)
        return Fetched(
            path, size, sha, response.headers.get("ETag"), response.headers.get("Last-Modified"), _now()
        )


def _stream_to_file(
    response: requests.Response, source: SourceFile, workdir: str, expected: int | None
) -> tuple[str, int, str]:
    digest = hashlib.sha256()
    size = 0
    fd, path = tempfile.mkstemp(dir=workdir, prefix=f".{source.name}.", suffix=".part")
    try:
        progress = tqdm(total=expected, unit="B", unit_scale=True, desc=source.name, disable=None)
        with os.fdopen(fd, "wb") as handle, progress as bar:
            for chunk in response.iter_content(CHUNK_BYTES):
                handle.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                bar.update(len(chunk))
        if expected is not None and size != expected:
            raise TransientError(f"truncated download: {size:,} of {expected:,} bytes")
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
        os.remove(path)
        raise TransientError(f"connection broke after {size:,} bytes: {error}") from error
    except BaseException:
        os.remove(path)
        raise
    return path, size, digest.hexdigest()
