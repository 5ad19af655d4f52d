"""A time of receipt lies between 1990-01-01 and now, on every way in (service, API, staff form).

Year 1 overflowed the conversion to the organization's time zone (a 500 on the API), and the
staff form accepted it, after which every queue render counted the business days since year 1.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from privacy_requests.received_time import RECEIVED_AT_FLOOR
from privacy_requests.services import RequestActionRefused, request_receive

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

NOW = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def pinned_time() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def org() -> Organization:
    # east of UTC: year 1 at midnight UTC is year 0 here, which Python cannot represent
    return OrganizationFactory(slug="lincoln-usd", subdivision="CA", time_zone="Asia/Tokyo")


@pytest.fixture
def staff(org: Organization) -> User:
    return member(org, Role.PRIVACY_STAFF)


def stored(org: Organization) -> int:
    with tenant_context(org):
        return PrivacyRequest.objects.count()


@pytest.mark.parametrize(
    "received_at",
    [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1989, 12, 31, 23, 59, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
        datetime(2026, 3, 4, 18, 1, tzinfo=UTC),  # a minute from now
    ],
)
def test_the_service_refuses_a_receipt_time_out_of_range(
    org: Organization, received_at: datetime
) -> None:
    with tenant_context(org), pytest.raises(RequestActionRefused) as refused:
        request_receive(
            organization=org,
            request_type="access",
            channel="phone",
            relationship="parent",
            requester_name="Rosa Parent",
            received_at=received_at,
        )
    assert refused.value.code == "received_at"
    assert stored(org) == 0


def test_the_bounds_themselves_are_accepted(org: Organization) -> None:
    with tenant_context(org):
        for received_at in (RECEIVED_AT_FLOOR, NOW):
            request_receive(
                organization=org,
                request_type="access",
                channel="phone",
                relationship="parent",
                requester_name="Rosa Parent",
                received_at=received_at,
            )
    assert stored(org) == 2


@pytest.mark.parametrize(
    ("received_at", "says"),
    [
        ("0001-01-01T00:00:00Z", "before"),
        ("0001-01-01T00:00:00+05:00", ""),  # out of range before any time zone arithmetic
        ("1989-12-31T23:59:59Z", "before"),
        ("9999-12-31T23:59:59Z", "future"),
        ("9999-12-31T23:59:59-05:00", ""),
    ],
)
def test_the_api_answers_400_naming_received_at(
    org: Organization, staff: User, received_at: str, says: str
) -> None:
    response = sign_in(Client(), staff).post(
        reverse("accounts_api:request_intake", kwargs={"org_slug": org.slug}),
        {
            "request_type": "access",
            "relationship": "parent",
            "requester_name": "Rosa Parent",
            "received_at": received_at,
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["received_at"]
    assert says in response.json()["received_at"][0]
    assert stored(org) == 0


@pytest.mark.parametrize(
    ("received_at", "says"),
    [
        ("0001-01-01T00:00", "cannot be before"),
        ("1989-12-31T23:59", "cannot be before"),
        ("9999-12-31T23:59", "cannot be in the future"),
    ],
)
def test_the_staff_form_shows_the_error_at_the_field(
    org: Organization, staff: User, received_at: str, says: str
) -> None:
    response = sign_in(Client(), staff).post(
        reverse("accounts:request_create", kwargs={"org_slug": org.slug}),
        {
            "channel": "phone",
            "request_type": "access",
            "received_at": received_at,
            "requester_name": "Rosa Parent",
            "relationship": "parent",
        },
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["received_at"]
    html = response.content.decode()
    assert 'id="id_received_at_error"' in html and says in html
    assert stored(org) == 0
