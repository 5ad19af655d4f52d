"""Stripe webhooks: signatures, store-then-process, exactly once, out-of-order convergence.

Payloads are the Stripe-shaped fixtures in fixtures/, signed with Stripe's scheme
(t=<ts>,v1=HMAC-SHA256(secret, "<ts>.<body>")) and verified by Stripe's own library.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.core import mail

from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from audit.actions import Action
from audit.models import AuditEvent
from billing.models import (
    BillingContact,
    Invoice,
    InvoiceLine,
    PurchaseOrder,
    StripeCustomer,
    StripeEvent,
    Subscription,
)
from billing.tests.factories import (
    EVENT_FIXTURES,
    annual_plan,
    billing_contact,
    deliver,
    fixture,
    platform_organization,
    sign,
    stripe_customer,
)
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

pytestmark = pytest.mark.django_db

# a little after the fixtures' events (2026-02-28 .. 2026-03-02)
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


def stored_events() -> list[StripeEvent]:
    with unscoped_all_tenants(reason="test reads every stored event"):
        return list(StripeEvent.objects.order_by("pk"))


def audit_count(action: Action) -> int:
    with unscoped_all_tenants(reason="test counts audit events"):
        return AuditEvent.objects.filter(action=action.value).count()


def subscription_of(org: Organization) -> Subscription:
    with tenant_context(org):
        return Subscription.objects.get()


def invoice_of(org: Organization) -> Invoice:
    with tenant_context(org):
        return Invoice.objects.get()


# --- acceptance -------------------------------------------------------------------------------


def test_valid_signature_is_accepted_stored_and_processed(lincoln: Organization) -> None:
    response = deliver(fixture("evt_subscription_created.json"))

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False, "processed": True}
    [event] = stored_events()
    assert (event.event_id, event.type, event.organization_id) == (
        "evt_1QSubCreated0001",
        "customer.subscription.created",
        lincoln.pk,
    )
    assert event.processed_at == NOW and event.attempts == 1 and event.error == ""
    with tenant_context(lincoln):
        stored = StripeEvent.objects.get()
        assert json.loads(stored.payload)["id"] == "evt_1QSubCreated0001"  # raw body kept
    subscription = subscription_of(lincoln)
    assert subscription.status == "active"
    assert subscription.plan is not None and subscription.plan.name == "District plan"
    assert subscription.current_period_end == datetime(2027, 2, 28, tzinfo=UTC)


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param("wrong-secret", id="signed-with-another-secret"),
        pytest.param("", id="no-signature-header"),
        pytest.param("t=1,v1=deadbeef", id="garbage-signature"),
    ],
)
def test_bad_signature_is_refused_with_400_and_nothing_is_written(
    lincoln: Organization, signature: str
) -> None:
    event = fixture("evt_subscription_created.json")
    if signature == "wrong-secret":
        response = deliver(event, secret="whsec_not_the_right_one")
    else:
        response = deliver(event, signature=signature)

    assert response.status_code == 400
    assert stored_events() == []
    with tenant_context(lincoln):
        assert not Subscription.objects.exists()


def test_a_tampered_body_is_refused_with_400(lincoln: Organization) -> None:
    body = json.dumps(fixture("evt_subscription_created.json"))
    header = sign(body)
    response = deliver(body.replace('"active"', '"canceled"'), signature=header)
    assert response.status_code == 400
    assert stored_events() == []


def test_stale_timestamp_is_refused_with_400_and_nothing_is_written(lincoln: Organization) -> None:
    ten_minutes_ago = int(NOW.timestamp()) - 600  # tolerance is 300 s
    response = deliver(fixture("evt_subscription_created.json"), timestamp=ten_minutes_ago)

    assert response.status_code == 400
    assert stored_events() == []
    with tenant_context(lincoln):
        assert not Subscription.objects.exists()


def test_a_timestamp_within_tolerance_is_accepted(lincoln: Organization) -> None:
    four_minutes_ago = int(NOW.timestamp()) - 240
    response = deliver(fixture("evt_subscription_created.json"), timestamp=four_minutes_ago)
    assert response.status_code == 200


def test_same_event_delivered_three_times_is_processed_once(lincoln: Organization) -> None:
    event = fixture("evt_invoice_paid.json")
    responses = [deliver(event) for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert [r.json()["processed"] for r in responses] == [True, False, False]
    assert [r.json()["duplicate"] for r in responses] == [False, True, True]
    [stored] = stored_events()
    assert stored.attempts == 1
    assert audit_count(Action.BILLING_INVOICE_PAID) == 1
    with tenant_context(lincoln):
        assert Invoice.objects.count() == 1
        assert InvoiceLine.objects.count() == 1


def test_older_subscription_update_after_a_newer_one_does_not_roll_back(
    lincoln: Organization,
) -> None:
    deliver(fixture("evt_subscription_created.json"))
    newer = fixture("evt_subscription_updated_past_due.json")  # day 2: past_due, cancelling
    older = fixture("evt_subscription_updated_cancel.json")  # day 1: active, cancelling

    assert deliver(newer).json()["processed"] is True
    assert deliver(older).json()["processed"] is True  # stored and handled: ignored as older

    subscription = subscription_of(lincoln)
    assert subscription.status == "past_due"
    assert subscription.stripe_updated == datetime.fromtimestamp(newer["created"], tz=UTC)
    # the created event and the newer update changed it; the older one did not
    assert audit_count(Action.BILLING_SUBSCRIPTION_CHANGED) == 2


def test_out_of_order_invoice_events_converge_on_paid(lincoln: Organization) -> None:
    for name in (
        "evt_invoice_paid.json",
        "evt_invoice_payment_failed.json",
        "evt_invoice_finalized.json",
    ):
        assert deliver(fixture(name)).status_code == 200

    invoice = invoice_of(lincoln)
    assert invoice.status == "paid"
    assert invoice.amount_remaining == 0
    assert invoice.payment_failed_at is None
    assert audit_count(Action.BILLING_INVOICE_PAYMENT_FAILED) == 0


def test_same_second_events_do_not_undo_payment(lincoln: Organization) -> None:
    paid = fixture("evt_invoice_paid.json")
    finalized = fixture("evt_invoice_finalized.json")
    finalized["created"] = paid["created"]  # Stripe stamps to the second

    deliver(paid)
    deliver(finalized)

    assert invoice_of(lincoln).status == "paid"


def dump() -> dict[str, list[tuple[Any, ...]]]:
    """Every billing table, every column (encrypted ones as their stored ciphertext)."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    models = [
        StripeCustomer,
        Subscription,
        Invoice,
        InvoiceLine,
        PurchaseOrder,
        BillingContact,
        StripeEvent,
    ]
    with unscoped_all_tenants(reason="test dumps the billing tables"):
        for model in models:
            rows = model.objects.order_by("pk").values_list()
            tables[model._meta.label] = [tuple(str(v) for v in row) for row in rows]
        tables["audit"] = [
            tuple(str(v) for v in row)
            for row in AuditEvent.objects.filter(action__startswith="billing.")
            .order_by("pk")
            .values_list("action", "organization_id", "target_type", "target_id", "changes")
        ]
    return tables


def test_replaying_every_fixture_twice_leaves_the_same_database_state(
    lincoln: Organization, pinned_clock: Any
) -> None:
    for name in EVENT_FIXTURES:
        assert deliver(fixture(name)).status_code == 200
    first = dump()
    assert len(first["billing.StripeEvent"]) == len(EVENT_FIXTURES)

    pinned_clock.shift(3600)  # a later replay: receipt times would differ if anything rewrote
    for name in EVENT_FIXTURES:
        response = deliver(fixture(name))
        assert response.status_code == 200
        assert response.json()["duplicate"] is True

    assert dump() == first


def test_unknown_event_types_are_stored_and_acknowledged(lincoln: Organization) -> None:
    response = deliver(fixture("evt_customer_updated.json"))

    assert response.status_code == 200
    [event] = stored_events()
    assert event.type == "customer.updated"
    assert event.organization_id == lincoln.pk
    assert event.processed_at == NOW


def test_an_unknown_customer_event_is_stored_under_the_platform_organization(
    lincoln: Organization,
) -> None:
    response = deliver(fixture("evt_unknown_customer.json"))

    assert response.status_code == 200
    [event] = stored_events()
    assert event.organization.slug == "k12cloud"
    assert event.processed_at == NOW  # acknowledged, not applied anywhere
    with unscoped_all_tenants(reason="test: no tenant got the unknown customer's invoice"):
        assert not Invoice.objects.exists()


def test_payment_failed_notifies_billing_contacts_after_commit(
    lincoln: Organization, django_capture_on_commit_callbacks: Any
) -> None:
    billing_contact(lincoln, "ap@lincoln.example")
    billing_contact(lincoln, "cfo@lincoln.example")
    member(lincoln, Role.ORG_ADMIN)

    with django_capture_on_commit_callbacks(execute=True):
        deliver(fixture("evt_invoice_finalized.json"))
        deliver(fixture("evt_invoice_payment_failed.json"))

    [message] = mail.outbox
    assert sorted(message.to) == ["ap@lincoln.example", "cfo@lincoln.example"]
    assert message.subject == "[k12cloud] A payment failed"  # nothing personal in the subject
    assert "K12-2026-0001" in message.body
    assert "https://invoice.stripe.com/" in message.body
    assert invoice_of(lincoln).payment_failed_at is not None
    assert audit_count(Action.BILLING_INVOICE_PAYMENT_FAILED) == 1


def test_a_processing_failure_keeps_the_event_for_a_retry(lincoln: Organization) -> None:
    broken = fixture("evt_invoice_finalized.json")
    broken["data"]["object"]["created"] = "not a timestamp"

    first = deliver(broken)
    second = deliver(broken)  # Stripe (or billing.retry_stripe_events) tries again

    assert first.status_code == 200 and first.json()["processed"] is False
    assert second.json() == {"received": True, "duplicate": True, "processed": False}
    [event] = stored_events()
    assert event.processed_at is None
    assert event.attempts == 2
    assert event.error.startswith("ValueError")
    with tenant_context(lincoln):
        assert not Invoice.objects.exists()  # the failed attempt left nothing half-written


def test_a_get_is_not_allowed(lincoln: Organization, client: Any) -> None:
    assert client.get("/billing/stripe/webhook/").status_code == 405


def test_an_invoice_ops_marked_paid_stays_paid_when_stripe_still_says_open(
    lincoln: Organization,
) -> None:
    from accounts.tests.factories import UserFactory
    from billing.services import invoice_mark_paid

    deliver(fixture("evt_invoice_finalized.json"))
    ops = UserFactory(is_staff=True)
    with tenant_context(lincoln):
        invoice_mark_paid(
            organization=lincoln, user=ops, invoice_id=invoice_of(lincoln).pk, method="check"
        )
    deliver(fixture("evt_invoice_payment_failed.json"))  # newer, Stripe still has it open

    invoice = invoice_of(lincoln)
    assert (invoice.status, invoice.amount_remaining) == ("paid", 0)
    assert invoice.paid_out_of_band_method == "check"
    assert audit_count(Action.BILLING_INVOICE_PAYMENT_FAILED) == 0


def state() -> dict[str, list[tuple[Any, ...]]]:
    """What the events say, without row ids and receipt times."""
    with unscoped_all_tenants(reason="test reads the billing state"):
        return {
            "subscriptions": list(
                Subscription.objects.order_by("stripe_subscription_id").values_list(
                    "stripe_subscription_id",
                    "status",
                    "cancel_at_period_end",
                    "current_period_end",
                    "plan__stripe_price_id",
                    "stripe_updated",
                )
            ),
            "invoices": list(
                Invoice.objects.order_by("stripe_invoice_id").values_list(
                    "stripe_invoice_id",
                    "organization_id",
                    "status",
                    "amount_paid",
                    "amount_remaining",
                    "paid_at",
                    "payment_failed_at",
                    "stripe_updated",
                )
            ),
            "lines": list(
                InvoiceLine.objects.order_by("stripe_line_id").values_list(
                    "invoice__stripe_invoice_id", "stripe_line_id", "amount", "description"
                )
            ),
        }


def test_every_delivery_order_converges_on_the_same_state(lincoln: Organization) -> None:
    for name in EVENT_FIXTURES:
        deliver(fixture(name))
    forward = state()
    with unscoped_all_tenants(reason="test starts the billing tables again"):
        InvoiceLine.objects.all().delete()
        Invoice.objects.all().delete()
        Subscription.objects.all().delete()
        StripeEvent.objects.all().delete()

    for name in reversed(EVENT_FIXTURES):
        deliver(fixture(name))

    assert state() == forward
    assert forward["subscriptions"][0][1] == "past_due"  # the newest subscription event
    assert [row[2] for row in forward["invoices"]] == ["paid"]  # not the unknown customer's


def test_the_retry_task_processes_a_stored_event_once_its_cause_is_gone(
    lincoln: Organization,
) -> None:
    from billing.tasks import retry_stripe_events

    good = fixture("evt_invoice_finalized.json")
    broken = json.loads(json.dumps(good))
    broken["data"]["object"]["created"] = "not a timestamp"
    deliver(broken)
    with tenant_context(lincoln):  # the cause goes away (as a deployed fix would)
        stored = StripeEvent.objects.get()
        stored.payload = json.dumps(good)
        stored.save()

    assert retry_stripe_events.apply(args=[lincoln.pk]).get() == 1
    assert retry_stripe_events.apply(args=[lincoln.pk]).get() == 0  # nothing left to do

    [event] = stored_events()
    assert event.processed_at == NOW and event.attempts == 2 and event.error == ""
    assert invoice_of(lincoln).status == "open"
