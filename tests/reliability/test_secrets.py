"""No credentials in tracked files (detect-secrets' detectors over `git ls-files`), and none of the
configured secret values in anything a full run on S3 prints or writes."""

from __future__ import annotations

import subprocess

import pytest
from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

from tests.conftest import PROJECT_ROOT


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: no tracked files to scan")
    return [name for name in listed.stdout.decode().split("\0") if name]


def test_no_credentials_in_tracked_files(case):
    record = case(
        "credentials committed to git (detect-secrets over every tracked file)",
        "none found (a known non-secret is marked `pragma: allowlist secret` inline)",
    )
    files = tracked_files()
    found = SecretsCollection(root=str(PROJECT_ROOT))
    with default_settings():
        for name in files:
            found.scan_file(name)
    hits = [f"{name}:{secret.line_number} {secret.type}" for name, secret in found]
    assert hits == [], hits
    record.saw(f"{len(files)} tracked files scanned, 0 findings")


@pytest.mark.slow
def test_a_full_run_never_shows_the_secret_values(s3_server, s3_pipeline, case):
    record = case(
        "secret values in the logs and outputs of a full run on S3 (ingest, submit preprocess, submit "
        "features; --verbose)",
        "the access key and secret key appear in no output, log, report or table file",
    )
    prefix = s3_pipeline.settings.lake_bronze.rsplit("/", 1)[-1]  # the run's own objects
    written = [p for p in (s3_server.folder / "data").rglob("*") if p.is_file() and prefix in str(p)]
    written += [p for p in s3_pipeline.workdir.rglob("*") if p.is_file()]
    secrets = {"AWS_SECRET_ACCESS_KEY": s3_server.secret_key, "AWS_ACCESS_KEY_ID": s3_server.access_key}
    for name, value in secrets.items():
        assert all(value not in text for text in s3_pipeline.outputs), f"{name} printed"
        leaked = [str(p) for p in written if value.encode() in p.read_bytes()]
        assert leaked == [], f"{name} written to {leaked}"
    logged = sum(len(text.splitlines()) for text in s3_pipeline.outputs)
    record.saw(f"0 occurrences in {logged:,} lines of output and {len(written):,} files written")
