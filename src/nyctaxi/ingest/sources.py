"""Where a TLC file comes from: the TLC's HTTP site, ``file://`` URLs or a local mirror folder.

The TLC layout is ``<base>/trip-data/<file>`` and ``<base>/misc/taxi_zone_lookup.csv``; a mirror
folder may also hold the files flat. Folders may hold CSV or gzip CSV months as older mirrors do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from nyctaxi.errors import SourceNotPublished
from nyctaxi.lake import TRIP_FILE_EXTENSIONS, ZONE_LOOKUP_NAME
from nyctaxi.months import Month, trip_file_name

TRIP_DATA_DIR = "trip-data"
MISC_DIR = "misc"


@dataclass(frozen=True)
class SourceFile:
    """One file to fetch: its URL (http(s)) or local path, and its published name."""

    location: str
    name: str

    @property
    def is_http(self) -> bool:
        return self.location.startswith(("http://", "https://"))


def _local_root(base_url: str) -> str | None:
    if base_url.startswith("file://"):
        return base_url[len("file://") :]
    if "://" not in base_url:
        return os.path.abspath(base_url)
    return None


def _find_local(root: str, subdir: str, names: list[str]) -> SourceFile:
    for name in names:
        for candidate in (os.path.join(root, subdir, name), os.path.join(root, name)):
            if os.path.isfile(candidate):
                return SourceFile(candidate, name)
    raise SourceNotPublished(f"{names[0]} is not in the local mirror {root} (looked in {subdir}/ and flat)")


def trip_source(base_url: str, service: str, month: Month) -> SourceFile:
    """The monthly trip file: Parquet from HTTP; Parquet, CSV or gzip CSV from a folder."""
    root = _local_root(base_url)
    if root is None:
        name = trip_file_name(service, month)
        return SourceFile(f"{base_url.rstrip('/')}/{TRIP_DATA_DIR}/{name}", name)
    names = [trip_file_name(service, month, ext) for ext in TRIP_FILE_EXTENSIONS]
    return _find_local(root, TRIP_DATA_DIR, names)


def zone_lookup_source(base_url: str) -> SourceFile:
    root = _local_root(base_url)
    if root is None:
        return SourceFile(f"{base_url.rstrip('/')}/{MISC_DIR}/{ZONE_LOOKUP_NAME}", ZONE_LOOKUP_NAME)
    return _find_local(root, MISC_DIR, [ZONE_LOOKUP_NAME])
