"""Billing demo data for `make run` (called by `manage.py seed_demo`); safe to run again.

Lincoln USD gets a Stripe customer (a made-up id: the portal's Stripe buttons need real test
keys to work), the annual plan, an active subscription, a paid and a due invoice, and a billing
contact, and a line for each invoice. The ops group's billing permissions are in
accounts.ops_staff.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import Organization
from billing.models import BillingContact, Invoice, InvoiceLine, Plan, StripeCustomer, Subscription
from k12cloud.tenancy import tenant_context


def billing_demo_seed(*, organization: Organization) -> None:
    plan, _ = Plan.objects.update_or_create(
        stripe_price_id="price_demo_district_annual",
        defaults={"name": "District plan", "interval": "year", "amount": 1200000},
    )
    now = timezone.now()
    with tenant_context(organization):
        StripeCustomer.objects.get_or_create(
            organization=organization, defaults={"stripe_customer_id": "cus_demo_lincoln"}
        )
        Subscription.objects.update_or_create(
            stripe_subscription_id="sub_demo_lincoln",
            defaults={
                "organization": organization,
                "plan": plan,
                "stripe_price_id": plan.stripe_price_id,
                "status": Subscription.Status.ACTIVE,
                "current_period_start": now - timedelta(days=60),
                "current_period_end": now + timedelta(days=305),
                "created": now - timedelta(days=425),
                "stripe_updated": now - timedelta(days=60),
            },
        )
        for number, status, age in (("K12-DEMO-0001", "paid", 425), ("K12-DEMO-0002", "open", 60)):
            created = now - timedelta(days=age)
            demo_invoice, _ = Invoice.objects.update_or_create(
                stripe_invoice_id=f"in_demo_{number}",
                defaults={
                    "organization": organization,
                    "number": number,
                    "status": status,
                    "currency": "usd",
                    "subtotal": 1200000,
                    "total": 1200000,
                    "amount_due": 1200000,
                    "amount_paid": 1200000 if status == "paid" else 0,
                    "amount_remaining": 0 if status == "paid" else 1200000,
                    "created": created,
                    "due_date": created + timedelta(days=30),
                    "hosted_invoice_url": f"https://invoice.stripe.com/i/demo/{number}",
                    "invoice_pdf": f"https://pay.stripe.com/invoice/demo/{number}/pdf",
                    "stripe_updated": created,
                },
            )
            InvoiceLine.objects.update_or_create(
                invoice=demo_invoice,
                stripe_line_id=f"il_demo_{number}",
                defaults={
                    "organization": organization,
                    "description": f"{plan.name} (annual)",
                    "quantity": 1,
                    "amount": 1200000,
                    "currency": "usd",
                    "period_start": created,
                    "period_end": created + timedelta(days=365),
                },
            )
        if not BillingContact.objects.exists():
            BillingContact.objects.create(
                organization=organization,
                name="Bill Contact",
                email="billing@lincoln.example",
                address="1 School Way\nLincoln, CA 95648",
                tax_id="94-0000000",
            )
