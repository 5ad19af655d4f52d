"""The organization admins' retention page: what it shows, placing and releasing holds, the
exact query count (flat in the number of rows), and who may open it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from django.test import Client

from accounts.permissions import Role
from accounts.tests.factories import member, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context
from retention.models import LegalHold
from retention.services import legal_hold_place, rule_set
from retention.tests.seeding import new_organization

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 1, 17, 0, tzinfo=UTC)
URL = "/o/lincoln-usd/retention/"
PAGE_QUERIES = 13


@pytest.fixture
def admin_client() -> Client:
    org = new_organization(slug="lincoln-usd", name="Lincoln USD")
    return sign_in(Client(), member(org, Role.ORG_ADMIN))


def holds(count: int) -> None:
    from accounts.models import Organization

    org = Organization.objects.get(slug="lincoln-usd")
    for n in range(count):
        legal_hold_place(
            organization=org,
            actor=None,
            scope="category",
            category="privacy_requests",
            reason=f"case {n}",
            ends_on=date(2027, 1, 1),
        )


def test_the_page_shows_schedules_and_holds(admin_client: Client) -> None:
    from accounts.models import Organization

    org = Organization.objects.get(slug="lincoln-usd")
    rule_set(organization=org, actor=None, category="notifications", days=200)
    with time_machine.travel(NOW, tick=False):
        holds(1)
        response = admin_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "200 days (shortened)" in html
    assert "2555 days" in html  # audit events, 7 years
    assert "In force" in html
    assert 'aria-current="page"' in html


def test_exact_query_count_does_not_grow_with_rows(
    admin_client: Client, django_assert_num_queries: Any
) -> None:
    with time_machine.travel(NOW, tick=False):
        holds(1)
        with django_assert_num_queries(PAGE_QUERIES):
            assert admin_client.get(URL).status_code == 200
        holds(5)
        with django_assert_num_queries(PAGE_QUERIES):
            assert admin_client.get(URL).status_code == 200


def test_an_admin_places_and_releases_a_hold(admin_client: Client) -> None:
    with time_machine.travel(NOW, tick=False):
        response = admin_client.post(
            URL,
            {
                "action": "place",
                "scope": "organization",
                "reason": "Records request from the state",
                "ends_on": "2026-12-31",
            },
        )
        assert response.status_code == 302
        from accounts.models import Organization

        org = Organization.objects.get(slug="lincoln-usd")
        with tenant_context(org):
            hold = LegalHold.objects.get()
            assert hold.scope == "organization" and hold.ends_on == date(2026, 12, 31)
        response = admin_client.post(URL, {"action": "release", "hold": str(hold.pk)})
        assert response.status_code == 302
        with tenant_context(org):
            assert LegalHold.objects.get().released_at == NOW
            assert AuditEvent.objects.filter(action=Action.LEGAL_HOLD_RELEASED.value).count() == 1


def test_a_bad_hold_is_refused_with_errors_linked_to_the_fields(admin_client: Client) -> None:
    with time_machine.travel(NOW, tick=False):
        response = admin_client.post(
            URL, {"action": "place", "scope": "category", "reason": "", "ends_on": "2026-05-01"}
        )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'href="#id_reason"' in html
    assert 'aria-invalid="true"' in html
    from accounts.models import Organization

    with tenant_context(Organization.objects.get(slug="lincoln-usd")):
        assert not LegalHold.objects.exists()


def test_a_past_end_date_names_the_field(admin_client: Client) -> None:
    with time_machine.travel(NOW, tick=False):
        response = admin_client.post(
            URL,
            {"action": "place", "scope": "organization", "reason": "x", "ends_on": "2026-05-01"},
        )
    assert response.status_code == 400
    assert 'href="#id_ends_on"' in response.content.decode()


def test_other_roles_are_refused() -> None:
    org = new_organization(slug="lincoln-usd")
    officer = member(org, Role.PRIVACY_OFFICER)
    assert sign_in(Client(), officer).get(URL).status_code == 403


def test_an_admin_shortens_a_period_and_cannot_lengthen_it(admin_client: Client) -> None:
    response = admin_client.post(URL, {"action": "rule", "category": "notifications", "days": "90"})
    assert response.status_code == 302
    response = admin_client.post(
        URL, {"action": "rule", "category": "notifications", "days": "5000"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'href="#rule_days"' in html and "never lengthen" in html
    from accounts.models import Organization

    with tenant_context(Organization.objects.get(slug="lincoln-usd")):
        from retention.models import RetentionRule

        assert RetentionRule.objects.get().days == 90  # nothing saved is lost
