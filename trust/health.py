"""The minute's health check behind the status page, and availability computed from them.

`health_check_record()` (beat task `trust.record_health`, every minute) asks, each with a short
timeout: does a web process answer `/healthz/` (TRUST_WEB_CHECK_URL, default PORTAL_BASE_URL +
/healthz/), does the database answer, does Redis, does a Celery worker answer a ping, is the
beat's heartbeat fresh, and is email flowing (no outbox row pending for over 15 minutes). It
stores one `HealthCheck` row per minute (a second run in the same minute changes nothing).

Availability of the portal (web pages and API: web, database and Redis up) over a period:

    available = 1 - failed minutes / (minutes in the period - planned maintenance minutes)

where failed minutes inside planned maintenance are not counted (the SLA excludes announced
maintenance), emergency maintenance counts like any outage, and a minute with no recorded
check is not counted as failed (the checker itself was not running; the page says how many
minutes have no record). 43 failed minutes in 30 days: 1 - 43 / 43,200 = 99.90 %.
"""

from __future__ import annotations

import logging
import urllib.request
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

import redis
from django.conf import settings
from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from k12cloud.beat import beat_heartbeat, redis_client
from k12cloud.tenancy import unscoped_all_tenants
from trust.models import HealthCheck, MaintenanceWindow
from trust.selectors import planned_windows_in

logger = logging.getLogger(__name__)
WEB_TIMEOUT = 5.0
EMAIL_STUCK_AFTER = timedelta(minutes=15)
COMMITMENT = Decimal("99.9")
KEEP_CHECKS = timedelta(days=400)


def _web_answers() -> bool:
    url = settings.TRUST_WEB_CHECK_URL or settings.PORTAL_BASE_URL.rstrip("/") + "/healthz/"
    if not url.startswith(("http://", "https://")):
        return False
    try:
        with urllib.request.urlopen(url, timeout=WEB_TIMEOUT) as response:  # noqa: S310 (http(s) only)
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # any database error means "down" here
        return False


def _redis_answers() -> bool:
    try:
        return bool(redis_client().ping())
    except (redis.RedisError, OSError):
        return False


def _beat_alive() -> bool:
    try:
        return beat_heartbeat() is not None
    except (redis.RedisError, OSError):
        return False


def _email_flowing(now: datetime) -> bool:
    from k12cloud.notifications.models import OutboundEmail

    try:
        with unscoped_all_tenants(reason="status page: is any email stuck in the outbox"):
            return not OutboundEmail.objects.filter(
                status=OutboundEmail.Status.PENDING, created_at__lt=now - EMAIL_STUCK_AFTER
            ).exists()
    except Exception:
        return False


def health_check_record(*, now: datetime | None = None) -> HealthCheck:
    from k12cloud.health import worker_answers

    now = now or timezone.now()
    minute = now.astimezone(UTC).replace(second=0, microsecond=0)
    values = {
        "web": _web_answers(),
        "database": _database_answers(),
        "redis": _redis_answers(),
        "worker": worker_answers(),
        "beat": _beat_alive(),
        "email": _email_flowing(now),
    }
    check, _created = HealthCheck.objects.get_or_create(minute=minute, defaults=values)
    # the status page reads 90 days; keep a bit over a year for the yearly figures ops quote
    HealthCheck.objects.filter(minute__lt=minute - KEEP_CHECKS).delete()
    return check


# --- availability -----------------------------------------------------------------------------


def percent(available: Decimal) -> str:
    """99.90 (two decimals, rounded down: never round a miss up to the commitment)."""
    return str((available * 100).quantize(Decimal("0.01"), rounding=ROUND_DOWN))


@dataclass(frozen=True)
class Availability:
    start: datetime
    end: datetime
    minutes: int
    maintenance_minutes: int
    failed_minutes: int
    recorded_minutes: int

    @property
    def ratio(self) -> Decimal:
        counted = self.minutes - self.maintenance_minutes
        if counted <= 0:
            return Decimal(1)
        return Decimal(1) - Decimal(self.failed_minutes) / Decimal(counted)

    @property
    def percent(self) -> str:
        return percent(self.ratio)

    @property
    def meets_commitment(self) -> bool:
        return self.ratio * 100 >= COMMITMENT

    @property
    def unrecorded_minutes(self) -> int:
        return max(0, self.minutes - self.maintenance_minutes - self.recorded_minutes)


def _maintenance_q(windows: list[MaintenanceWindow]) -> Q:
    q = Q(pk__in=[])
    for w in windows:
        q |= Q(minute__gte=w.starts_at, minute__lt=w.ends_at)
    return q


def _maintenance_minutes(windows: list[MaintenanceWindow], lower: datetime, upper: datetime) -> int:
    # windows may overlap each other: count each minute once
    spans = sorted((max(w.starts_at, lower), min(w.ends_at, upper)) for w in windows)
    total, cursor = timedelta(0), lower
    for start, end in spans:
        start = max(start, cursor)
        if end > start:
            total += end - start
            cursor = end
    return int(total.total_seconds() // 60)


def availability(*, start: datetime, end: datetime) -> Availability:
    """The portal's availability over [start, end) from recorded checks (2 queries)."""
    windows = planned_windows_in(start, end)
    checks = HealthCheck.objects.filter(minute__gte=start, minute__lt=end).exclude(
        _maintenance_q(windows)
    )
    down = Q(web=False) | Q(database=False) | Q(redis=False)
    counts = checks.aggregate(recorded=Count("pk"), failed=Count("pk", filter=down))
    return Availability(
        start=start,
        end=end,
        minutes=int((end - start).total_seconds() // 60),
        maintenance_minutes=_maintenance_minutes(windows, start, end),
        failed_minutes=counts["failed"],
        recorded_minutes=counts["recorded"],
    )


@dataclass(frozen=True)
class Day:
    day: date
    failed_minutes: int
    recorded_minutes: int
    maintenance_minutes: int

    @property
    def ratio(self) -> Decimal:
        counted = 1440 - self.maintenance_minutes
        if counted <= 0:
            return Decimal(1)
        return Decimal(1) - Decimal(self.failed_minutes) / Decimal(counted)

    @property
    def percent(self) -> str:
        return percent(self.ratio)

    @property
    def level(self) -> str:
        if self.recorded_minutes == 0:
            return "none"
        if self.failed_minutes == 0:
            return "up"
        return "partial" if self.ratio * 100 >= COMMITMENT else "down"


def daily_availability(*, last_day: date, days: int) -> list[Day]:
    """One entry per UTC day, oldest first, ending with `last_day` (2 queries)."""
    first = last_day - timedelta(days=days - 1)
    lower = datetime(first.year, first.month, first.day, tzinfo=UTC)
    upper = lower + timedelta(days=days)
    windows = planned_windows_in(lower, upper)
    down = Q(web=False) | Q(database=False) | Q(redis=False)
    rows = (
        HealthCheck.objects.filter(minute__gte=lower, minute__lt=upper)
        .exclude(_maintenance_q(windows))
        .annotate(day=TruncDate("minute", tzinfo=UTC))
        .values("day")
        .annotate(recorded=Count("pk"), failed=Count("pk", filter=down))
    )
    by_day = {row["day"]: row for row in rows}
    result = []
    for n in range(days):
        day = first + timedelta(days=n)
        day_lower = datetime(day.year, day.month, day.day, tzinfo=UTC)
        row = by_day.get(day, {"recorded": 0, "failed": 0})
        result.append(
            Day(
                day=day,
                failed_minutes=row["failed"],
                recorded_minutes=row["recorded"],
                maintenance_minutes=_maintenance_minutes(
                    windows, day_lower, day_lower + timedelta(days=1)
                ),
            )
        )
    return result


@dataclass(frozen=True)
class Incident:
    """A run of consecutive minutes in which the portal failed its check."""

    start: datetime  # the first failed minute
    end: datetime  # the minute after the last failed one
    minutes: int
    during_planned_maintenance: bool = False


_INCIDENTS = """
SELECT min(minute), max(minute), count(*)
FROM (
    SELECT minute, minute - (row_number() OVER (ORDER BY minute)) * interval '1 minute' AS run
    FROM trust_healthcheck
    WHERE minute >= %s AND minute < %s AND NOT (web AND database AND redis)
) failed
GROUP BY run
ORDER BY min(minute) DESC
LIMIT %s
"""


def incidents(*, start: datetime, end: datetime, limit: int = 20) -> list[Incident]:
    """The latest outages, newest first: runs of failed minutes (one query, at most `limit`)."""
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute(_INCIDENTS, [start, end, limit])
        rows = cursor.fetchall()
    windows = planned_windows_in(start, end)
    found = []
    for first, last, count in rows:
        stop = last + timedelta(minutes=1)
        planned = any(w.starts_at <= first and stop <= w.ends_at for w in windows)
        found.append(Incident(first, stop, count, planned))
    return found
