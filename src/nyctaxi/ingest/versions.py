"""Bronze versions of a month's file (contract §1, §6): ingest lands a *candidate* under
``_versions/``; only preprocess, when it accepts the file, makes it the month's current one.

A month folder ``bronze/<service>/<YYYY>/`` holds:
- ``<name>`` + ``<name>.manifest.json``: the current file, the one silver and gold were built from;
- ``_versions/<name>.<sha12>`` + manifest: every file ever given for the month, each manifest with a
  ``status``: ``pending`` (waiting for preprocess), ``accepted``, ``refused`` (with the reason and
  the run) or ``superseded`` (a later file was given before preprocess ran).

Only these functions move a month's bronze between those states, so the layout has one owner.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from nyctaxi.errors import MissingInput
from nyctaxi.lake import MANIFEST_SUFFIX, TRIP_FILE_EXTENSIONS, Lake, join, manifest_uri, utc_now
from nyctaxi.months import Month

VERSIONS_DIR = "_versions"
PENDING, ACCEPTED, REFUSED, SUPERSEDED = "pending", "accepted", "refused", "superseded"


def trip_file_pattern(service: str, month: Month) -> re.Pattern:
    """Names preprocess finds for (service, month): the TLC name, optionally with a mirror's suffix
    (``…_random1000``), and one of the extensions it reads. Case matters: TLC names are lower case."""
    extensions = "|".join(re.escape(ext) for ext in TRIP_FILE_EXTENSIONS)
    return re.compile(rf"^{service}_tripdata_{month}(_[A-Za-z0-9_-]+)?({extensions})$")


def expected_names(service: str, month: Month) -> str:
    return f"{service}_tripdata_{month}[_suffix]{{{','.join(TRIP_FILE_EXTENSIONS)}}}"


@dataclass(frozen=True)
class BronzeFile:
    """One file of a month: where its bytes are, its manifest, and whether it is a candidate."""

    uri: str
    name: str  # the original file name (what the current copy is called)
    manifest: dict
    candidate: bool  # True: a pending version, not yet the month's current file

    @property
    def sha256(self) -> str | None:
        return self.manifest.get("sha256")


def versions_dir(lake: Lake, service: str, month: Month) -> str:
    return join(lake.bronze_dir(service, month), VERSIONS_DIR)


def version_uri(lake: Lake, service: str, month: Month, name: str, sha256: str) -> str:
    return join(versions_dir(lake, service, month), f"{name}.{sha256[:12]}")


def _names(lake: Lake, folder: str) -> list[str]:
    fs, path = lake.store.fs(folder)
    if not fs.exists(path):
        return []
    return sorted(posixpath.basename(p.rstrip("/")) for p in fs.ls(path, detail=False))


def current_names(lake: Lake, service: str, month: Month) -> list[str]:
    pattern = trip_file_pattern(service, month)
    return [n for n in _names(lake, lake.bronze_dir(service, month)) if pattern.match(n)]


def current_file(lake: Lake, service: str, month: Month) -> BronzeFile | None:
    """The month's current (accepted) file, or None; two of them is an error saying how to repair."""
    names = current_names(lake, service, month)
    if len(names) > 1:
        folder = lake.bronze_dir(service, month)
        raise MissingInput(
            f"several current bronze files for {service} {month} in {folder}: {', '.join(names)}; keep "
            f"one with `nyctaxi ingest --service {service} --month {month} --file {folder}/<the right one>` "
            "and then `nyctaxi preprocess`: when it accepts that file the others move to _versions/"
        )
    if not names:
        return None
    uri = join(lake.bronze_dir(service, month), names[0])
    manifest = lake.read_json(manifest_uri(uri)) if lake.exists(manifest_uri(uri)) else {}
    return BronzeFile(uri, names[0], manifest, candidate=False)


def versions(lake: Lake, service: str, month: Month) -> list[BronzeFile]:
    """Every version given for the month, oldest first (by the time it was given). The folder is
    the year's, shared by its twelve months: only this month's file names count."""
    folder = versions_dir(lake, service, month)
    pattern = trip_file_pattern(service, month)
    found = []
    for name in _names(lake, folder):
        stored = name[: -len(MANIFEST_SUFFIX)]  # <original name>.<sha12>
        if not name.endswith(MANIFEST_SUFFIX) or not pattern.match(stored.rsplit(".", 1)[0]):
            continue
        manifest = lake.read_json(join(folder, name))
        uri = join(folder, stored)
        found.append(BronzeFile(uri, manifest["file_name"], manifest, manifest.get("status") == PENDING))
    return sorted(found, key=lambda f: (f.manifest.get("status_at") or "", f.uri))


def pending_candidate(lake: Lake, service: str, month: Month) -> BronzeFile | None:
    pending = [v for v in versions(lake, service, month) if v.candidate]
    return pending[-1] if pending else None


def preprocess_input(lake: Lake, service: str, month: Month) -> BronzeFile:
    """What preprocess reads: the pending candidate if there is one, else the current file."""
    candidate = pending_candidate(lake, service, month)
    if candidate is not None:
        return candidate
    current = current_file(lake, service, month)
    if current is not None:
        return current
    refused = [v for v in versions(lake, service, month) if v.manifest.get("status") == REFUSED]
    hint = f"; the last file given was refused ({refused[-1].manifest.get('reason')})" if refused else ""
    raise MissingInput(
        f"no bronze file for {service} {month} in {lake.bronze_dir(service, month)}{hint}: run `nyctaxi "
        f"ingest --service {service} --month {month}` first"
    )


def _set_status(lake: Lake, file: BronzeFile, status: str, **facts) -> dict:
    manifest = {**file.manifest, "status": status, "status_at": utc_now(), **facts}
    lake.write_json_atomic(manifest_uri(file.uri), manifest)
    return manifest


def land_candidate(lake: Lake, service: str, month: Month, put, record: dict) -> tuple[str, str]:
    """Store a verified file as the month's pending candidate (``put(uri)`` writes its bytes there
    atomically). Returns (action, uri): ``pending`` for a new candidate, ``unchanged`` when it is
    the current file or the pending candidate already. A newer file supersedes an older pending one."""
    current = current_file_or_none(lake, service, month)
    for other in versions(lake, service, month):
        if other.candidate and other.sha256 == record["sha256"]:
            return "unchanged", other.uri  # already waiting for preprocess
        if other.candidate:
            _set_status(lake, other, SUPERSEDED)
    if current is not None and current.sha256 == record["sha256"]:
        return "unchanged", current.uri
    uri = version_uri(lake, service, month, record["file_name"], record["sha256"])
    if not lake.exists(uri):
        put(uri)
    lake.write_json_atomic(manifest_uri(uri), {**record, "status": PENDING, "status_at": utc_now()})
    return "pending", uri


def current_file_or_none(lake: Lake, service: str, month: Month) -> BronzeFile | None:
    """The current file, or None when there is none *or* several (ingest can still add a candidate:
    that is how the ambiguity is repaired)."""
    try:
        return current_file(lake, service, month)
    except MissingInput:
        return None


def promote(lake: Lake, service: str, month: Month, accepted: BronzeFile, run_id: str) -> None:
    """Make an accepted candidate the month's current file. Idempotent: a run killed half-way is
    finished by the next one (the silver record already names this sha256).

    Order: the new current bytes, then its manifest, then the other current names aside (into
    _versions, where each is kept), then the candidate's own status."""
    folder = lake.bronze_dir(service, month)
    target = join(folder, accepted.name)
    lake.copy_atomic(accepted.uri, target)
    manifest = {k: v for k, v in accepted.manifest.items() if k not in ("status", "status_at")}
    lake.write_json_atomic(
        manifest_uri(target), {**manifest, "accepted_at": utc_now(), "accepted_by": run_id}
    )
    for name in current_names(lake, service, month):
        if name != accepted.name:
            _set_aside(lake, service, month, join(folder, name))
    _set_status(lake, accepted, ACCEPTED, accepted_by=run_id)


def _set_aside(lake: Lake, service: str, month: Month, uri: str) -> None:
    """An earlier current file under another name (another extension): kept in _versions."""
    manifest = lake.read_json(manifest_uri(uri)) if lake.exists(manifest_uri(uri)) else {}
    name = uri.rsplit("/", 1)[-1]
    sha = manifest.get("sha256") or "unknown00000"
    kept = version_uri(lake, service, month, name, sha)
    if not lake.exists(kept):
        lake.copy_atomic(uri, kept)
    lake.write_json_atomic(
        manifest_uri(kept), {"file_name": name, **manifest, "status": SUPERSEDED, "status_at": utc_now()}
    )
    lake.remove(manifest_uri(uri))
    lake.remove(uri)


def refuse(lake: Lake, file: BronzeFile, run_id: str, reason: str) -> None:
    """A candidate preprocess refused stays in _versions with the reason; the current file stays."""
    if file.candidate:
        _set_status(lake, file, REFUSED, refused_by=run_id, reason=reason)


def find_version(lake: Lake, service: str, month: Month, sha256: str) -> BronzeFile | None:
    matches = [v for v in versions(lake, service, month) if v.sha256 == sha256]
    return matches[-1] if matches else None
