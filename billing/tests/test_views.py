"""The billing portal: what billing contacts see and do, with exact query counts.

Stripe's API (the customer portal session) is faked at the HTTP boundary with `responses`.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from audit.actions import Action
from audit.models import AuditEvent
from billing.models import BillingContact, Invoice, PurchaseOrder, Subscription
from billing.tests.factories import (
    FIXTURES,
    PDF,
    annual_plan,
    billing_contact,
    invoice,
    purchase_order,
    stripe_customer,
)
from k12cloud.tenancy import tenant_context
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def pinned_clock() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


@pytest.fixture
def payer(org: Organization) -> User:
    return member(org, Role.BILLING_CONTACT, email="billing@lincoln.example")


@pytest.fixture
def client(payer: User) -> Client:
    return signed_in(payer)


def url(org: Organization, name: str, **kwargs: Any) -> str:
    return reverse(f"accounts:{name}", kwargs={"org_slug": org.slug, **kwargs})


def subscription(org: Organization) -> Subscription:
    with tenant_context(org):
        return Subscription.objects.create(
            organization=org,
            stripe_subscription_id="sub_test_1",
            plan=annual_plan(),
            stripe_price_id="price_1QDistrictAnnual",
            status="active",
            current_period_start=NOW - timedelta(days=30),
            current_period_end=NOW + timedelta(days=335),
            created=NOW - timedelta(days=30),
            stripe_updated=NOW - timedelta(days=30),
        )


def events(action: Action) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action.value).order_by("pk"))


# Fixed costs of every organization page for a signed-in member (session, user, OTP device,
# memberships, session tracking, the tenant context's set_config) are measured below with an
# empty page; the lists add a fixed number of queries, whatever the number of rows.
def page_queries(client: Client, page_url: str, django_assert_num_queries: Any, n: int) -> Any:
    with django_assert_num_queries(n):
        response = client.get(page_url)
    assert response.status_code == 200
    return response


# --- the overview -----------------------------------------------------------------------------


@pytest.mark.parametrize("invoices", [1, 4])
def test_overview_shows_plan_upcoming_invoices_and_pay_now_in_a_fixed_number_of_queries(
    org: Organization, client: Client, django_assert_num_queries: Any, invoices: int
) -> None:
    stripe_customer(org)
    subscription(org)
    made = [invoice(org) for _ in range(invoices)]
    invoice(org, status=Invoice.Status.PAID, amount_remaining=0, amount_paid=50000)
    purchase_order(org)

    response = page_queries(client, url(org, "billing_overview"), django_assert_num_queries, 14)

    html = response.content.decode()
    assert "District plan" in html and "12,000.00 USD" in html  # the plan and the renewal
    for open_invoice in made:
        assert f'href="{open_invoice.hosted_invoice_url}"' in html  # pay now: Stripe's page
        assert url(org, "billing_invoice_pdf", invoice_id=open_invoice.pk) in html
        assert url(org, "billing_invoice_stripe_pdf", invoice_id=open_invoice.pk) in html
    assert html.count(">Pay now<") == invoices  # not for the paid one
    assert "Manage payment methods" in html
    csp = response["Content-Security-Policy"]
    assert "form-action 'self' https://billing.stripe.com" in csp


def test_overview_without_billing_set_up(
    org: Organization, client: Client, django_assert_num_queries: Any
) -> None:
    html = page_queries(
        client, url(org, "billing_overview"), django_assert_num_queries, 13
    ).content.decode()
    assert "no subscription yet" in html
    assert "No invoices yet." in html
    assert "Billing is not set up" in html


def test_drafts_and_other_tenants_invoices_are_not_shown(org: Organization, client: Client) -> None:
    other = OrganizationFactory(slug="hudson-csd")
    theirs = invoice(other)
    draft = invoice(org, status=Invoice.Status.DRAFT)
    html = client.get(url(org, "billing_overview")).content.decode()
    assert theirs.number not in html and draft.number not in html
    for name in ("billing_invoice_pdf", "billing_invoice_stripe_pdf"):
        assert client.get(url(org, name, invoice_id=theirs.pk)).status_code == 404
        assert client.get(url(org, name, invoice_id=draft.pk)).status_code == 404


def test_stripes_invoice_pdf_is_a_redirect_to_stripe(
    org: Organization, client: Client, django_assert_num_queries: Any
) -> None:
    made = invoice(org)
    with django_assert_num_queries(10):
        response = client.get(url(org, "billing_invoice_stripe_pdf", invoice_id=made.pk))
    assert response.status_code == 302
    assert response["Location"] == made.invoice_pdf


# --- payment methods: Stripe's customer portal ------------------------------------------------


@responses.activate
def test_manage_payment_methods_redirects_to_a_stripe_portal_session(
    org: Organization, client: Client
) -> None:
    stripe_customer(org)
    session = json.loads((FIXTURES / "api_billing_portal_session.json").read_text())
    call = responses.post("https://api.stripe.com/v1/billing_portal/sessions", json=session)

    response = client.post(url(org, "billing_payment_methods"))

    assert response.status_code == 302
    assert response["Location"] == session["url"]
    sent = dict(p.split("=", 1) for p in str(call.calls[0].request.body).split("&"))
    assert sent["customer"] == "cus_QLincoln0001"
    assert sent["return_url"].startswith("http%3A%2F%2Ftestserver%2Fo%2Flincoln-usd%2Fbilling")


@responses.activate
def test_stripe_being_down_is_said_plainly(org: Organization, client: Client) -> None:
    stripe_customer(org)
    error = json.loads((FIXTURES / "api_error.json").read_text())
    responses.post("https://api.stripe.com/v1/billing_portal/sessions", json=error, status=500)
    response = client.post(url(org, "billing_payment_methods"), follow=True)
    assert "Stripe could not be reached" in response.content.decode()


def test_manage_payment_methods_without_a_stripe_customer(
    org: Organization, client: Client
) -> None:
    response = client.post(url(org, "billing_payment_methods"), follow=True)
    assert "Billing is not set up" in response.content.decode()


# --- purchase orders --------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 3])
def test_purchase_order_list_queries(
    org: Organization, client: Client, django_assert_num_queries: Any, count: int
) -> None:
    for _ in range(count):
        purchase_order(org)
    page_queries(client, url(org, "billing_purchase_orders"), django_assert_num_queries, 10)


def test_record_a_purchase_order_with_its_document(org: Organization, client: Client) -> None:
    document = SimpleUploadedFile("po-2026.pdf", PDF, content_type="application/pdf")
    response = client.post(
        url(org, "billing_purchase_orders"),
        {
            "number": "PO-2026-118",
            "amount": "12000.00",
            "valid_from": "2026-07-01",
            "valid_until": "2027-06-30",
            "document": document,
        },
    )
    assert response.status_code == 302
    with tenant_context(org):
        po = PurchaseOrder.objects.get()
        assert (po.number, po.amount, po.document_size) == ("PO-2026-118", 1200000, len(PDF))
        assert base64.b64decode(po.document) == PDF
    with tenant_context(org):
        assert [e.changes for e in events(Action.BILLING_PURCHASE_ORDER_RECORDED)] == [
            {"number": "PO-2026-118", "with_document": True}
        ]
        assert len(events(Action.BILLING_PURCHASE_ORDER_UPLOADED)) == 1
    download = client.get(url(org, "billing_purchase_order_document", purchase_order_id=po.pk))
    assert download["Content-Type"] == "application/pdf"
    assert download.content == PDF


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"number": ""}, "number", "This field is required."),
        (
            {"number": "PO-1", "valid_from": "2026-07-01", "valid_until": "2026-06-01"},
            "valid_until",
            "The end date is before the start date.",
        ),
        ({"number": "PO-1", "amount": "-5"}, "amount", "greater than or equal to 0"),
        ({"number": "PO-1", "document": "not-a-pdf"}, "document", "must be a PDF file"),
        ({"number": "PO-DUP"}, "number", "already recorded"),
    ],
)
def test_bad_purchase_orders_are_refused_naming_the_field(
    org: Organization, client: Client, data: dict[str, Any], field: str, message: str
) -> None:
    purchase_order(org, "PO-DUP", document=False)
    if data.get("document") == "not-a-pdf":
        data = {**data, "document": SimpleUploadedFile("po.pdf", b"GIF89a...", "application/pdf")}
    response = client.post(url(org, "billing_purchase_orders"), data)
    assert response.status_code == 400
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    assert f'href="#id_{field}"' in response.content.decode()  # the error summary links to it
    with tenant_context(org):
        assert PurchaseOrder.objects.count() == 1  # only the one made above


def test_an_oversized_document_is_refused(org: Organization, client: Client) -> None:
    po = purchase_order(org, document=False)
    big = SimpleUploadedFile("po.pdf", PDF + b"0" * PurchaseOrder.MAX_DOCUMENT_BYTES)
    response = client.post(
        url(org, "billing_purchase_order_document", purchase_order_id=po.pk), {"document": big}
    )
    assert response.status_code == 400
    assert "larger than 5 MB" in response.content.decode()


def test_upload_a_document_to_a_recorded_po(org: Organization, client: Client) -> None:
    po = purchase_order(org, document=False)
    response = client.post(
        url(org, "billing_purchase_order_document", purchase_order_id=po.pk),
        {"document": SimpleUploadedFile("signed.pdf", PDF, "application/pdf")},
    )
    assert response.status_code == 302
    with tenant_context(org):
        po.refresh_from_db()
        assert po.document_name == "signed.pdf"
        assert [e.changes for e in events(Action.BILLING_PURCHASE_ORDER_UPLOADED)] == [
            {"size": len(PDF), "replaced": False}
        ]


def test_attach_a_po_to_an_invoice(org: Organization, client: Client) -> None:
    po = purchase_order(org, "PO-77")
    made = invoice(org)
    response = client.post(
        url(org, "billing_invoice_attach_po", invoice_id=made.pk), {"purchase_order": po.pk}
    )
    assert response.status_code == 302
    with tenant_context(org):
        made.refresh_from_db()
        assert (made.po_number, made.purchase_order_id) == ("PO-77", po.pk)
    assert "PO-77" in client.get(url(org, "billing_overview")).content.decode()


def test_attaching_another_tenants_po_is_refused(org: Organization, client: Client) -> None:
    theirs = purchase_order(OrganizationFactory(slug="hudson-csd"), "PO-HUDSON")
    made = invoice(org)
    response = client.post(
        url(org, "billing_invoice_attach_po", invoice_id=made.pk), {"purchase_order": theirs.pk}
    )
    assert response.status_code == 400
    assert "purchase_order" in response.context["attach_form"].errors
    with tenant_context(org):
        made.refresh_from_db()
        assert made.po_number == ""


# --- billing contacts -------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 3])
def test_contact_list_queries(
    org: Organization, client: Client, django_assert_num_queries: Any, count: int
) -> None:
    for n in range(count):
        billing_contact(org, f"ap{n}@lincoln.example")
    # + the organization's data key, read once to decrypt every contact
    page_queries(client, url(org, "billing_contacts"), django_assert_num_queries, 11)


def test_contact_edit_queries(
    org: Organization, client: Client, django_assert_num_queries: Any
) -> None:
    contact = billing_contact(org)
    page_queries(
        client,
        url(org, "billing_contact_edit", contact_id=contact.pk),
        django_assert_num_queries,
        11,
    )


def test_add_change_and_remove_a_billing_contact(org: Organization, client: Client) -> None:
    data = {
        "name": "Pat Payables",
        "email": "ap@lincoln.example",
        "address": "1 School Way",
        "tax_id": "94-1234567",
    }
    assert client.post(url(org, "billing_contacts"), data).status_code == 302
    with tenant_context(org):
        contact = BillingContact.objects.get()
    assert contact.email == "ap@lincoln.example"
    changed = {**data, "email": "payables@lincoln.example"}
    edit = url(org, "billing_contact_edit", contact_id=contact.pk)
    assert client.post(edit, changed).status_code == 302
    remove = url(org, "billing_contact_remove", contact_id=contact.pk)
    assert client.post(remove).status_code == 302
    with tenant_context(org):
        assert not BillingContact.objects.exists()
        assert [e.changes for e in events(Action.BILLING_CONTACT_CHANGED)] == [
            {"added": ["address", "email", "name", "tax_id"]},
            {"changed": ["email"]},  # the field, never the address itself
            {"removed": True},
        ]


def test_a_bad_contact_email_is_refused_naming_the_field(org: Organization, client: Client) -> None:
    response = client.post(url(org, "billing_contacts"), {"name": "Pat", "email": "not-an-email"})
    assert response.status_code == 400
    assert "email" in response.context["form"].errors
    assert 'href="#id_email"' in response.content.decode()


# --- who may see billing ----------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.PRIVACY_OFFICER, Role.PRIVACY_STAFF, Role.VIEWER])
def test_other_roles_cannot_see_billing(org: Organization, role: Role) -> None:
    client = signed_in(member(org, role))
    # not even told billing exists (issue #8): 404, as for a page that is not there
    for name in ("billing_overview", "billing_purchase_orders", "billing_contacts"):
        assert client.get(url(org, name)).status_code == 404, name
    made = invoice(org)
    for name in ("billing_invoice_pdf", "billing_invoice_stripe_pdf"):
        assert client.get(url(org, name, invoice_id=made.pk)).status_code == 404, name
    dashboard = client.get(reverse("accounts:dashboard", kwargs={"org_slug": org.slug}))
    assert url(org, "billing_overview") not in dashboard.content.decode()  # no nav link


def test_admins_see_the_billing_link(org: Organization) -> None:
    client = signed_in(member(org, Role.ORG_ADMIN))
    dashboard = client.get(reverse("accounts:dashboard", kwargs={"org_slug": org.slug}))
    assert url(org, "billing_overview") in dashboard.content.decode()
