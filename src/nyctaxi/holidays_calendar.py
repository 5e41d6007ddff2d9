"""US federal holidays from the maintained `holidays` package (never a hand-written list)."""

from __future__ import annotations

import functools
from datetime import date

import holidays


def federal_holidays(years: list[int]) -> list[date]:
    """Federal holidays with their observed days (a Saturday holiday is observed on the Friday).

    New York observes every federal holiday; its extra state holidays (e.g. Lincoln's Birthday)
    do not close offices or change traffic the same way, so they are not included.
    """
    calendar = holidays.country_holidays("US", years=years, observed=True)
    return sorted(calendar.keys())


@functools.lru_cache(maxsize=64)
def federal_holiday_set(years: tuple[int, ...]) -> frozenset[date]:
    """``federal_holidays`` as a set, cached: serving asks for the same years on every request."""
    return frozenset(federal_holidays(list(years)))
