"""Privacy metrics (11 CCR § 7102 figures) for the last 12 months: SQL aggregates, the page
with its chart and data table, the CSV export, exact query counts."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from k12cloud.tenancy import tenant_context
from privacy_requests.metrics.selectors import metrics_period, privacy_metrics
from privacy_requests.models import PrivacyRequest
from privacy_requests.services import (
    request_close,
    request_transition,
    request_verify,
    request_withdraw,
)
from privacy_requests.tests.factories import received_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)  # Monday 10:00 in Los Angeles


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


@pytest.fixture
def admin(org: Organization) -> User:
    return member(org, Role.ORG_ADMIN, email="ada@lincoln.example")


def receive(org: Organization, received: str, request_type: str = "access") -> PrivacyRequest:
    return received_request(org, received_at=utc(received), request_type=request_type)


def close(
    org: Organization, request: PrivacyRequest, at: str, outcome: str, actor: User | None = None
) -> None:
    with time_machine.travel(utc(at), tick=False), tenant_context(org):
        if outcome != "denied":
            request_verify(request=request, actor=actor, method="in_person_id")
            request_transition(request=request, to_status="in_progress", actor=actor)
        reason = "" if outcome == "fulfilled" else "Reason given to the requester."
        request_close(request=request, actor=actor, outcome=outcome, reason=reason)


@pytest.fixture
def history(org: Organization) -> None:
    """Requests of the 12 months to Monday 30 November 2026 (and two just outside)."""
    # access: 10, 20 and 60 days to respond, and one still open
    close(org, receive(org, "2026-01-05T18:00"), "2026-01-15T18:00", "fulfilled")
    close(org, receive(org, "2026-02-02T18:00"), "2026-02-22T18:00", "partially_fulfilled")
    close(org, receive(org, "2026-03-02T18:00"), "2026-05-01T18:00", "denied")
    receive(org, "2026-11-20T18:00")
    # delete: denied after 5 days; one withdrawn (received, not responded)
    close(org, receive(org, "2026-06-01T18:00", "delete"), "2026-06-06T18:00", "denied")
    withdrawn = receive(org, "2026-07-01T18:00", "delete")
    with tenant_context(org):
        request_withdraw(request=withdrawn)
    # opt out: the period starts at midnight on 1 December 2025 in Los Angeles
    receive(org, "2025-12-01T08:30", "opt_out")  # 00:30 on 1 December: in
    receive(org, "2025-12-01T07:30", "opt_out")  # 23:30 on 30 November: out
    # received 23:30 on 1 December, denied 00:30 on the 2nd: one (local) day to respond
    close(org, receive(org, "2025-12-02T07:30", "opt_out"), "2025-12-02T08:30", "denied")
    # an access request of November 2025, closed in December: outside the period
    close(org, receive(org, "2025-11-20T18:00"), "2025-12-10T18:00", "fulfilled")


@pytest.fixture
def pinned() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def test_the_period_is_the_last_twelve_months() -> None:
    assert metrics_period(date(2026, 11, 30)) == (date(2025, 12, 1), date(2026, 11, 30))
    assert metrics_period(date(2028, 2, 29)) == (date(2027, 3, 1), date(2028, 2, 29))


def test_figures_by_type_and_in_total(org: Organization, history: None, pinned: None) -> None:
    with tenant_context(org):
        metrics = privacy_metrics(organization=org)
    assert (metrics.first_day, metrics.last_day) == (date(2025, 12, 1), date(2026, 11, 30))
    by_type = {
        row.request_type: (
            row.received,
            row.complied_in_whole,
            row.complied_in_part,
            row.denied,
            row.median_days,
            row.mean_days,
        )
        for row in metrics.rows
    }
    assert by_type == {
        "access": (4, 1, 1, 1, 20.0, 30.0),
        "delete": (2, 0, 0, 1, 5.0, 5.0),
        "opt_out": (2, 0, 0, 1, 1.0, 1.0),
    }
    total = metrics.total
    assert (total.received, total.complied, total.denied) == (8, 2, 3)
    # days 10, 20, 60, 5, 1: the median of five is the third, the mean 96 / 5
    assert (total.median_days, total.mean_days) == (10.0, 19.2)


def test_an_even_count_has_the_interpolated_median(org: Organization, pinned: None) -> None:
    close(org, receive(org, "2026-01-05T18:00"), "2026-01-15T18:00", "fulfilled")
    close(org, receive(org, "2026-02-02T18:00"), "2026-02-15T18:00", "fulfilled")
    with tenant_context(org):
        metrics = privacy_metrics(organization=org)
    assert (metrics.total.median_days, metrics.total.mean_days) == (11.5, 11.5)


def test_an_organization_without_requests(org: Organization, pinned: None) -> None:
    with tenant_context(org):
        metrics = privacy_metrics(organization=org)
    assert metrics.rows == []
    assert (metrics.total.received, metrics.total.median_days, metrics.total.mean_days) == (
        0,
        None,
        None,
    )


def test_other_organizations_are_not_counted(
    org: Organization, history: None, pinned: None
) -> None:
    hudson = OrganizationFactory(slug="hudson-csd", time_zone="America/New_York")
    with tenant_context(hudson):
        assert privacy_metrics(organization=hudson).total.received == 0


# --- the page and the export ----------------------------------------------------------------


def metrics_url(org: Organization, name: str = "privacy_metrics") -> str:
    return reverse(f"accounts:{name}", kwargs={"org_slug": org.slug})


def test_page_shows_the_table_and_the_chart(
    org: Organization, admin: User, history: None, pinned: None
) -> None:
    response = sign_in(Client(), admin).get(metrics_url(org))
    assert response.status_code == 200
    html = response.content.decode()
    assert "1 December 2025 to 30 November 2026" in html
    assert '<svg role="img" aria-labelledby="chart-title chart-desc"' in html
    assert "Access (a copy of the data)" in html and "Opt out of sale or sharing" in html
    assert "<td>19.2</td>" in html  # the total's mean
    assert html.count("<rect ") == 9  # three bars for each of three types
    assert 'aria-current="page"' in html  # the navigation marks the page


def test_csv_export(org: Organization, admin: User, history: None, pinned: None) -> None:
    response = sign_in(Client(), admin).get(metrics_url(org, "privacy_metrics_export"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "privacy-metrics-lincoln-usd-2026-11-30.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["request_type"] for r in rows] == ["access", "delete", "opt_out", "all"]
    assert rows[0] == {
        "request_type": "access",
        "received": "4",
        "complied_in_whole": "1",
        "complied_in_part": "1",
        "denied": "1",
        "median_days_to_respond": "20.0",
        "mean_days_to_respond": "30.0",
        "period_start": "2025-12-01",
        "period_end": "2026-11-30",
    }
    assert (rows[3]["received"], rows[3]["median_days_to_respond"]) == ("8", "10.0")


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ORG_ADMIN, 200),
        (Role.PRIVACY_OFFICER, 200),
        (Role.PRIVACY_STAFF, 200),
        (Role.VIEWER, 403),
        (Role.BILLING_CONTACT, 403),
    ],
)
def test_who_may_see_the_metrics(org: Organization, role: Role, status: int) -> None:
    client = sign_in(Client(), member(org, role))
    assert client.get(metrics_url(org)).status_code == status
    assert client.get(metrics_url(org, "privacy_metrics_export")).status_code == status


def _count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries.captured_queries)


# session, user, authenticator device; savepoint+set_config (user context) and the user's
# memberships; savepoint+set_config (tenant context); the two aggregate queries (by type, in
# total); release, twice, and the user context's clearing of the settings in the test's
# transaction (accounts/tests/test_views.py).
PAGE_QUERIES = 11
EXPORT_QUERIES = 11


def test_query_counts_are_exact_and_independent_of_rows(
    org: Organization, admin: User, pinned: None
) -> None:
    client = sign_in(Client(), admin)
    page_empty = _count_queries(client, metrics_url(org))
    export_empty = _count_queries(client, metrics_url(org, "privacy_metrics_export"))
    for index in range(30):
        request = receive(org, f"2026-0{1 + index % 9}-1{index % 10}T18:00", "access")
        if index % 2:
            close(org, request, f"2026-10-{10 + index % 10}T18:00", "denied")
    assert _count_queries(client, metrics_url(org)) == page_empty == PAGE_QUERIES
    assert (
        _count_queries(client, metrics_url(org, "privacy_metrics_export"))
        == export_empty
        == EXPORT_QUERIES
    )


def test_requests_routed_elsewhere_are_not_counted(org: Organization, pinned: None) -> None:
    routed = receive(org, "2026-03-02T18:00")
    receive(org, "2026-03-03T18:00")
    with tenant_context(org):
        PrivacyRequest.objects.filter(pk=routed.pk).update(status="routed", closed_at=NOW)
        assert privacy_metrics(organization=org).total.received == 1
