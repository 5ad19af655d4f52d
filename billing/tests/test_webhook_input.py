"""Correctly signed but malformed webhook bodies are a 400 naming the problem, never a 500.

Signed with Stripe's scheme like billing/tests/test_webhooks.py: the signature holds, so only
the body's shape (or the signature's date) can refuse them, and nothing may be stored.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from accounts.models import Organization
from accounts.tests.factories import OrganizationFactory
from billing.models import StripeEvent, Subscription
from billing.tests.factories import (
    annual_plan,
    deliver,
    fixture,
    platform_organization,
    stripe_customer,
)
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def pinned_clock() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def lincoln() -> Organization:
    platform_organization()
    org = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    stripe_customer(org)
    annual_plan()
    return org


def nothing_stored(org: Organization) -> bool:
    with unscoped_all_tenants(reason="test reads every stored event"):
        events = StripeEvent.objects.exists()
    with tenant_context(org):
        return not events and not Subscription.objects.exists()


def event(**changes: Any) -> dict[str, Any]:
    body = fixture("evt_subscription_created.json")
    body.update(changes)
    return body


def with_data_object(value: Any) -> dict[str, Any]:
    body = event()
    body["data"] = {**body["data"], "object": value}
    return body


@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param(json.dumps([event()]), "must be a JSON object", id="a-list"),
        pytest.param("[]", "must be a JSON object", id="an-empty-list"),
        pytest.param('"evt_1"', "must be a JSON object", id="a-string"),
        pytest.param("not json", "not JSON", id="not-json"),
        pytest.param("[" * 100_000 + "]" * 100_000, "not JSON", id="nested-100000-deep"),
        pytest.param(event(data=[1, 2]), '"data" must be an object', id="data-a-list"),
        pytest.param(event(data="x"), '"data" must be an object', id="data-a-string"),
        pytest.param(event(data=None), '"data" must be an object', id="data-null"),
        pytest.param(with_data_object([]), '"data.object" must be an object', id="object-list"),
        pytest.param(with_data_object("sub_1"), '"data.object" must be an object', id="object-str"),
        pytest.param(with_data_object(None), '"data.object" must be an object', id="object-null"),
        pytest.param(event(created="yesterday"), '"created"', id="created-a-string"),
        pytest.param(event(created=1.5e9), '"created"', id="created-a-float"),
        pytest.param(event(created=True), '"created"', id="created-a-boolean"),
        pytest.param(event(created=10**20), '"created"', id="created-huge"),
        pytest.param(event(created=-1), '"created"', id="created-negative"),
        pytest.param(event(created=None), '"created"', id="created-missing"),
        pytest.param(event(created=int(NOW.timestamp()) + 86_400), '"created"', id="created-ahead"),
        pytest.param(event(id=["evt_1"]), '"id"', id="id-a-list"),
        pytest.param(event(id="e" * 256), '"id"', id="id-too-long"),
        pytest.param(event(type={"a": 1}), '"type"', id="type-an-object"),
        pytest.param(event(livemode="yes"), '"livemode"', id="livemode-a-string"),
        pytest.param(event(object="customer"), '"object" must be "event"', id="not-an-event"),
    ],
)
def test_a_signed_malformed_body_is_a_400_naming_the_problem(
    lincoln: Organization, body: Any, says: str
) -> None:
    response = deliver(body)
    assert response.status_code == 400
    assert says in response.content.decode()
    assert nothing_stored(lincoln)


def test_a_signature_dated_in_the_future_beyond_the_tolerance_is_refused(
    lincoln: Organization,
) -> None:
    ten_minutes_ahead = int(NOW.timestamp()) + 600  # tolerance is 300 s
    response = deliver(fixture("evt_subscription_created.json"), timestamp=ten_minutes_ahead)
    assert response.status_code == 400
    assert response.content.decode() == "Invalid signature."
    assert nothing_stored(lincoln)


def test_a_signature_a_little_ahead_is_accepted(lincoln: Organization) -> None:
    four_minutes_ahead = int(NOW.timestamp()) + 240  # a clock a little fast, within tolerance
    response = deliver(fixture("evt_subscription_created.json"), timestamp=four_minutes_ahead)
    assert response.status_code == 200
