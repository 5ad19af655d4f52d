"""Privacy metrics of one organization for the last 12 months, computed in SQL.

The figures the CCPA regulations ask a business that handles the personal information of 10
million or more consumers to publish each year (11 CCR § 7102(a)): for each kind of request,
how many were received, complied with in whole or in part, and denied, and the median and mean
number of days to respond. Requests are counted in the period they were received; "days to
respond" are calendar days from the local date of receipt to the local date of closure (day
zero not counted, as docs/deadlines.md counts), over the requests closed as fulfilled,
partially fulfilled or denied. Requests routed to another organization are not counted here:
they are counted where they were routed to.

Two queries: one grouped by request type, one for the whole period (a median cannot be
derived from per-type medians).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.db.models import Aggregate, Avg, Count, FloatField, IntegerField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from privacy_requests.models import PrivacyRequest
from privacy_requests.status import Status

if TYPE_CHECKING:
    from accounts.models import Organization

Outcome = PrivacyRequest.Outcome
RESPONDED = Q(outcome__in=[Outcome.FULFILLED, Outcome.PARTIALLY_FULFILLED, Outcome.DENIED]) & Q(
    closed_at__isnull=False
)


class Median(Aggregate):
    """PostgreSQL's continuous median: percentile_cont(0.5) WITHIN GROUP (ORDER BY ...)."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


@dataclass(frozen=True)
class MetricsRow:
    request_type: str  # "" for the total
    received: int
    complied_in_whole: int
    complied_in_part: int
    denied: int
    median_days: float | None
    mean_days: float | None

    @property
    def complied(self) -> int:
        return self.complied_in_whole + self.complied_in_part


@dataclass(frozen=True)
class PrivacyMetrics:
    first_day: date
    last_day: date
    time_zone: str
    rows: list[MetricsRow]  # one per request type with requests, by type
    total: MetricsRow

    @property
    def largest(self) -> int:
        """The largest count of any bar (the chart's scale), at least 1."""
        return max([1, *(row.received for row in self.rows)])


def metrics_period(today: date) -> tuple[date, date]:
    """The last 12 months ending today: from the day after this date a year ago."""
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        year_ago = today.replace(year=today.year - 1, day=28)
    return year_ago + timedelta(days=1), today


def _days_to_respond(time_zone: str) -> RawSQL:
    # local dates on both sides: a request received at 23:30 and closed at 00:30 took a day
    return RawSQL(
        "((closed_at AT TIME ZONE %s)::date - (received_at AT TIME ZONE %s)::date)",
        (time_zone, time_zone),
        output_field=IntegerField(),
    )


def _aggregates(time_zone: str) -> dict[str, Any]:
    days = _days_to_respond(time_zone)
    return {
        "received": Count("id"),
        "complied_in_whole": Count("id", filter=Q(outcome=Outcome.FULFILLED)),
        "complied_in_part": Count("id", filter=Q(outcome=Outcome.PARTIALLY_FULFILLED)),
        "denied": Count("id", filter=Q(outcome=Outcome.DENIED)),
        "median_days": Median(days, filter=RESPONDED),
        "mean_days": Avg(days, filter=RESPONDED, output_field=FloatField()),
    }


def _received_in(organization: Organization, first_day: date) -> QuerySet[PrivacyRequest]:
    zone = ZoneInfo(organization.time_zone)
    since = datetime.combine(first_day, time.min, tzinfo=zone)
    return (
        PrivacyRequest.objects.for_organization(organization)
        .filter(received_at__gte=since, received_at__lte=timezone.now())
        .exclude(status=Status.ROUTED)
    )


def _row(request_type: str, values: Mapping[str, Any]) -> MetricsRow:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(float(value), 1)

    return MetricsRow(
        request_type=request_type,
        received=values["received"],
        complied_in_whole=values["complied_in_whole"],
        complied_in_part=values["complied_in_part"],
        denied=values["denied"],
        median_days=rounded(values["median_days"]),
        mean_days=rounded(values["mean_days"]),
    )


def privacy_metrics(*, organization: Organization, today: date | None = None) -> PrivacyMetrics:
    """The organization's metrics for the 12 months ending `today` (its local date by default).
    Two queries."""
    zone = ZoneInfo(organization.time_zone)
    today = today or timezone.now().astimezone(zone).date()
    first_day, last_day = metrics_period(today)
    received = _received_in(organization, first_day)
    aggregates = _aggregates(organization.time_zone)
    by_type = (
        received.order_by().values("request_type").annotate(**aggregates).order_by("request_type")
    )
    rows = [_row(values["request_type"], dict(values)) for values in by_type]
    total = _row("", received.order_by().aggregate(**aggregates))
    return PrivacyMetrics(first_day, last_day, organization.time_zone, rows, total)


CSV_HEADER = (
    "request_type",
    "received",
    "complied_in_whole",
    "complied_in_part",
    "denied",
    "median_days_to_respond",
    "mean_days_to_respond",
    "period_start",
    "period_end",
)


def metrics_csv_rows(metrics: PrivacyMetrics) -> list[tuple[object, ...]]:
    """The CSV export's rows (header first): one per request type, then the total ("all")."""

    def line(row: MetricsRow) -> tuple[object, ...]:
        return (
            row.request_type or "all",
            row.received,
            row.complied_in_whole,
            row.complied_in_part,
            row.denied,
            "" if row.median_days is None else row.median_days,
            "" if row.mean_days is None else row.mean_days,
            metrics.first_day.isoformat(),
            metrics.last_day.isoformat(),
        )

    return [CSV_HEADER, *(line(row) for row in metrics.rows), line(metrics.total)]
