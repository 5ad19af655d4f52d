"""The invoice PDF the portal renders itself (issue #16, item 10): always there, Stripe or not,
with the lines, the PO number, tax, totals and how to pay by check or bank transfer; invoices
past due say "Overdue" with the days, on the page and in the PDF."""

from __future__ import annotations

import re
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from billing.models import Invoice, InvoiceLine
from billing.tests.factories import billing_contact, invoice
from k12cloud.tenancy import tenant_context
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


def pdf_text(content: bytes) -> str:
    """The text an fpdf2 document shows: its content streams' string operands, one a line."""
    assert content.startswith(b"%PDF")
    shown = []
    for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", content, re.S):
        try:
            data = zlib.decompress(stream.group(1))
        except zlib.error:
            continue  # fonts and images
        for text in re.finditer(rb"\(((?:\\.|[^\\)])*)\) Tj", data):
            shown.append(re.sub(rb"\\(.)", rb"\1", text.group(1)).decode("latin-1"))
    return "\n".join(shown)


@pytest.fixture(autouse=True)
def pinned_clock() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD", time_zone="UTC")


@pytest.fixture
def client(org: Organization) -> Client:
    return signed_in(member(org, Role.BILLING_CONTACT, email="billing@lincoln.example"))


def url(org: Organization, name: str, **kwargs: Any) -> str:
    return reverse(f"accounts:{name}", kwargs={"org_slug": org.slug, **kwargs})


def with_lines(made: Invoice, *lines: tuple[str, int, int]) -> Invoice:
    with tenant_context(made.organization):
        for n, (description, quantity, amount) in enumerate(lines):
            InvoiceLine.objects.create(
                organization=made.organization,
                invoice=made,
                stripe_line_id=f"il_{made.pk}_{n}",
                description=description,
                quantity=quantity,
                amount=amount,
                currency=made.currency,
            )
    return made


def offline_invoice(org: Organization, **fields: Any) -> Invoice:
    """An invoice Stripe gave no PDF and no payment page for (or that was made by hand)."""
    return invoice(org, hosted_invoice_url="", invoice_pdf="", **fields)


def test_the_pdf_has_the_lines_po_number_tax_totals_and_how_to_pay(
    org: Organization, client: Client, django_assert_num_queries: Any
) -> None:
    billing_contact(org)
    made = with_lines(
        offline_invoice(
            org,
            number="K12-2026-0042",
            po_number="PO-77-1234",
            subtotal=1_200_000,
            tax=99_000,
            total=1_299_000,
            amount_due=1_299_000,
            amount_paid=0,
            amount_remaining=1_299_000,
            created=NOW - timedelta(days=40),
            due_date=NOW - timedelta(days=10),
        ),
        ("District plan \u2014 annual (2026\u201327)", 1, 1_150_000),
        ("Onboarding workshop", 2, 50_000),
    )
    # fixed: session, user, device, memberships, tenant; the invoice, its lines, the contacts
    # and the organization's key to decrypt them
    with django_assert_num_queries(13):
        response = client.get(url(org, "billing_invoice_pdf", invoice_id=made.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="invoice-k12-2026-0042.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    text = pdf_text(response.content)

    assert "Invoice K12-2026-0042" in text
    assert "Lincoln USD" in text and "Attn: Pat Payables" in text and "1 School Way" in text
    assert "PO number: PO-77-1234" in text
    assert "Please quote invoice K12-2026-0042 and PO PO-77-1234 with your payment." in text
    # the lines, typographic dashes written plainly, and the totals as money
    assert "District plan - annual (2026-27)" in text and "11,500.00 USD" in text
    assert "Onboarding workshop" in text and "500.00 USD" in text
    for label, amount in [
        ("Subtotal", "12,000.00 USD"),
        ("Tax", "990.00 USD"),
        ("Total", "12,990.00 USD"),
        ("Amount due", "12,990.00 USD"),
    ]:
        assert f"{label}\n{amount}" in text, label
    assert "Overdue by 10 days" in text
    # remittance: payee, mailing address and bank, from settings.BILLING_REMITTANCE
    remit = settings.BILLING_REMITTANCE
    assert f"By check, payable to {remit['payee']}, mailed to:" in text
    for line in remit["address"].split("|") + remit["bank"].split("|"):
        assert line in text
    assert "Pay now" not in text  # no Stripe page to pay on


def test_the_pdf_is_offered_for_every_invoice_and_stripes_only_when_there_is_one(
    org: Organization, client: Client
) -> None:
    offline = offline_invoice(org)
    from_stripe = invoice(org)
    html = client.get(url(org, "billing_overview")).content.decode()
    for made in (offline, from_stripe):
        assert url(org, "billing_invoice_pdf", invoice_id=made.pk) in html
        assert client.get(url(org, "billing_invoice_pdf", invoice_id=made.pk)).status_code == 200
    assert url(org, "billing_invoice_stripe_pdf", invoice_id=from_stripe.pk) in html
    assert url(org, "billing_invoice_stripe_pdf", invoice_id=offline.pk) not in html
    response = client.get(url(org, "billing_invoice_stripe_pdf", invoice_id=offline.pk))
    assert response.status_code == 404


def test_invoices_past_due_say_overdue_with_the_days(org: Organization, client: Client) -> None:
    late = invoice(org, number="K12-LATE", due_date=NOW - timedelta(days=12, hours=3))
    one_day = invoice(org, number="K12-ONE", due_date=NOW - timedelta(days=1))
    not_yet = invoice(org, number="K12-SOON", due_date=NOW + timedelta(days=5))
    paid_late = invoice(
        org, number="K12-PAID", status=Invoice.Status.PAID, due_date=NOW - timedelta(days=90)
    )
    html = client.get(url(org, "billing_overview")).content.decode()
    rows = {
        made.number: html.split(made.number, 1)[1].split("</tr>", 1)[0]
        for made in (late, one_day, not_yet, paid_late)
    }
    assert "Overdue by 12 days" in rows["K12-LATE"]
    assert "Overdue by 1 day<" in rows["K12-ONE"]
    assert "Overdue" not in rows["K12-SOON"] and ">Due<" in rows["K12-SOON"].replace("<td>", ">")
    assert "Overdue" not in rows["K12-PAID"] and "Paid" in rows["K12-PAID"]
    assert late.days_overdue(NOW) == 12 and not_yet.days_overdue(NOW) == 0


@pytest.mark.parametrize("role", [Role.ORG_ADMIN, Role.BILLING_CONTACT])
def test_roles_that_see_billing_download_the_pdf(org: Organization, role: Role) -> None:
    made = offline_invoice(org)
    response = signed_in(member(org, role)).get(url(org, "billing_invoice_pdf", invoice_id=made.pk))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_other_tenants_members_get_nothing(org: Organization) -> None:
    made = offline_invoice(org)
    other = OrganizationFactory(slug="hudson-csd")
    outsider: User = member(other, Role.ORG_ADMIN)
    path = url(org, "billing_invoice_pdf", invoice_id=made.pk)
    assert signed_in(outsider).get(path).status_code == 404
    mine = url(other, "billing_invoice_pdf", invoice_id=made.pk)
    assert signed_in(outsider).get(mine).status_code == 404
