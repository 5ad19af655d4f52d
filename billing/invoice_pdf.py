"""The invoice as a PDF rendered by the portal, from the invoice's rows (no call to Stripe).

Always available on the billing page, so a district can pay by check or bank transfer when
Stripe's own PDF is out of reach. It carries the district's PO number, the lines, subtotal, tax,
total, what is paid and what remains, and the remittance details (settings.BILLING_REMITTANCE,
docs/billing.md "Paying by check or bank transfer").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from accounts.models import Organization
from billing.models import BillingContact, Invoice

# the PDF core fonts speak Latin-1: common typographic characters are written as their plain
# equivalents, anything else as "?" (descriptions are ours or Stripe's plan names)
_PLAIN = str.maketrans(
    {
        "\u2014": "-",  # em dash
        "\u2013": "-",  # en dash
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
        "\u2022": "-",  # bullet
    }
)


def _text(value: object) -> str:
    return str(value).translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


def money_text(cents: int | None, currency: str) -> str:
    """1234.5 dollars as "1,234.50 USD" (the portal's {% money %} in a fixed, English form)."""
    value = (cents or 0) / 100
    return f"{value:,.2f} {currency.upper()}"


@dataclass(frozen=True)
class Remittance:
    payee: str
    address: list[str]
    bank: list[str]
    email: str
    tax_id: str


def remittance() -> Remittance:
    values = settings.BILLING_REMITTANCE
    return Remittance(
        payee=values["payee"],
        address=[line.strip() for line in values["address"].split("|") if line.strip()],
        bank=[line.strip() for line in values["bank"].split("|") if line.strip()],
        email=values["email"],
        tax_id=values["tax_id"],
    )


def _date(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%B %-d, %Y") if value else "-"


def invoice_pdf(
    *,
    organization: Organization,
    invoice: Invoice,
    contacts: Iterable[BillingContact],
    now: datetime | None = None,
) -> bytes:
    """The invoice, its lines (prefetched or read here) and how to pay it, as PDF bytes."""
    from fpdf import FPDF

    zone = ZoneInfo(organization.time_zone or "UTC")
    pay = remittance()
    number = invoice.number or invoice.stripe_invoice_id
    currency = invoice.currency
    contact = next(iter(contacts), None)

    pdf = FPDF()
    pdf.set_title(f"Invoice {number}")
    pdf.set_author(pay.payee)
    pdf.set_creation_date(now or timezone.now())
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()

    def heading(text: str, size: int = 11) -> None:
        pdf.set_font("Helvetica", "B", size)
        pdf.cell(0, 7, _text(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)

    def line(text: str) -> None:
        pdf.multi_cell(0, 5, _text(text), new_x="LMARGIN", new_y="NEXT")

    heading(f"Invoice {number}", 16)
    line(pay.payee)
    for address_line in pay.address:
        line(address_line)
    if pay.tax_id:
        line(f"Tax ID: {pay.tax_id}")
    pdf.ln(4)

    heading("Bill to")
    line(organization.name)
    if contact is not None:
        line(f"Attn: {contact.name}")
        for address_line in (contact.address or "").splitlines():
            if address_line.strip():
                line(address_line.strip())
        if contact.tax_id:
            line(f"Tax ID: {contact.tax_id}")
    pdf.ln(4)

    line(f"Invoice date: {_date(invoice.created, zone)}")
    line(f"Due date: {_date(invoice.due_date, zone)}")
    if invoice.period_start and invoice.period_end:
        line(
            f"Service period: {_date(invoice.period_start, zone)} - "
            f"{_date(invoice.period_end, zone)}"
        )
    line(f"PO number: {invoice.po_number or 'none given'}")
    line(f"Status: {invoice.get_status_display()}")
    late = invoice.days_overdue(now)
    if late:
        line(f"Overdue by {late} day{'s' if late != 1 else ''}")
    pdf.ln(4)

    heading("Lines")
    widths = (120, 20, 50)
    # a table wraps long descriptions inside their column
    with pdf.table(
        col_widths=widths,
        text_align=("LEFT", "RIGHT", "RIGHT"),
        borders_layout="HORIZONTAL_LINES",
        line_height=6,
        width=sum(widths),
    ) as table:
        table.row(("Description", "Qty", "Amount"))
        for invoice_line in invoice.lines.all():
            table.row(
                (
                    _text(invoice_line.description or "-"),
                    str(invoice_line.quantity),
                    money_text(invoice_line.amount, invoice_line.currency),
                )
            )
    pdf.ln(2)
    for label, cents in (
        ("Subtotal", invoice.subtotal),
        ("Tax", invoice.tax),
        ("Total", invoice.total),
        ("Paid", invoice.amount_paid),
        ("Amount due", invoice.amount_remaining),
    ):
        pdf.set_font("Helvetica", "B" if label in ("Total", "Amount due") else "", 10)
        pdf.cell(widths[0] + widths[1], 6, label, align="R")
        pdf.cell(widths[2], 6, money_text(cents, currency), align="R")
        pdf.ln()
    pdf.set_font("Helvetica", size=10)
    pdf.ln(4)

    heading("How to pay")
    reference = f"invoice {number}" + (f" and PO {invoice.po_number}" if invoice.po_number else "")
    line(f"Please quote {reference} with your payment.")
    line(f"By check, payable to {pay.payee}, mailed to:")
    for address_line in pay.address:
        line(f"    {address_line}")
    line("By bank transfer (ACH or wire):")
    for bank_line in pay.bank:
        line(f"    {bank_line}")
    if pay.email:
        line(f"Send the remittance advice to {pay.email}.")
    if invoice.hosted_invoice_url:
        line("To pay by card, use Pay now on the billing page of the portal.")
    return bytes(pdf.output())
