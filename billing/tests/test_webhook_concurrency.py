"""The same event delivered twice at the same moment is processed once.

Real threads, each with its own database connection and its own request transaction, committed
for real (`transaction=True`): the unique constraint on the event id and the row lock decide,
not an existence check.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from accounts.tests.factories import OrganizationFactory
from audit.actions import Action
from audit.models import AuditEvent
from billing.models import Invoice, StripeEvent
from billing.tests.factories import (
    annual_plan,
    deliver,
    fixture,
    platform_organization,
    stripe_customer,
)
from k12cloud.tenancy import unscoped_all_tenants


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", ["evt_invoice_paid.json", "evt_subscription_created.json"])
def test_same_event_delivered_twice_concurrently_is_processed_once(name: str) -> None:
    platform_organization()
    org = OrganizationFactory(slug="lincoln-usd")
    stripe_customer(org)
    annual_plan()
    event = fixture(name)
    barrier = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def delivery() -> None:
        try:
            barrier.wait(timeout=10)
            response = deliver(event)
            results.append((response.status_code, response.json()))
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=delivery) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(status for status, _ in results) == [200, 200]
    assert sorted(body["processed"] for _, body in results) == [False, True]
    assert sorted(body["duplicate"] for _, body in results) == [False, True]
    with unscoped_all_tenants(reason="test counts what the two deliveries wrote"):
        [stored] = StripeEvent.objects.all()
        assert stored.attempts == 1 and stored.processed_at is not None
        expected = (
            Action.BILLING_INVOICE_PAID
            if name == "evt_invoice_paid.json"
            else Action.BILLING_SUBSCRIPTION_CHANGED
        )
        assert AuditEvent.objects.filter(action=expected.value).count() == 1
        if name == "evt_invoice_paid.json":
            assert Invoice.objects.count() == 1
