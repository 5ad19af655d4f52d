"""Journey: a billing contact sees the invoices, records a purchase order with its PDF,
attaches it to the due invoice and reaches Stripe's pay-now page link; privacy staff cannot
open billing at all."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import TEST_PASSWORD, OrganizationFactory, member
from billing.models import Invoice
from billing.tests.factories import PDF, annual_plan, invoice, stripe_customer

pytestmark = pytest.mark.browser


@pytest.fixture
def lincoln() -> Organization:
    org = OrganizationFactory(
        slug="lincoln-usd", name="Lincoln USD", mfa_policy=Organization.MfaPolicy.NOBODY
    )
    stripe_customer(org)
    annual_plan()
    return org


def sign_in(
    page: Page, page_checked: Callable[[Page], Page], org: Organization, role: Role, email: str
) -> None:
    user = member(org, role, email=email)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    page.goto("/accounts/login/")
    page_checked(page)
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/o/lincoln-usd/$"))
    page_checked(page)


def test_billing_contact_sees_invoices_records_a_po_and_reaches_pay_now(
    live_server: Any, page: Page, page_checked: Callable[[Page], Page], lincoln: Organization
) -> None:
    due = invoice(lincoln, number="K12-2026-0042", due_date=timezone.now() + timedelta(days=20))
    invoice(lincoln, number="K12-2026-0031", due_date=timezone.now() - timedelta(days=9, hours=1))
    invoice(
        lincoln,
        number="K12-2025-0007",
        status=Invoice.Status.PAID,
        amount_remaining=0,
        amount_paid=50000,
        created=timezone.now() - timedelta(days=365),
    )
    sign_in(page, page_checked, lincoln, Role.BILLING_CONTACT, "billing@lincoln.example")

    nav = page.get_by_role("navigation", name="Lincoln USD")
    nav.get_by_role("link", name="Billing").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Billing")
    expect(nav.get_by_role("link", name="Billing")).to_have_attribute("aria-current", "page")
    page_checked(page)
    due_row = page.get_by_role("row").filter(has_text="K12-2026-0042")
    expect(due_row).to_contain_text("Due")
    late_row = page.get_by_role("row").filter(has_text="K12-2026-0031")
    expect(late_row).to_contain_text("Overdue by 9 days")
    expect(page.get_by_role("row").filter(has_text="K12-2025-0007")).to_contain_text("Paid")
    pay_now = due_row.get_by_role("link", name=re.compile("^Pay now"))
    expect(pay_now).to_have_attribute("href", due.hosted_invoice_url)  # Stripe's hosted page
    assert due.hosted_invoice_url.startswith("https://invoice.stripe.com/")
    expect(due_row.get_by_role("link", name=re.compile("^Download PDF"))).to_be_visible()

    # record a PO: a missing number is named next to the field and in the summary
    page.get_by_role("link", name="Purchase orders").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Purchase orders")
    page_checked(page)
    page.get_by_role("button", name="Record purchase order").click()
    expect(page.get_by_role("alert")).to_contain_text("PO number: This field is required.")
    expect(page.get_by_label("PO number")).to_have_attribute("aria-invalid", "true")
    page_checked(page)
    page.get_by_label("PO number").fill("PO-2026-118")
    page.get_by_label("Amount (USD)").fill("500.00")
    page.get_by_label("PO document (PDF, up to 5 MB)").set_input_files(
        {"name": "po-2026-118.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="Record purchase order").click()
    expect(page.get_by_role("status")).to_contain_text("PO PO-2026-118 is recorded.")
    po_row = page.get_by_role("row").filter(has_text="PO-2026-118")
    expect(po_row).to_contain_text("500.00 USD")
    expect(po_row.get_by_role("link", name=re.compile("^Download"))).to_be_visible()
    page_checked(page)

    # the due invoice carries the PO number
    page.get_by_role("link", name="Back to billing").click()
    page_checked(page)
    due_row = page.get_by_role("row").filter(has_text="K12-2026-0042")
    due_row.get_by_label("PO for invoice K12-2026-0042").select_option(label="PO-2026-118")
    due_row.get_by_role("button", name="Attach PO").click()
    expect(page.get_by_role("status")).to_contain_text("now carries your PO number")
    due_row = page.get_by_role("row").filter(has_text="K12-2026-0042")
    expect(due_row.get_by_role("cell", name="PO-2026-118", exact=True)).to_be_visible()
    expect(due_row.get_by_role("link", name=re.compile("^Pay now"))).to_have_attribute(
        "href", due.hosted_invoice_url
    )
    page_checked(page)


def test_privacy_staff_cannot_open_billing(
    live_server: Any,
    page: Page,
    page_checked: Callable[[Page], Page],
    lincoln: Organization,
) -> None:
    invoice(lincoln, number="K12-2026-0042")
    sign_in(page, page_checked, lincoln, Role.PRIVACY_STAFF, "staff@lincoln.example")

    nav = page.get_by_role("navigation", name="Lincoln USD")
    expect(nav.get_by_role("link", name="Billing")).to_have_count(0)
    for path in ("/o/lincoln-usd/billing/", "/o/lincoln-usd/billing/purchase-orders/"):
        response = page.goto(path)
        # billing is not a privacy staff member's business, not even its existence: 404
        assert response is not None and response.status == 404
        expect(page.get_by_text("K12-2026-0042")).to_have_count(0)
        page_checked(page)
