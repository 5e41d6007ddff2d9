"""US federal holidays from the maintained `holidays` package (never a hand-written list)."""

from __future__ import annotations

from datetime import date

import holidays


def federal_holidays(years: list[int]) -> list[date]:
    """Federal holidays with their observed days (a Saturday holiday is observed on the Friday).

    New York observes every federal holiday; its extra state holidays (e.g. Lincoln's Birthday)
    do not close offices or change traffic the same way, so they are not included.
    """
    calendar = holidays.country_holidays("US", years=years, observed=True)
    return sorted(calendar.keys())
