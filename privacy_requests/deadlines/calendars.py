"""Business-day calendars built from the `holidays` package.

A calendar is Monday to Friday less the public holidays of one country (and optionally one
subdivision), as the `holidays` package lists them, observed days included. Holiday sets are
built lazily per (calendar, year) and cached for the life of the process: a deadline computation
touches one or two years, and recomputing every open request must not rebuild them.

Dates are handled as proleptic ordinals inside this module (`date.toordinal()`): ordinal 1 is
Monday 0001-01-01, so the weekday is `(ordinal - 1) % 7` and whole weeks can be skipped with
integer arithmetic instead of stepping day by day.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache

import holidays

_FRIDAY = 4


@dataclass(frozen=True, slots=True)
class CalendarSpec:
    """Which public holidays count as non-business days.

    `country` is an ISO 3166 code understood by `holidays.country_holidays` ("US", "CA"), or
    None for a calendar with weekends only. `subdivision` narrows it ("QC", "ON").
    """

    country: str | None
    subdivision: str | None = None

    def __str__(self) -> str:
        if self.country is None:
            return "weekends-only"
        return f"{self.country}-{self.subdivision}" if self.subdivision else self.country


US_FEDERAL = CalendarSpec("US")
CANADA_FEDERAL = CalendarSpec("CA")
QUEBEC = CalendarSpec("CA", "QC")
ONTARIO = CalendarSpec("CA", "ON")
WEEKENDS_ONLY = CalendarSpec(None)


@cache
def _weekday_holidays(calendar: CalendarSpec, year: int) -> tuple[int, ...]:
    """Sorted ordinals of the calendar's holidays in `year` that fall on Monday to Friday.

    Weekend holidays are dropped because weekends are closed anyway; keeping only weekdays lets
    the business-day arithmetic count closures without double counting. Neighbouring years are
    generated too because an observed day can belong to the next year's holiday (New Year's Day
    2028, a Saturday, is observed on Friday 2027-12-31).
    """
    if calendar.country is None:
        return ()
    listed = holidays.country_holidays(
        calendar.country, subdiv=calendar.subdivision, years=range(year - 1, year + 2)
    )
    return tuple(
        sorted(day.toordinal() for day in listed if day.year == year and day.weekday() <= _FRIDAY)
    )


def holiday_dates(calendar: CalendarSpec, year: int) -> frozenset[date]:
    """The calendar's weekday holidays in `year` (for display and tests)."""
    return frozenset(date.fromordinal(o) for o in _weekday_holidays(calendar, year))


def _is_holiday(calendar: CalendarSpec, ordinal: int) -> bool:
    listed = _weekday_holidays(calendar, date.fromordinal(ordinal).year)
    index = bisect_left(listed, ordinal)
    return index < len(listed) and listed[index] == ordinal


def _holidays_between(calendar: CalendarSpec, after: int, through: int) -> int:
    """Number of weekday holidays with `after < ordinal <= through`."""
    if calendar.country is None:
        return 0
    first_year = date.fromordinal(after + 1).year
    last_year = date.fromordinal(through).year
    if first_year == last_year:  # the usual case, worth its own path
        listed = _weekday_holidays(calendar, first_year)
        return bisect_right(listed, through) - bisect_right(listed, after)
    count = 0
    for year in range(first_year, last_year + 1):
        listed = _weekday_holidays(calendar, year)
        count += bisect_right(listed, through) - bisect_right(listed, after)
    return count


def _add_weekdays(ordinal: int, n: int) -> int:
    """The n-th Monday-to-Friday day after `ordinal`, ignoring holidays (n >= 1)."""
    weekday = (ordinal - 1) % 7
    if weekday > _FRIDAY:
        # Counting from a weekend is the same as counting from the Friday before it.
        ordinal -= weekday - _FRIDAY
        weekday = _FRIDAY
    weeks, rest = divmod(n, 5)
    ordinal += weeks * 7 + rest
    if weekday + rest > _FRIDAY:
        ordinal += 2
    return ordinal


def is_business_day(day: date, calendar: CalendarSpec) -> bool:
    """True if `day` is Monday to Friday and not one of the calendar's holidays."""
    return day.weekday() <= _FRIDAY and not _is_holiday(calendar, day.toordinal())


def business_days_between(start: date, end: date, calendar: CalendarSpec) -> int:
    """Business days after `start` up to and including `end` (negative when `end` is earlier):
    the badge arithmetic of "N business days left" and "overdue by N"."""
    sign, low, high = (1, start, end) if end >= start else (-1, end, start)
    days = sum(
        is_business_day(date.fromordinal(ordinal), calendar)
        for ordinal in range(low.toordinal() + 1, high.toordinal() + 1)
    )
    return sign * days


def business_day_add(
    start: date,
    n: int,
    calendar: CalendarSpec,
    extra_closures: frozenset[date] = frozenset(),
) -> date:
    """The date `n` business days after `start` (`start` itself is not counted).

    `extra_closures` are an organization's own closed days (state or district closures). They
    are for internal targets only: the statutory computation in `engine.compute` never passes
    them, so they can never push a legal deadline later.

    n == 0 returns `start` unchanged, even on a weekend.
    """
    if n < 0:
        raise ValueError(f"cannot add a negative number of business days ({n})")
    closures = (
        sorted(
            c.toordinal()
            for c in extra_closures
            if c > start and c.weekday() <= _FRIDAY and not _is_holiday(calendar, c.toordinal())
        )
        if extra_closures
        else ()
    )
    return date.fromordinal(_add_open_days(start.toordinal(), n, calendar, closures))


def _add_open_days(start: int, n: int, calendar: CalendarSpec, closures: Sequence[int]) -> int:
    """`business_day_add` on ordinals; `closures` are sorted weekday non-holiday ordinals."""
    current = start
    remaining = n
    # Land on the weekday that would be right without holidays, then count the holidays (and
    # closures) skipped over and move on by that many more weekdays, until none are skipped.
    while remaining:
        end = _add_weekdays(current, remaining)
        remaining = _holidays_between(calendar, current, end)
        if closures:
            remaining += bisect_right(closures, end) - bisect_right(closures, current)
        current = end
    return current


def next_business_day_on_or_after(day: date, calendar: CalendarSpec) -> date:
    """`day` if it is a business day, otherwise the first business day after it (roll-forward)."""
    if is_business_day(day, calendar):
        return day
    return business_day_add(day, 1, calendar)
