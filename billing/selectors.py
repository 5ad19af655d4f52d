"""Billing reads for the portal. The organization is required; "not found" and "another
tenant's" are the same answer (None)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, QuerySet

from accounts.models import Organization
from billing.models import (
    BillingContact,
    Invoice,
    InvoiceLine,
    PurchaseOrder,
    StripeCustomer,
    Subscription,
)
from k12cloud.encryption.keys import data_keys_preloaded

LIVE_STATUSES = (
    Subscription.Status.ACTIVE,
    Subscription.Status.TRIALING,
    Subscription.Status.PAST_DUE,
    Subscription.Status.UNPAID,
    Subscription.Status.PAUSED,
)


@dataclass(frozen=True)
class UpcomingInvoice:
    """The next renewal, estimated locally from the subscription (no call to Stripe)."""

    date: datetime
    amount: int
    currency: str
    plan_name: str


def current_subscription(*, organization: Organization) -> Subscription | None:
    """The live subscription (newest first), else the newest one of any status."""
    subscriptions = list(
        Subscription.objects.for_organization(organization)
        .select_related("plan")
        .order_by("-created", "-pk")
    )
    live = [s for s in subscriptions if s.status in LIVE_STATUSES]
    return (live or subscriptions or [None])[0]


def upcoming_invoice(subscription: Subscription | None) -> UpcomingInvoice | None:
    if (
        subscription is None
        or subscription.plan is None
        or subscription.cancel_at_period_end
        or subscription.status not in LIVE_STATUSES
        or subscription.current_period_end is None
    ):
        return None
    return UpcomingInvoice(
        date=subscription.current_period_end,
        amount=subscription.plan.amount,
        currency=subscription.plan.currency,
        plan_name=subscription.plan.name,
    )


def invoice_list(*, organization: Organization) -> QuerySet[Invoice]:
    """Invoices newest first, with their lines (two queries whatever the number)."""
    return (
        Invoice.objects.for_organization(organization)
        .exclude(status=Invoice.Status.DRAFT)
        .order_by("-created", "-pk")
        .prefetch_related(Prefetch("lines", queryset=InvoiceLine.objects.order_by("pk")))
    )


def invoice_get(
    *, organization: Organization, invoice_id: int, with_lines: bool = False
) -> Invoice | None:
    invoices = (
        Invoice.objects.for_organization(organization)
        .exclude(status=Invoice.Status.DRAFT)
        .filter(pk=invoice_id)
    )
    if with_lines:
        invoices = invoices.prefetch_related(
            Prefetch("lines", queryset=InvoiceLine.objects.order_by("pk"))
        )
    return invoices.first()


def purchase_order_list(*, organization: Organization) -> QuerySet[PurchaseOrder]:
    # the document (base64, up to 5 MB each) is not loaded for lists
    return (
        PurchaseOrder.objects.for_organization(organization)
        .defer("document")
        .order_by("-created_at", "-pk")
    )


def purchase_order_get(
    *, organization: Organization, purchase_order_id: int
) -> PurchaseOrder | None:
    return PurchaseOrder.objects.for_organization(organization).filter(pk=purchase_order_id).first()


def _decrypted(organization: Organization, contacts: list[BillingContact]) -> list[BillingContact]:
    # decrypt now, with the organization's keys read once, rather than a key query per field
    with data_keys_preloaded(organization.pk):
        for contact in contacts:
            contact.name, contact.email, contact.address  # noqa: B018 (decrypts and keeps)
    return contacts


def billing_contact_list(*, organization: Organization) -> list[BillingContact]:
    """The contacts, decrypted (one query for the rows, one for the keys)."""
    contacts = BillingContact.objects.for_organization(organization).order_by("created_at", "pk")
    return _decrypted(organization, list(contacts))


def billing_contact_get(*, organization: Organization, contact_id: int) -> BillingContact | None:
    contacts = BillingContact.objects.for_organization(organization).filter(pk=contact_id)
    found = _decrypted(organization, list(contacts))
    return found[0] if found else None


def stripe_customer(*, organization: Organization) -> StripeCustomer | None:
    return StripeCustomer.objects.for_organization(organization).first()
