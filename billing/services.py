"""Every billing write that is not a webhook sync: purchase orders, contacts, out-of-band
payments, the customer portal, dunning and termination for non-payment.

Services take the organization and the acting user first (keyword-only), run in one
transaction, record their audit event in it, and send email only after commit.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from audit.actions import Action
from audit.context import actor_for_user
from audit.services import record
from billing import notifications, stripe_api
from billing.models import BillingContact, Invoice, PurchaseOrder, StripeCustomer, Subscription

PDF_MAGIC = b"%PDF-"


# --- purchase orders ------------------------------------------------------------------------


def purchase_order_document_validate(*, name: str, content: bytes) -> None:
    """A PO document must be a PDF (by its content, not its name) of at most 5 MB."""
    if len(content) > PurchaseOrder.MAX_DOCUMENT_BYTES:
        raise ValidationError(
            {"document": _("The document is larger than 5 MB. Upload a smaller PDF.")}
        )
    if not content.startswith(PDF_MAGIC):
        raise ValidationError({"document": _("The document must be a PDF file.")})


def _set_document(purchase_order: PurchaseOrder, name: str, content: bytes) -> None:
    purchase_order_document_validate(name=name, content=content)
    purchase_order.document = base64.b64encode(content).decode("ascii")
    purchase_order.document_name = name[-200:] or "purchase-order.pdf"
    purchase_order.document_size = len(content)
    purchase_order.document_uploaded_at = timezone.now()


@transaction.atomic
def purchase_order_record(
    *,
    organization: Organization,
    user: User,
    number: str,
    amount: int | None = None,
    valid_from: date | None = None,
    valid_until: date | None = None,
    document_name: str = "",
    document: bytes | None = None,
) -> PurchaseOrder:
    """Record a PO number (and optionally its document). Numbers are unique per organization."""
    number = number.strip()
    if not number:
        raise ValidationError({"number": _("Enter the PO number.")})
    if valid_from and valid_until and valid_until < valid_from:
        raise ValidationError({"valid_until": _("The end date is before the start date.")})
    if PurchaseOrder.objects.filter(number=number).exists():
        raise ValidationError({"number": _("This PO number is already recorded.")})
    purchase_order = PurchaseOrder(
        organization=organization,
        number=number,
        amount=amount,
        valid_from=valid_from,
        valid_until=valid_until,
        created_by=user,
    )
    if document is not None:
        _set_document(purchase_order, document_name, document)
    purchase_order.save()
    record(
        Action.BILLING_PURCHASE_ORDER_RECORDED,
        organization=organization,
        target=purchase_order,
        actor=actor_for_user(user.pk),
        changes={"number": number, "with_document": document is not None},
    )
    if document is not None:
        record(
            Action.BILLING_PURCHASE_ORDER_UPLOADED,
            organization=organization,
            target=purchase_order,
            actor=actor_for_user(user.pk),
            changes={"size": len(document)},
        )
    return purchase_order


@transaction.atomic
def purchase_order_upload(
    *, organization: Organization, user: User, purchase_order_id: int, name: str, content: bytes
) -> PurchaseOrder | None:
    """Attach (or replace) the PO's document; None when there is no such PO."""
    purchase_order = (
        PurchaseOrder.objects.for_organization(organization)
        .select_for_update()
        .filter(pk=purchase_order_id)
        .first()
    )
    if purchase_order is None:
        return None
    replaced = purchase_order.document_uploaded_at is not None
    _set_document(purchase_order, name, content)
    purchase_order.save()
    record(
        Action.BILLING_PURCHASE_ORDER_UPLOADED,
        organization=organization,
        target=purchase_order,
        actor=actor_for_user(user.pk),
        changes={"size": len(content), "replaced": replaced},
    )
    return purchase_order


@transaction.atomic
def invoice_purchase_order_attach(
    *, organization: Organization, user: User, invoice_id: int, purchase_order_id: int
) -> Invoice | None:
    """The invoice carries the PO's number from now on; None when either does not exist."""
    invoice = (
        Invoice.objects.for_organization(organization)
        .select_for_update()
        .filter(pk=invoice_id)
        .first()
    )
    purchase_order = PurchaseOrder.objects.filter(pk=purchase_order_id).first()
    if invoice is None or purchase_order is None:
        return None
    invoice.purchase_order = purchase_order
    invoice.po_number = purchase_order.number
    invoice.save(update_fields=["purchase_order", "po_number"])
    record(
        Action.BILLING_PURCHASE_ORDER_ATTACHED,
        organization=organization,
        target=invoice,
        actor=actor_for_user(user.pk),
        changes={"po_number": purchase_order.number, "invoice": invoice.number},
    )
    return invoice


# --- billing contacts -----------------------------------------------------------------------

CONTACT_FIELDS = ("name", "email", "address", "tax_id")


@transaction.atomic
def billing_contact_save(
    *,
    organization: Organization,
    user: User,
    contact_id: int | None,
    values: dict[str, Any],
) -> BillingContact | None:
    """Add a contact (contact_id None) or change one; None when there is no such contact."""
    if contact_id is None:
        contact = BillingContact(organization=organization)
        changed = [f for f in CONTACT_FIELDS if values.get(f)]
        verb = "added"
    else:
        contact = BillingContact.objects.select_for_update().filter(pk=contact_id).first()
        if contact is None:
            return None
        changed = [f for f in CONTACT_FIELDS if getattr(contact, f) != values.get(f, "")]
        verb = "changed"
    for field in CONTACT_FIELDS:
        setattr(contact, field, values.get(field, ""))
    contact.save()
    record(
        Action.BILLING_CONTACT_CHANGED,
        organization=organization,
        target=contact,
        actor=actor_for_user(user.pk),
        changes={verb: sorted(changed)},
    )
    return contact


@transaction.atomic
def billing_contact_remove(
    *, organization: Organization, user: User, contact_id: int
) -> BillingContact | None:
    contact = BillingContact.objects.select_for_update().filter(pk=contact_id).first()
    if contact is None:
        return None
    record(
        Action.BILLING_CONTACT_CHANGED,
        organization=organization,
        target=contact,
        actor=actor_for_user(user.pk),
        changes={"removed": True},
    )
    contact.delete()
    return contact


# --- paying -----------------------------------------------------------------------------------


def customer_portal_url(*, organization: Organization, return_url: str) -> str | None:
    """A link to Stripe's customer portal, or None when billing is not set up yet."""
    customer = StripeCustomer.objects.for_organization(organization).first()
    if customer is None:
        return None
    return stripe_api.customer_portal_url(
        stripe_customer_id=customer.stripe_customer_id, return_url=return_url
    )


@transaction.atomic
def stripe_customer_create(*, organization: Organization) -> StripeCustomer:
    """The organization's Stripe customer, created in Stripe when it has none yet."""
    existing = StripeCustomer.objects.for_organization(organization).first()
    if existing is not None:
        return existing
    stripe_id = stripe_api.customer_create(
        organization_id=organization.pk, organization_slug=organization.slug, name=organization.name
    )
    return StripeCustomer.objects.create(organization=organization, stripe_customer_id=stripe_id)


@transaction.atomic
def invoice_mark_paid(
    *, organization: Organization, user: User, invoice_id: int, method: str
) -> Invoice | None:
    """Ops staff record a payment by check or bank transfer. None when not open.

    Stripe keeps its own status (mark the invoice "paid out of band" in Stripe's dashboard as
    well); a later webhook with status "paid" agrees with this.
    """
    if method not in Invoice.PaidOutOfBand.values:
        raise ValidationError({"method": _("Choose check or bank transfer.")})
    invoice = Invoice.objects.select_for_update().filter(pk=invoice_id).first()
    if invoice is None or invoice.status not in (Invoice.Status.OPEN, Invoice.Status.UNCOLLECTIBLE):
        return None
    now = timezone.now()
    invoice.status = Invoice.Status.PAID
    invoice.paid_at = now
    invoice.amount_paid = invoice.amount_due
    invoice.amount_remaining = 0
    invoice.paid_out_of_band_at = now
    invoice.paid_out_of_band_by = user
    invoice.paid_out_of_band_method = method
    invoice.save()
    record(
        Action.BILLING_INVOICE_MARKED_PAID,
        organization=organization,
        target=invoice,
        actor=actor_for_user(user.pk),
        changes={"method": method, "amount_paid": invoice.amount_paid},
    )
    return invoice


# --- dunning and termination ----------------------------------------------------------------


@dataclass(frozen=True)
class DunningOutcome:
    overdue: list[str]
    alerted: bool
    termination_proposed: bool


@transaction.atomic
def billing_dunning_check(*, organization: Organization) -> DunningOutcome:
    """The daily check (billing.tasks): alert ops once per episode, propose termination.

    Overdue means open with a due date more than BILLING_GRACE_PERIOD_DAYS ago. With
    BILLING_TERMINATE_ON_NONPAYMENT on, an overdue invoice or a cancelled subscription (with
    nothing active) proposes termination; ops staff confirm it in the admin. Idempotent: a
    second run the same day changes nothing. Paying everything ends the episode.
    """
    now = timezone.now()
    days = settings.BILLING_GRACE_PERIOD_DAYS
    customer = StripeCustomer.objects.select_for_update().first()
    if customer is None:
        return DunningOutcome([], alerted=False, termination_proposed=False)
    overdue = list(
        Invoice.objects.filter(status=Invoice.Status.OPEN, due_date__lt=now - timedelta(days=days))
        .order_by("due_date", "pk")
        .values_list("number", flat=True)
    )
    subscriptions = list(Subscription.objects.values_list("status", flat=True))
    cancelled = bool(subscriptions) and all(
        s in (Subscription.Status.CANCELED, Subscription.Status.INCOMPLETE_EXPIRED)
        for s in subscriptions
    )
    alerted = proposed = False
    if not overdue:
        customer.ops_alerted_at = None  # the episode is over; a new one alerts again
    elif customer.ops_alerted_at is None:
        customer.ops_alerted_at = now
        alerted = True
        record(
            Action.BILLING_OVERDUE_ALERTED,
            organization=organization,
            target=customer,
            changes={"invoices": overdue, "grace_days": days},
        )
        numbers = [n or "(draft)" for n in overdue]
        organization_id = organization.pk
        transaction.on_commit(
            lambda: notifications.overdue_alert_ops(
                organization_id=organization_id, invoice_numbers=numbers, days=days
            )
        )
    if (
        settings.BILLING_TERMINATE_ON_NONPAYMENT
        and (overdue or cancelled)
        and customer.termination_proposed_at is None
        and organization.is_active
    ):
        customer.termination_proposed_at = now
        customer.termination_reason = "unpaid past grace" if overdue else "subscription cancelled"
        proposed = True
        record(
            Action.BILLING_TERMINATION_PROPOSED,
            organization=organization,
            target=customer,
            changes={"reason": customer.termination_reason},
        )
    customer.save()
    return DunningOutcome(overdue, alerted=alerted, termination_proposed=proposed)


@transaction.atomic
def organization_terminate_for_nonpayment(
    *, organization: Organization, user: User
) -> Organization | None:
    """Ops staff confirm a proposed termination: the organization is terminated now.

    The termination itself is the retention workflow's (issue #7,
    `retention.termination.organization_terminate`): `status=terminated`, `terminated_at`
    (the retention clock starts), members lose access, API keys are revoked, admins are told.
    Billing records that ops confirmed it for non-payment. Financial records stay
    (billing.retention). None when no termination was proposed or it is done already.
    """
    from retention.termination import organization_terminate

    customer = StripeCustomer.objects.for_organization(organization).select_for_update().first()
    current = Organization.objects.get(pk=organization.pk)
    if customer is None or customer.termination_proposed_at is None or not current.is_active:
        return None
    locked = organization_terminate(organization=current, actor=user, reason="non-payment")
    record(
        Action.BILLING_ORGANIZATION_TERMINATED,
        organization=locked,
        target=locked,
        actor=actor_for_user(user.pk),
        changes={"status": "terminated", "reason": customer.termination_reason},
    )
    return locked
