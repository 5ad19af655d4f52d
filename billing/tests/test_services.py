"""Dunning, termination for non-payment, ops marking invoices paid, the Stripe customer,
and the 7-year financial records list."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
import time_machine
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse

from accounts.models import Organization, User
from accounts.tests.factories import OrganizationFactory, UserFactory, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from billing.models import Invoice, StripeCustomer, Subscription
from billing.retention import FINANCIAL_RECORD_MODELS
from billing.services import stripe_customer_create
from billing.tasks import dunning_sweep, organization_dunning_check
from billing.tests.factories import FIXTURES, invoice, stripe_customer
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def pinned_clock() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def org() -> Organization:
    org = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    stripe_customer(org)
    return org


@pytest.fixture
def ops() -> User:
    return UserFactory(email="ops@k12.example", is_staff=True, is_superuser=True)


def customer_of(org: Organization) -> StripeCustomer:
    with tenant_context(org):
        return StripeCustomer.objects.get()


def actions(org: Organization) -> list[str]:
    with unscoped_all_tenants(reason="test reads audit events"):
        return list(
            AuditEvent.objects.filter(organization=org, action__startswith="billing.")
            .order_by("pk")
            .values_list("action", flat=True)
        )


def overdue_invoice(org: Organization, days_past_due: int) -> Invoice:
    # the factory's due date is 30 days after creation
    return invoice(org, created=NOW - timedelta(days=30 + days_past_due))


def check(org: Organization, django_capture_on_commit_callbacks: Any) -> Any:
    with django_capture_on_commit_callbacks(execute=True):
        return organization_dunning_check.apply(args=[org.pk]).get()


# --- dunning ----------------------------------------------------------------------------------


def test_within_grace_nothing_happens(
    org: Organization, ops: User, django_capture_on_commit_callbacks: Any
) -> None:
    overdue_invoice(org, days_past_due=29)
    assert check(org, django_capture_on_commit_callbacks) is False
    assert mail.outbox == []
    assert customer_of(org).ops_alerted_at is None


def test_past_grace_ops_are_alerted_once_per_episode(
    org: Organization, ops: User, django_capture_on_commit_callbacks: Any, pinned_clock: Any
) -> None:
    late = overdue_invoice(org, days_past_due=31)

    assert check(org, django_capture_on_commit_callbacks) is True
    assert check(org, django_capture_on_commit_callbacks) is False  # the next day: not again

    [alert] = mail.outbox
    assert alert.to == ["ops@k12.example"]
    assert late.number in alert.body and "lincoln-usd" in alert.body
    assert "Termination for non-payment is off" in alert.body
    assert actions(org) == [Action.BILLING_OVERDUE_ALERTED.value]
    assert customer_of(org).termination_proposed_at is None  # the setting is off by default

    with tenant_context(org):  # paid: the episode ends, and a later one alerts again
        Invoice.objects.filter(pk=late.pk).update(status=Invoice.Status.PAID)
    check(org, django_capture_on_commit_callbacks)
    overdue_invoice(org, days_past_due=40)
    assert check(org, django_capture_on_commit_callbacks) is True
    assert len(mail.outbox) == 2


@override_settings(BILLING_TERMINATE_ON_NONPAYMENT=True, BILLING_GRACE_PERIOD_DAYS=10)
def test_with_the_setting_on_unpaid_past_grace_proposes_termination(
    org: Organization, ops: User, django_capture_on_commit_callbacks: Any
) -> None:
    overdue_invoice(org, days_past_due=11)
    check(org, django_capture_on_commit_callbacks)

    customer = customer_of(org)
    assert customer.termination_proposed_at == NOW
    assert customer.termination_reason == "unpaid past grace"
    assert actions(org) == [
        Action.BILLING_OVERDUE_ALERTED.value,
        Action.BILLING_TERMINATION_PROPOSED.value,
    ]
    org.refresh_from_db()
    assert org.status == Organization.Status.ACTIVE  # proposed only: ops confirm


@override_settings(BILLING_TERMINATE_ON_NONPAYMENT=True)
def test_a_cancelled_subscription_proposes_termination(
    org: Organization, django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_context(org):
        Subscription.objects.create(
            organization=org,
            stripe_subscription_id="sub_gone",
            status=Subscription.Status.CANCELED,
            created=NOW - timedelta(days=400),
            stripe_updated=NOW - timedelta(days=1),
        )
    check(org, django_capture_on_commit_callbacks)
    assert customer_of(org).termination_reason == "subscription cancelled"


def test_the_sweep_fans_out_per_active_organization(org: Organization) -> None:
    OrganizationFactory(slug="hudson-csd")
    OrganizationFactory(slug="gone-usd", status=Organization.Status.TERMINATED, terminated_at=NOW)
    # the broker is real Redis; a task per active organization is enqueued
    assert dunning_sweep.apply().get() == 2


# --- ops staff in the admin -------------------------------------------------------------------


def ops_client(ops: User) -> Client:
    return sign_in(Client(), ops)


def test_ops_confirm_a_proposed_termination(
    org: Organization, ops: User, django_capture_on_commit_callbacks: Any
) -> None:
    overdue_invoice(org, days_past_due=60)
    with override_settings(BILLING_TERMINATE_ON_NONPAYMENT=True):
        check(org, django_capture_on_commit_callbacks)
    customer = customer_of(org)

    response = ops_client(ops).post(
        reverse("admin:billing_stripecustomer_changelist"),
        {"action": "confirm_termination", "_selected_action": [customer.pk]},
    )

    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.status, org.terminated_at) == (Organization.Status.TERMINATED, NOW)
    assert actions(org)[-1] == Action.BILLING_ORGANIZATION_TERMINATED.value
    with tenant_context(org):  # financial records stay
        assert Invoice.objects.count() == 1


def test_ops_cannot_terminate_without_a_proposal(org: Organization, ops: User) -> None:
    customer = customer_of(org)
    ops_client(ops).post(
        reverse("admin:billing_stripecustomer_changelist"),
        {"action": "confirm_termination", "_selected_action": [customer.pk]},
    )
    org.refresh_from_db()
    assert org.status == Organization.Status.ACTIVE
    assert Action.BILLING_ORGANIZATION_TERMINATED.value not in actions(org)


@pytest.mark.parametrize(
    ("action", "method"),
    [("mark_paid_by_check", "check"), ("mark_paid_by_bank_transfer", "bank_transfer")],
)
def test_ops_mark_an_invoice_paid_out_of_band(
    org: Organization, ops: User, action: str, method: str
) -> None:
    due = invoice(org)
    already_paid = invoice(org, status=Invoice.Status.PAID)

    ops_client(ops).post(
        reverse("admin:billing_invoice_changelist"),
        {"action": action, "_selected_action": [due.pk, already_paid.pk]},
    )

    with tenant_context(org):
        due.refresh_from_db()
        already_paid.refresh_from_db()
    assert (due.status, due.paid_out_of_band_method, due.paid_out_of_band_by_id) == (
        "paid",
        method,
        ops.pk,
    )
    assert due.amount_remaining == 0 and due.paid_out_of_band_at == NOW
    assert already_paid.paid_out_of_band_method == ""
    assert actions(org) == [Action.BILLING_INVOICE_MARKED_PAID.value]


def test_ops_billing_admin_pages_open(org: Organization, ops: User) -> None:
    invoice(org)
    client = ops_client(ops)
    for name in ("invoice", "stripecustomer", "subscription", "stripeevent", "plan"):
        assert client.get(reverse(f"admin:billing_{name}_changelist")).status_code == 200


# --- the Stripe customer ----------------------------------------------------------------------


@responses.activate
def test_stripe_customer_create_sends_no_personal_data() -> None:
    org = OrganizationFactory.create(slug="brightpath", name="BrightPath")
    body = json.loads((FIXTURES / "api_customer.json").read_text())
    call = responses.post("https://api.stripe.com/v1/customers", json=body)

    with tenant_context(org):
        customer = stripe_customer_create(organization=org)
        again = stripe_customer_create(organization=org)

    assert customer.stripe_customer_id == "cus_QNewCustomer001" and again.pk == customer.pk
    assert len(call.calls) == 1  # the second call found the existing customer
    sent = str(call.calls[0].request.body)
    assert "name=BrightPath" in sent and "email" not in sent
    assert call.calls[0].request.headers["Idempotency-Key"] == f"k12cloud-customer-{org.pk}"


# --- financial records ------------------------------------------------------------------------


def test_financial_records_are_kept_seven_years() -> None:
    labels = {entry.model._meta.label for entry in FINANCIAL_RECORD_MODELS}
    assert {"billing.Invoice", "billing.InvoiceLine", "billing.PurchaseOrder"} <= labels
    for entry in FINANCIAL_RECORD_MODELS:
        assert entry.period >= timedelta(days=7 * 365)
        assert entry.category == "financial_records"
