"""Object storage (S3 / MinIO) for the lake: which URI each client reads (Spark ``s3a://``, fsspec
``s3://`` for the same object), the Python-side client's options, buckets, and retries while a
store is unreachable. Spark's s3a settings are in `nyctaxi.sparkconf`."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import botocore.exceptions
import fsspec
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_random_exponential

from nyctaxi.config import Settings
from nyctaxi.errors import StorageUnavailable


def spark_uri(uri: str) -> str:
    """The URI Spark/Hadoop reads: ``s3a://`` for object storage, ``file:`` for folders."""
    if uri.startswith("s3://"):
        return "s3a://" + uri[len("s3://") :]
    if "://" not in uri:
        return "file://" + os.path.abspath(uri)
    return uri


def python_uri(uri: str) -> str:
    """The URI fsspec reads: ``s3://`` for object storage, a plain path for folders."""
    if uri.startswith("s3a://"):
        return "s3://" + uri[len("s3a://") :]
    if uri.startswith("file://"):
        return uri[len("file://") :]
    return uri


def is_object_store(uri: str) -> bool:
    return uri.startswith(("s3://", "s3a://"))


@dataclass(frozen=True)
class ObjectStore:
    """How the Python side (fsspec) reaches the lake's files: local folders as they are, ``s3://``
    at the configured endpoint with path-style addressing. Held by the Lake and passed down;
    nothing process-wide (fsspec's global config) is touched.

    Credentials are not held: botocore reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
    AWS_REGION from the environment, and nothing here has a default for them.
    """

    endpoint: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ObjectStore:
        return cls(settings.s3_endpoint)

    def options(self, uri: str) -> dict:
        if not is_object_store(uri):
            return {}
        options = {"config_kwargs": {"s3": {"addressing_style": "path"}}}
        return options | ({"endpoint_url": self.endpoint} if self.endpoint else {})

    def fs(self, uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
        """The filesystem holding ``uri`` and the path on it."""
        target = python_uri(uri)
        return fsspec.core.url_to_fs(target, **self.options(target))


def create_buckets(store: ObjectStore, roots: list[str]) -> list[str]:
    """Create the bucket of every object-store root among ``roots`` (the lake's layers, MLflow's
    artifacts), idempotently; returns their names."""
    created = []
    for root in roots:
        if not is_object_store(root):
            continue
        fs, path = store.fs(root)
        bucket = path.split("/", 1)[0]
        with contextlib.suppress(FileExistsError):  # s3fs's name for BucketAlreadyOwnedByYou
            fs.call_s3("create_bucket", Bucket=bucket)
        created.append(bucket)
    return created


# The store did not answer (refused, reset, timed out): worth retrying while it restarts. Refused
# credentials or a missing bucket are not, and fail at once.
UNREACHABLE = (
    botocore.exceptions.ConnectionError,
    botocore.exceptions.HTTPClientError,
    ConnectionError,
    TimeoutError,
)
T = TypeVar("T")


def with_storage_retry(retry_s: float, uri: str, action: Callable[[], T]) -> T:
    """Run ``action`` (I/O on ``uri``), retrying with backoff for up to ``retry_s`` seconds while an
    object store is unreachable; then a StorageUnavailable naming the object. Local paths: one try."""
    if not is_object_store(uri):
        return action()
    try:
        for attempt in Retrying(
            retry=retry_if_exception_type(UNREACHABLE),
            stop=stop_after_delay(retry_s),
            wait=wait_random_exponential(multiplier=0.5, max=8),
            reraise=True,
        ):
            with attempt:
                return action()
    except UNREACHABLE as error:
        raise StorageUnavailable(
            f"object store unreachable for {uri} (retried for {retry_s:.0f} s): {error}; "
            "rerun when it is back (what was written before is whole)"
        ) from error
    raise AssertionError("unreachable")  # pragma: no cover - Retrying returns or raises
