"""Billing email: the one place billing sends mail from.

Called after commit (`transaction.on_commit`) by the services. It sends with django.core.mail
for now; the notifications work (outbox) will replace the body of these functions, not their
callers. Subjects carry no personal data and no amounts; bodies name the invoice number.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.urls import reverse

from accounts.models import Organization
from billing.models import BillingContact, Invoice
from k12cloud.tenancy import tenant_context

logger = logging.getLogger(__name__)


def _money(cents: int, currency: str) -> str:
    return f"{cents / 100:,.2f} {currency.upper()}"


def payment_failed_notify(*, organization_id: int, invoice_id: int) -> int:
    """Tell the organization's billing contacts that a card payment failed; returns how many."""
    organization = Organization.objects.get(pk=organization_id)
    with tenant_context(organization):
        invoice = Invoice.objects.filter(pk=invoice_id).first()
        if invoice is None:
            return 0
        recipients = [contact.email for contact in BillingContact.objects.order_by("pk")]
    if not recipients:
        logger.warning("billing: payment failed for organization %s, no contact", organization_id)
        return 0
    portal = reverse("accounts:billing_overview", kwargs={"org_slug": organization.slug})
    lines = [
        f"A payment for invoice {invoice.number or invoice.stripe_invoice_id} of "
        f"{organization.name} failed.",
        f"Amount due: {_money(invoice.amount_remaining, invoice.currency)}",
    ]
    if invoice.hosted_invoice_url:
        lines.append(f"Pay it on Stripe's secure page: {invoice.hosted_invoice_url}")
    lines.append(f"Or see your invoices in the k12cloud portal: {portal}")
    send_mail(
        subject="[k12cloud] A payment failed",
        message="\n\n".join(lines),
        from_email=None,
        recipient_list=recipients,
    )
    return len(recipients)


def overdue_alert_ops(*, organization_id: int, invoice_numbers: list[str], days: int) -> int:
    """Alert ops staff that an organization's invoices are unpaid past the grace period."""
    organization = Organization.objects.get(pk=organization_id)
    recipients = list(
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .order_by("pk")
        .values_list("email", flat=True)
    )
    if not recipients:
        logger.error(
            "billing: organization %s is overdue and no ops staff can be emailed", organization_id
        )
        return 0
    terminate = settings.BILLING_TERMINATE_ON_NONPAYMENT
    send_mail(
        subject="[k12cloud] Invoices unpaid past the grace period",
        message=(
            f"{organization.name} ({organization.slug}) has invoices unpaid more than {days} "
            f"days past their due date: {', '.join(invoice_numbers)}.\n\n"
            + (
                "BILLING_TERMINATE_ON_NONPAYMENT is on: the organization is proposed for "
                "termination. Confirm it in the ops admin (Billing → Stripe customers)."
                if terminate
                else "Termination for non-payment is off (BILLING_TERMINATE_ON_NONPAYMENT)."
            )
        ),
        from_email=None,
        recipient_list=recipients,
    )
    return len(recipients)
