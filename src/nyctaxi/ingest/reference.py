"""The zone lookup is checked at ingest like a trip file: an HTML error page or a truncated copy
saved under its name must fail here, naming the file, not later and obscurely in gold."""

from __future__ import annotations

import csv

from nyctaxi.errors import BadSourceFile

ZONE_HEADER = ("LocationID", "Borough", "Zone", "service_zone")
ZONE_IDS = range(1, 266)  # 263 taxi zones + 264 "Unknown" + 265 "Outside of NYC", every one listed


def check_zone_lookup(path: str, name: str) -> None:
    """Refuse a lookup without the TLC header, or whose ids are not exactly 1..265 once each."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError as error:
        raise BadSourceFile(f"{name}: not a UTF-8 text file ({error}); nothing written to bronze") from error
    header = tuple(cell.strip() for cell in rows[0]) if rows else ()
    if header != ZONE_HEADER:
        found = ",".join(header)[:80] or "an empty file"
        raise BadSourceFile(
            f"{name}: not the TLC zone lookup: header is {found!r}, expected {','.join(ZONE_HEADER)}; "
            "nothing written to bronze"
        )
    ids = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(ZONE_HEADER) or not row[0].strip().isdigit():
            raise BadSourceFile(
                f"{name}: line {number} is not a zone row ({','.join(row)[:80]!r}: expected "
                "an integer LocationID and 4 fields); nothing written to bronze"
            )
        ids.append(int(row[0]))
    if sorted(ids) != list(ZONE_IDS):
        missing = sorted(set(ZONE_IDS) - set(ids))[:5]
        extra = sorted({i for i in ids if i not in ZONE_IDS or ids.count(i) > 1})[:5]
        raise BadSourceFile(
            f"{name}: {len(ids)} zone rows, expected LocationID 1..265 once each "
            f"(missing {missing or 'none'}, unexpected or repeated {extra or 'none'}); nothing written to bronze"
        )
