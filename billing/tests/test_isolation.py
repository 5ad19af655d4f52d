"""Another tenant's billing rows cannot be named from this tenant's pages: 404, with the
application's scoping on and with row-level security alone."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from billing.models import BillingContact, Invoice
from billing.tests.factories import billing_contact, invoice, purchase_order
from k12cloud.tenancy import tenant_context
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[True, False], ids=["app-scoping", "rls-only"])
def scoping(request: pytest.FixtureRequest, settings: Any) -> bool:
    settings.TENANCY_APPLICATION_SCOPING = request.param
    return bool(request.param)


def test_ids_of_b_in_a_paths_and_bodies_are_404(scoping: bool) -> None:
    a = OrganizationFactory(slug="lincoln-usd")
    b = OrganizationFactory(slug="hudson-csd")
    client = signed_in(member(a, Role.BILLING_CONTACT))
    b_invoice, b_po, b_contact = invoice(b), purchase_order(b), billing_contact(b)
    a_invoice = invoice(a)

    def url(name: str, **kwargs: Any) -> str:
        return reverse(f"accounts:{name}", kwargs={"org_slug": a.slug, **kwargs})

    assert client.get(url("billing_invoice_pdf", invoice_id=b_invoice.pk)).status_code == 404
    assert client.post(url("billing_invoice_attach_po", invoice_id=b_invoice.pk)).status_code == 404
    doc = url("billing_purchase_order_document", purchase_order_id=b_po.pk)
    assert client.get(doc).status_code == 404
    assert client.get(url("billing_contact_edit", contact_id=b_contact.pk)).status_code == 404
    remove = url("billing_contact_remove", contact_id=b_contact.pk)
    assert client.post(remove).status_code == 404
    # B's PO named in the body of A's own invoice
    attach = url("billing_invoice_attach_po", invoice_id=a_invoice.pk)
    assert client.post(attach, {"purchase_order": b_po.pk}).status_code == 400
    overview = client.get(url("billing_overview")).content.decode()
    assert b_invoice.number not in overview and b_po.number not in overview
    with tenant_context(b):
        assert BillingContact.objects.filter(pk=b_contact.pk).exists()
        assert Invoice.objects.get(pk=b_invoice.pk).po_number == ""
