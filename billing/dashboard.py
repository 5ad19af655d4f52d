"""The billing panel of the organization dashboard (k12cloud.dashboard).

Billing contacts see the plan and its renewal date, the next invoice, the invoices due and
overdue, and the purchase orders' status; organization admins see the same without the
purchase orders. Constant queries: the subscription, one aggregate over the invoices, and
for billing contacts one aggregate over the purchase orders.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Min, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Organization
from accounts.permissions import Permission, Role, role_allows
from billing.models import Invoice, PurchaseOrder
from billing.selectors import current_subscription, upcoming_invoice
from k12cloud.dashboard import DashboardPanel

# a purchase order whose validity ends within this many days is shown as ending soon
PO_ENDING_WARNING = timedelta(days=30)


def invoice_figures(*, organization: Organization) -> dict[str, Any]:
    """Unpaid (open) invoices: how many and how much, and of those the overdue ones; the
    earliest due date; open invoices without a PO number. One query."""
    now = timezone.now()
    overdue = Q(due_date__lt=now)
    return (
        Invoice.objects.for_organization(organization)
        .filter(status=Invoice.Status.OPEN)
        .aggregate(
            due=Count("pk"),
            due_amount=Sum("amount_remaining", default=0),
            overdue=Count("pk", filter=overdue),
            overdue_amount=Sum("amount_remaining", filter=overdue, default=0),
            next_due_date=Min("due_date", filter=Q(due_date__gte=now)),
            without_po=Count("pk", filter=Q(po_number="")),
        )
    )


def purchase_order_figures(*, organization: Organization) -> dict[str, Any]:
    """Purchase orders valid today, ending soon, expired, and without their document."""
    today = timezone.localdate()
    valid = (Q(valid_from__isnull=True) | Q(valid_from__lte=today)) & (
        Q(valid_until__isnull=True) | Q(valid_until__gte=today)
    )
    return (
        PurchaseOrder.objects.for_organization(organization)
        .order_by()
        .aggregate(
            total=Count("pk"),
            valid=Count("pk", filter=valid),
            ending=Count("pk", filter=valid & Q(valid_until__lte=today + PO_ENDING_WARNING)),
            expired=Count("pk", filter=Q(valid_until__lt=today)),
            without_document=Count("pk", filter=Q(document_uploaded_at__isnull=True)),
        )
    )


def billing_panel(*, organization: Organization, membership: Membership) -> DashboardPanel | None:
    if not role_allows(membership.role, Permission.BILLING_VIEW):
        return None

    def url(name: str) -> str:
        return reverse(f"accounts:{name}", kwargs={"org_slug": organization.slug})

    subscription = current_subscription(organization=organization)
    context: dict[str, Any] = {
        "subscription": subscription,
        "upcoming": upcoming_invoice(subscription),
        "invoices": invoice_figures(organization=organization),
        # amounts are shown in the plan's currency (an organization is billed in one)
        "currency": subscription.plan.currency if subscription and subscription.plan else "usd",
        "overview_url": url("billing_overview"),
    }
    if membership.role == Role.BILLING_CONTACT:
        context["purchase_orders"] = purchase_order_figures(organization=organization)
        context["purchase_orders_url"] = url("billing_purchase_orders")
        context["po_warning_days"] = PO_ENDING_WARNING.days
    return DashboardPanel(
        key="billing",
        title=_("Billing"),
        template="billing/dashboard_panel.html",
        context=context,
        order=10 if membership.role == Role.BILLING_CONTACT else 30,
    )
