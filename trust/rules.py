"""The promises as arithmetic: 30 days' notice, 7 days' notice, 8 hours a year.

Pure functions of dates and durations, so tests pin them exactly (docs/trust-center.md).
A document's effective date is a calendar date in UTC: "30 days' notice" means the effective
date is at least 30 UTC calendar days after the UTC date of publishing, whatever the time of
day and whatever the reader's time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

MATERIAL_NOTICE_DAYS = 30
DOCUMENT_REMINDER_DAYS = 7
MAINTENANCE_NOTICE = timedelta(days=7)
MAINTENANCE_REMINDER = timedelta(hours=24)
MAINTENANCE_YEARLY_BUDGET = timedelta(hours=8)
# a notice banner stays up (until dismissed) this long after the version takes effect
BANNER_DAYS_AFTER_EFFECTIVE = 30


def utc_today(now: datetime) -> date:
    return now.astimezone(UTC).date()


def earliest_material_effective_date(now: datetime) -> date:
    """The first UTC date a material change published at `now` may take effect."""
    return utc_today(now) + timedelta(days=MATERIAL_NOTICE_DAYS)


def earliest_maintenance_start(now: datetime) -> datetime:
    return now + MAINTENANCE_NOTICE


def year_bounds(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def overlap(start: datetime, end: datetime, lower: datetime, upper: datetime) -> timedelta:
    """How much of [start, end) falls inside [lower, upper)."""
    return max(timedelta(0), min(end, upper) - max(start, lower))


def format_duration(duration: timedelta) -> str:
    """`7 h 30 min` (hours and minutes, rounded down to the minute)."""
    minutes = int(duration.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"
