"""The vendor sees only what was shared; the district's rows stay out of its reach.

Each test runs twice (the `scoping` fixture of tests/conftest.py): with the application-level
tenant filter, and with it off, so that PostgreSQL row-level security alone must hold.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import sign_in
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest, RequestMessage
from tests.conftest import scoping  # noqa: F401 (the fixture)
from vendors.models import Vendor, VendorFile, VendorTask, VendorTaskReceipt
from vendors.tests.factories import district_request, scene

pytestmark = pytest.mark.django_db


def test_in_the_vendor_tenant_no_district_row_is_visible(scoping: bool) -> None:  # noqa: F811
    s = scene()
    pr = district_request(s.district)
    s.forward(pr)
    with tenant_context(s.vendor_org):
        # through the ORM (filtered by the manager when scoping is on, by RLS alone when off)
        for model in (PrivacyRequest, RequestMessage, Vendor, VendorTask, VendorFile):
            assert not model._base_manager.filter(organization_id=s.district.pk).exists(), model
        assert not PrivacyRequest._base_manager.filter(pk=pr.pk).exists()
        # and in plain SQL, which no application layer touches
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM privacy_requests_privacyrequest")
            assert cursor.fetchone() == (0,)
            cursor.execute("SELECT count(*) FROM vendors_vendortask")
            assert cursor.fetchone() == (0,)
            cursor.execute("SELECT count(*) FROM vendors_vendortaskreceipt")
            assert cursor.fetchone() == (1,)
    with tenant_context(s.district):
        assert not VendorTaskReceipt._base_manager.exists()


def test_the_vendor_cannot_open_the_district_request_or_its_tasks(
    scoping: bool,  # noqa: F811
) -> None:
    s = scene()
    pr = district_request(s.district)
    [task] = s.forward(pr)
    client = sign_in(Client(), s.vendor_staff)
    # the district's ids under the vendor's own slug: not found, whatever the layer
    for name, kwargs in (
        ("request_detail", {"request_id": pr.pk}),
        ("request_vendor_tasks", {"request_id": pr.pk}),
    ):
        page = reverse(f"accounts:{name}", kwargs={"org_slug": "brightpath", **kwargs})
        assert client.get(page).status_code == 404, name
    skip = reverse(
        "accounts:vendor_task_skip", kwargs={"org_slug": "brightpath", "task_id": task.pk}
    )
    assert client.post(skip, {"reason": "x"}).status_code == 404
    # the district's pages are not the vendor staff's
    page = reverse(
        "accounts:request_detail", kwargs={"org_slug": "lincoln-usd", "request_id": pr.pk}
    )
    assert client.get(page).status_code == 404


def test_a_district_member_cannot_open_the_vendor_receipt(scoping: bool) -> None:  # noqa: F811
    s = scene()
    s.forward(district_request(s.district))
    with tenant_context(s.vendor_org):
        receipt = VendorTaskReceipt.objects.get()
    client = sign_in(Client(), s.district_admin)
    page = reverse(
        "accounts:vendor_receipt", kwargs={"org_slug": "lincoln-usd", "receipt_id": receipt.pk}
    )
    assert client.get(page).status_code == 404
