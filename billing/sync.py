"""Applying Stripe objects from webhook events to the local copy (called by billing.webhooks).

Events arrive late, twice and out of order. Each local row keeps `stripe_updated`, the `created`
time of the newest event applied to it; an event older than that is ignored, so the row
converges on the newest state whatever the delivery order. Stripe stamps events to the second,
so for invoices two events of the same second are ordered by how far along the invoice is
(`Invoice.STATUS_RANK`): a "finalized" never undoes a "paid" of the same second.

Rows are locked (`select_for_update`) for the comparison and the write. Runs inside the
organization's tenant context and the caller's transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import Organization
from audit.actions import Action
from audit.services import record
from billing import notifications
from billing.models import Invoice, InvoiceLine, Plan, Subscription


def _time(value: Any) -> datetime | None:
    return None if value in (None, "") else datetime.fromtimestamp(int(value), tz=UTC)


def _price_id(data: dict[str, Any]) -> str:
    items = (data.get("items") or {}).get("data") or []
    price = (items[0].get("price") or {}) if items else {}
    return str(price.get("id") or "")


def _period(data: dict[str, Any], name: str) -> datetime | None:
    # API versions since 2025-03-31 keep the billing period on the subscription item
    if data.get(name) is not None:
        return _time(data[name])
    items = (data.get("items") or {}).get("data") or []
    return _time(items[0].get(name)) if items else None


def _locked_or_created(
    model: Any, lookup: dict[str, Any], create: dict[str, Any]
) -> tuple[Any, bool]:
    """The row locked for update, or a new one; two first deliveries racing insert once."""
    row = model.objects.select_for_update().filter(**lookup).first()
    if row is not None:
        return row, False
    try:
        with transaction.atomic():
            return model.objects.create(**lookup, **create), True
    except IntegrityError:
        return model.objects.select_for_update().get(**lookup), False


SUBSCRIPTION_FIELDS = (
    "status",
    "stripe_price_id",
    "plan_id",
    "current_period_start",
    "current_period_end",
    "cancel_at_period_end",
    "canceled_at",
)


def subscription_sync(
    *, organization: Organization, data: dict[str, Any], event_created: datetime
) -> Subscription | None:
    """Apply a subscription object; None when the event is older than what the row holds."""
    price_id = _price_id(data)
    plan = Plan.objects.filter(stripe_price_id=price_id).first() if price_id else None
    values = {
        "status": str(data.get("status") or Subscription.Status.INCOMPLETE),
        "stripe_price_id": price_id,
        "plan_id": plan.pk if plan else None,
        "current_period_start": _period(data, "current_period_start"),
        "current_period_end": _period(data, "current_period_end"),
        "cancel_at_period_end": bool(data.get("cancel_at_period_end")),
        "canceled_at": _time(data.get("canceled_at")),
    }
    subscription, created = _locked_or_created(
        Subscription,
        {"stripe_subscription_id": str(data["id"])},
        {
            "organization": organization,
            "created": _time(data.get("created")) or event_created,
            "stripe_updated": event_created,
            **values,
        },
    )
    if created:
        changed = [field for field in SUBSCRIPTION_FIELDS if values[field] not in (None, False, "")]
    else:
        if event_created < subscription.stripe_updated:
            return None  # an older state: the row already holds a newer one
        changed = [f for f in SUBSCRIPTION_FIELDS if getattr(subscription, f) != values[f]]
        for field, value in values.items():
            setattr(subscription, field, value)
        subscription.stripe_updated = event_created
        subscription.save()
    if changed:
        record(
            Action.BILLING_SUBSCRIPTION_CHANGED,
            organization=organization,
            target=subscription,
            changes={"changed": sorted(changed), "status": subscription.status},
        )
    return subscription


def _po_number(data: dict[str, Any]) -> str:
    for field in data.get("custom_fields") or []:
        if str(field.get("name", "")).strip().lower() in ("po", "po number", "purchase order"):
            return str(field.get("value") or "")[:64]
    return ""


def invoice_sync(
    *,
    organization: Organization,
    data: dict[str, Any],
    event_created: datetime,
    payment_failed: bool = False,
) -> Invoice | None:
    """Apply an invoice object (with its lines); None when the event is older than the row."""
    transitions = data.get("status_transitions") or {}
    values: dict[str, Any] = {
        "number": str(data.get("number") or ""),
        "status": str(data.get("status") or Invoice.Status.DRAFT),
        "currency": str(data.get("currency") or "usd"),
        "subtotal": int(data.get("subtotal") or 0),
        "tax": int(data.get("tax") or 0),
        "total": int(data.get("total") or 0),
        "amount_due": int(data.get("amount_due") or 0),
        "amount_paid": int(data.get("amount_paid") or 0),
        "amount_remaining": int(data.get("amount_remaining") or 0),
        "due_date": _time(data.get("due_date")),
        "period_start": _time(data.get("period_start")),
        "period_end": _time(data.get("period_end")),
        "paid_at": _time(transitions.get("paid_at")),
        "hosted_invoice_url": str(data.get("hosted_invoice_url") or ""),
        "invoice_pdf": str(data.get("invoice_pdf") or ""),
        "stripe_subscription_id": str(_subscription_id(data)),
    }
    invoice, created = _locked_or_created(
        Invoice,
        {"stripe_invoice_id": str(data["id"])},
        {
            "organization": organization,
            "created": _time(data.get("created")) or event_created,
            "stripe_updated": event_created,
            "po_number": _po_number(data),
            **values,
        },
    )
    was_paid = not created and invoice.status == Invoice.Status.PAID
    if not created:
        if event_created < invoice.stripe_updated:
            return None
        rank = Invoice.STATUS_RANK
        if event_created == invoice.stripe_updated and rank.get(values["status"], 0) < rank.get(
            invoice.status, 0
        ):
            return None  # the same second, but an earlier step of the invoice's life
        if invoice.paid_out_of_band_at is not None and values["status"] != Invoice.Status.VOID:
            # ops recorded a check or transfer: Stripe saying "open" until someone marks it
            # paid there too must not make the invoice due again
            for field in ("status", "amount_paid", "amount_remaining", "paid_at"):
                values[field] = getattr(invoice, field)
        for field, value in values.items():
            setattr(invoice, field, value)
        if not invoice.purchase_order_id and _po_number(data):
            invoice.po_number = _po_number(data)
        invoice.stripe_updated = event_created
    if payment_failed and invoice.status == Invoice.Status.OPEN:
        invoice.payment_failed_at = event_created
    elif invoice.status != Invoice.Status.OPEN:
        invoice.payment_failed_at = None  # settled: a failed attempt no longer matters
    invoice.save()
    _replace_lines(invoice, data)
    if invoice.status == Invoice.Status.PAID and not was_paid:
        record(
            Action.BILLING_INVOICE_PAID,
            organization=organization,
            target=invoice,
            changes={"status": "paid", "amount_paid": invoice.amount_paid},
        )
    if payment_failed and invoice.status == Invoice.Status.OPEN:
        record(
            Action.BILLING_INVOICE_PAYMENT_FAILED,
            organization=organization,
            target=invoice,
            changes={"amount_remaining": invoice.amount_remaining},
        )
        invoice_id = invoice.pk
        transaction.on_commit(
            lambda: notifications.payment_failed_notify(
                organization_id=organization.pk, invoice_id=invoice_id
            )
        )
    return invoice


def _subscription_id(data: dict[str, Any]) -> str:
    subscription = data.get("subscription")
    if subscription is None:  # API versions since 2025-03-31: under parent.subscription_details
        details = (data.get("parent") or {}).get("subscription_details") or {}
        subscription = details.get("subscription")
    if isinstance(subscription, dict):
        subscription = subscription.get("id")
    return str(subscription or "")


def _replace_lines(invoice: Invoice, data: dict[str, Any]) -> None:
    lines = ((data.get("lines") or {}).get("data")) or []
    InvoiceLine.objects.filter(invoice=invoice).delete()
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            organization_id=invoice.organization_id,
            invoice=invoice,
            stripe_line_id=str(line.get("id") or ""),
            description=str(line.get("description") or "")[:500],
            quantity=int(line.get("quantity") or 1),
            amount=int(line.get("amount") or 0),
            currency=str(line.get("currency") or invoice.currency),
            period_start=_time((line.get("period") or {}).get("start")),
            period_end=_time((line.get("period") or {}).get("end")),
        )
        for line in lines
    )
