"""Working days for disclosure deadlines (20 working days, 国发〔2019〕5号 [M]).

Official holidays and adjusted working weekends come from ``chinese-calendar``; it knows
only the years up to its release (2026 for 1.11), so a regulator can load later years'
State Council notices (``inspect-core calendar load`` / ``PUT /api/v1/calendar/{year}``).
For a year neither knows, weekends alone are skipped and the deadline says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import chinese_calendar

BASIS_CALENDAR = "calendar"  # chinese-calendar's official data
BASIS_LOADED = "loaded"  # a regulator-loaded year
BASIS_WEEKDAYS = "weekdays"  # fallback: Monday–Friday, holidays unknown

DISCLOSURE_WORKING_DAYS = 20


def _package_knows(day: dt.date) -> bool:
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def is_workday(
    day: dt.date, loaded: Mapping[dt.date, bool], loaded_years: set[int]
) -> tuple[bool, str]:
    """Whether ``day`` is a working day, and which source said so."""
    if day in loaded:
        return loaded[day], BASIS_LOADED
    if day.year in loaded_years:
        return day.weekday() < 5, BASIS_LOADED
    if _package_knows(day):
        return chinese_calendar.is_workday(day), BASIS_CALENDAR
    return day.weekday() < 5, BASIS_WEEKDAYS


_RANK = {BASIS_CALENDAR: 0, BASIS_LOADED: 1, BASIS_WEEKDAYS: 2}


def add_working_days(
    start: dt.date,
    n: int,
    loaded: Mapping[dt.date, bool] | None = None,
    loaded_years: set[int] | None = None,
) -> tuple[dt.date, str]:
    """The ``n``-th working day after ``start`` (``start`` itself not counted).

    ``loaded`` holds a regulator's overrides; ``loaded_years`` the years they cover in full
    (default: the years of ``loaded``).  Returns the date and the weakest basis used on the
    way: ``weekdays`` if any day had to be guessed from the weekday alone.
    """
    loaded = loaded or {}
    years = loaded_years if loaded_years is not None else {d.year for d in loaded}
    day, counted, basis = start, 0, BASIS_CALENDAR
    while counted < n:
        day += dt.timedelta(days=1)
        work, source = is_workday(day, loaded, years)
        if _RANK[source] > _RANK[basis]:
            basis = source
        if work:
            counted += 1
    return day, basis
