"""Months (``YYYY-MM``), month ranges and TLC file names: parsed once, with clear errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from nyctaxi.errors import InvalidArgument

SERVICES = ("yellow", "green")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# TLC names: green_tripdata_2025-01.parquet; mirrors add suffixes (…_random1000.csv) or gzip.
_TRIP_FILE = re.compile(r"^(yellow|green|fhv|fhvhv)_tripdata_(\d{4}-\d{2})")
# Yellow starts 2009-01, green 2013-08; months before either cannot be TLC files.
FIRST_MONTH = "2009-01"


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month of the TLC publication calendar."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        match = _MONTH.match(text.strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise InvalidArgument(f"month {text!r} is not of the form YYYY-MM (e.g. 2025-01)")
        month = cls(int(match.group(1)), int(match.group(2)))
        if str(month) < FIRST_MONTH:
            raise InvalidArgument(f"month {text!r} is before the first TLC month {FIRST_MONTH}")
        return month

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1)

    @property
    def end(self) -> datetime:
        """First instant of the next month (exclusive bound)."""
        return self.next().start


def parse_month_range(text: str) -> list[Month]:
    """``2025-01`` or ``2025-01..2025-03`` (inclusive) → months in order."""
    first, sep, last = text.partition("..")
    if not sep and re.fullmatch(r"\s*\d{4}-\d{2}-\d{4}-\d{2}\s*", text):
        raise InvalidArgument(
            f"month range {text!r}: write it with two dots, {text.strip()[:7]}..{text.strip()[8:]}"
        )
    start = Month.parse(first)
    stop = Month.parse(last) if sep else start
    if stop < start:
        raise InvalidArgument(f"month range {text!r} ends before it starts")
    months = [start]
    while months[-1] < stop:
        months.append(months[-1].next())
    return months


def parse_service(text: str) -> str:
    service = text.strip().lower()
    if service not in SERVICES:
        raise InvalidArgument(f"unknown service {text!r}: expected one of {', '.join(SERVICES)}")
    return service


def trip_file_name(service: str, month: Month, extension: str = ".parquet") -> str:
    return f"{service}_tripdata_{month}{extension}"


def service_month_of_file(name: str) -> tuple[str, str] | None:
    """(service, 'YYYY-MM') encoded in a TLC-style file name, or None."""
    match = _TRIP_FILE.match(name)
    return (match.group(1), match.group(2)) if match else None
