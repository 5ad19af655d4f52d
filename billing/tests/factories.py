"""Billing test data: Stripe-shaped fixtures, signed webhook deliveries, local rows."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import Organization
from accounts.tests.factories import OrganizationFactory
from billing.models import BillingContact, Invoice, Plan, PurchaseOrder, StripeCustomer
from k12cloud.tenancy import tenant_context

FIXTURES = Path(__file__).parent / "fixtures"
CUSTOMER_ID = "cus_QLincoln0001"  # the customer of every evt_*.json fixture but one
PRICE_ID = "price_1QDistrictAnnual"
WEBHOOK_URL = "/billing/stripe/webhook/"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EVENT_FIXTURES = sorted(p.name for p in FIXTURES.glob("evt_*.json"))


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def sign(body: str, *, secret: str | None = None, timestamp: int | None = None) -> str:
    """A Stripe-Signature header, computed the way Stripe computes it."""
    t = int(time.time()) if timestamp is None else timestamp
    key = (secret or settings.STRIPE_WEBHOOK_SECRET).encode()
    v1 = hmac.new(key, f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={v1}"


def deliver(
    event: dict[str, Any] | str,
    *,
    client: Client | None = None,
    secret: str | None = None,
    timestamp: int | None = None,
    signature: str | None = None,
) -> Any:
    body = event if isinstance(event, str) else json.dumps(event)
    header = signature if signature is not None else sign(body, secret=secret, timestamp=timestamp)
    return (client or Client()).post(
        WEBHOOK_URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )


def platform_organization() -> Organization:
    return OrganizationFactory(slug="k12cloud", name="k-12.cloud", kind=Organization.Kind.PLATFORM)


def stripe_customer(org: Organization, customer_id: str = CUSTOMER_ID) -> StripeCustomer:
    with tenant_context(org):
        return StripeCustomer.objects.create(organization=org, stripe_customer_id=customer_id)


def annual_plan() -> Plan:
    plan, _ = Plan.objects.get_or_create(
        stripe_price_id=PRICE_ID,
        defaults={"name": "District plan", "interval": "year", "amount": 1200000},
    )
    return plan


_counter = iter(range(1, 1_000_000))


def invoice(org: Organization, **fields: Any) -> Invoice:
    n = next(_counter)
    created = fields.pop("created", timezone.now() - timedelta(days=n))
    values: dict[str, Any] = {
        "stripe_invoice_id": f"in_test_{org.pk}_{n}",
        "number": f"K12-TEST-{n:04d}",
        "status": Invoice.Status.OPEN,
        "currency": "usd",
        "subtotal": 50000,
        "total": 50000,
        "amount_due": 50000,
        "amount_remaining": 50000,
        "created": created,
        "due_date": created + timedelta(days=30),
        "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_1K12cloud/test_{n}",
        "invoice_pdf": f"https://pay.stripe.com/invoice/acct_1K12cloud/test_{n}/pdf",
        "stripe_updated": created,
        **fields,
    }
    with tenant_context(org):
        return Invoice.objects.create(organization=org, **values)


def purchase_order(
    org: Organization, number: str | None = None, *, document: bool = True
) -> PurchaseOrder:
    import base64

    n = next(_counter)
    with tenant_context(org):
        po = PurchaseOrder(organization=org, number=number or f"PO-{n:05d}", amount=50000)
        if document:
            po.document = base64.b64encode(PDF).decode()
            po.document_name = "po.pdf"
            po.document_size = len(PDF)
            po.document_uploaded_at = timezone.now()
        po.save()
        return po


def billing_contact(org: Organization, email: str = "ap@lincoln.example") -> BillingContact:
    with tenant_context(org):
        return BillingContact.objects.create(
            organization=org, name="Pat Payables", email=email, address="1 School Way", tax_id=""
        )


def at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)
