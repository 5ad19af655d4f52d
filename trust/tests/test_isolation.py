"""A member of A never sees B's acceptances, objections or dismissals, with application
scoping on and with row-level security alone (the `scoping` fixture of tests/conftest.py)."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from k12cloud.tenancy import tenant_context
from tests.conftest import Tenant, signed_in
from trust.models import BannerDismissal, DocumentObjection, DpaAcceptance
from trust.services import banner_dismiss, dpa_accept, objection_record
from trust.tests.factories import DPA_V2, published

pytestmark = pytest.mark.django_db


def test_b_acceptance_is_404_and_b_rows_are_invisible_from_a(
    scoping: bool, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    version = published(effective_on=date.today())
    upcoming = published(body=DPA_V2, effective_on=date(2099, 1, 1), summary="Later")
    b = tenant_b.organization
    with tenant_context(b):
        acceptance = dpa_accept(
            organization=b,
            actor=tenant_b.admin,
            version_id=version.pk,
            version_hash=version.content_hash,
            ip_address="198.51.100.7",
        ).acceptance
        objection_record(organization=b, actor=tenant_b.admin, version_id=upcoming.pk, text="No")
        banner_dismiss(organization=b, user=tenant_b.admin, key=f"version:{upcoming.pk}")
    client = signed_in(tenant_a.admin)
    url = reverse(
        "accounts:trust_dpa_receipt",
        kwargs={"org_slug": "lincoln-usd", "acceptance_id": acceptance.pk},
    )
    assert client.get(url).status_code == 404
    page = client.get(reverse("accounts:trust_dpa", kwargs={"org_slug": "lincoln-usd"}))
    assert page.status_code == 200
    assert b"has not accepted the DPA yet" in page.content
    assert b"admin@b.example" not in page.content
    with tenant_context(tenant_a.organization):
        assert DpaAcceptance.objects.count() == 0
        assert DocumentObjection.objects.count() == 0
        assert BannerDismissal.objects.count() == 0
