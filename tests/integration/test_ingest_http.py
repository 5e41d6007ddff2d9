"""The downloader against a real HTTP server on 127.0.0.1 that misbehaves on purpose."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nyctaxi.errors import BadSourceFile, DownloadFailed, SourceNotPublished
from nyctaxi.ingest.bronze import ingest_month, ingest_zone_lookup
from nyctaxi.lake import Lake, manifest_uri
from nyctaxi.months import Month
from tests.conftest import make_settings, shared_file

MONTH = Month.parse("2025-01")
TRIP_PATH = "/trip-data/green_tripdata_2025-01.parquet"


class FlakyTLC:
    """Serves files by path; each path has a queue of one-shot faults before it behaves."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.faults: dict[str, list[str]] = defaultdict(list)
        self.requests: list[tuple[str, dict]] = []
        tlc = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                tlc.requests.append((self.path, dict(self.headers)))
                fault = tlc.faults[self.path].pop(0) if tlc.faults[self.path] else None
                body = tlc.files.get(self.path)
                if fault == "500":
                    return self._send(500, b"busy")
                if body is None or fault == "404":
                    return self._send(404, b"<Error>NoSuchKey</Error>")
                etag = '"' + hashlib.md5(body).hexdigest() + '"'
                if self.headers.get("If-None-Match") == etag:
                    return self._send(304, b"", etag)
                if fault == "truncate":
                    return self._send(200, body[: len(body) // 2], etag, length=len(body))
                if fault == "corrupt":
                    return self._send(200, b"X" * len(body), etag)
                return self._send(200, body, etag)

            def _send(self, status, body, etag=None, length=None):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                if etag:
                    self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                if length is not None:  # a truncated body: the connection dies early
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)


@pytest.fixture
def tlc():
    server = FlakyTLC()
    server.files[TRIP_PATH] = shared_file("green_tripdata_2025-01.parquet").read_bytes()
    server.files["/misc/taxi_zone_lookup.csv"] = shared_file("taxi_zone_lookup.csv").read_bytes()
    yield server
    server.server.shutdown()


@pytest.fixture
def http_settings(tmp_path, tlc):
    return make_settings(tmp_path, tlc_base_url=tlc.url, http_retries=4)


def bronze_names(settings) -> list[str]:
    folder = Lake.from_settings(settings).bronze_dir("green", MONTH)
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_retries_5xx_then_lands_byte_exact_with_manifest(tlc, http_settings):
    tlc.faults[TRIP_PATH] = ["500", "500", "500"]
    result = ingest_month(http_settings, "green", MONTH)
    assert result.action == "pending" and tlc.hits(TRIP_PATH) == 4
    with open(result.uri, "rb") as landed:
        assert landed.read() == tlc.files[TRIP_PATH]
    manifest = Lake.from_settings(http_settings).read_json(manifest_uri(result.uri))
    assert manifest["sha256"] == hashlib.sha256(tlc.files[TRIP_PATH]).hexdigest()
    assert manifest["size"] == len(tlc.files[TRIP_PATH])
    assert manifest["source_url"] == tlc.url + TRIP_PATH
    assert manifest["etag"] and manifest["fetched_at"]
    # a candidate until preprocess accepts it (contract §6): in _versions/, named by its sha256
    sha12 = manifest["sha256"][:12]
    assert bronze_names(http_settings) == ["_versions"]
    assert sorted(os.listdir(os.path.dirname(result.uri))) == [
        f"green_tripdata_2025-01.parquet.{sha12}",
        f"green_tripdata_2025-01.parquet.{sha12}.manifest.json",
    ]
    assert manifest["status"] == "pending"


def test_gives_up_after_the_retry_budget_and_leaves_bronze_empty(tlc, http_settings):
    tlc.faults[TRIP_PATH] = ["500"] * 10
    with pytest.raises(DownloadFailed, match=r"gave up after 5 attempts: HTTP 500"):
        ingest_month(http_settings, "green", MONTH)
    assert bronze_names(http_settings) == []


def test_truncated_body_is_retried_and_never_reaches_bronze(tlc, http_settings, tmp_path):
    tlc.faults[TRIP_PATH] = ["truncate"]
    result = ingest_month(http_settings, "green", MONTH)
    assert tlc.hits(TRIP_PATH) == 2
    assert result.size == len(tlc.files[TRIP_PATH])
    tlc.faults[TRIP_PATH] = ["truncate"] * 10
    settings = make_settings(tmp_path / "other", tlc_base_url=tlc.url, http_retries=1)
    with pytest.raises(DownloadFailed, match="truncated|connection broke"):
        ingest_month(settings, "green", MONTH)
    assert bronze_names(settings) == []


def test_corrupt_parquet_is_refused(tlc, http_settings):
    tlc.faults[TRIP_PATH] = ["corrupt"]
    with pytest.raises(
        BadSourceFile,
        match="green_tripdata_2025-01.parquet: not a valid Parquet file .*nothing written to bronze",
    ):
        ingest_month(http_settings, "green", MONTH)
    assert bronze_names(http_settings) == []


def test_404_means_not_published_and_fails_fast(tlc, http_settings):
    with pytest.raises(
        SourceNotPublished, match=r"green_tripdata_2025-03.parquet is not published \(yet\).*HTTP 404"
    ):
        ingest_month(http_settings, "green", Month.parse("2025-03"))
    assert tlc.hits("/trip-data/green_tripdata_2025-03.parquet") == 1


def test_unchanged_is_a_no_op_and_a_changed_file_becomes_the_new_candidate(tlc, http_settings):
    first = ingest_month(http_settings, "green", MONTH)
    fetched_at = Lake.from_settings(http_settings).read_json(manifest_uri(first.uri))["fetched_at"]
    mtime = os.stat(first.uri).st_mtime_ns

    again = ingest_month(http_settings, "green", MONTH)
    assert again.action == "unchanged" and again.sha256 == first.sha256
    assert tlc.requests[-1][1].get("If-None-Match"), "the manifest's ETag makes the request conditional"
    assert os.stat(first.uri).st_mtime_ns == mtime
    assert Lake.from_settings(http_settings).read_json(manifest_uri(first.uri))["fetched_at"] == fetched_at

    tlc.files[TRIP_PATH] = shared_file(
        "green_tripdata_2025-02.parquet"
    ).read_bytes()  # upstream re-publication
    changed = ingest_month(http_settings, "green", MONTH)
    assert changed.action == "pending" and changed.sha256 != first.sha256
    with open(changed.uri, "rb") as landed:
        assert landed.read() == tlc.files[TRIP_PATH]
    assert Lake.from_settings(http_settings).read_json(manifest_uri(changed.uri))["sha256"] == changed.sha256
    assert Lake.from_settings(http_settings).read_json(manifest_uri(first.uri))["status"] == "superseded", (
        "the older candidate is kept"
    )


def test_zone_lookup_lands_in_reference(tlc, http_settings):
    result = ingest_zone_lookup(http_settings)
    assert result.uri.endswith("/reference/taxi_zone_lookup.csv")
    published = "1a99e105092230f8620f301edcca7f80d3080642ff404d28ed957d3fa222c8ed"  # pragma: allowlist secret
    assert result.sha256 == published


def test_local_mirror_folder_and_file_url(tmp_path):
    folder = shared_file("green_tripdata_2025-01.parquet").parent
    for base in (str(folder), "file://" + str(folder)):
        settings = make_settings(tmp_path / base.replace("/", "_"), tlc_base_url=base)
        assert ingest_month(settings, "green", MONTH).action == "pending"
        assert ingest_month(settings, "green", MONTH).action == "unchanged"
