"""An export holds its own organization's rows only, and its pages, API and file are its own
organization's. Each test runs twice (the `scoping` fixture of tests/conftest.py): with the
application-level tenant filter, and with it off, so that row-level security alone must hold.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from exports.models import OrganizationExport
from exports.tests.helpers import completed_export, download, members
from k12cloud.tenancy import tenant_context
from privacy_requests.tests.factories import stored_request
from tests.conftest import scoping  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


def test_an_export_holds_no_row_of_another_organization(scoping: bool) -> None:  # noqa: F811
    alpha, bravo = OrganizationFactory.create(), OrganizationFactory.create()
    admin = member(alpha, Role.ORG_ADMIN, email="alpha.admin@alpha.example")
    member(bravo, Role.ORG_ADMIN, email="bravo.admin@bravo.example")
    stored_request(alpha, requester_name="Alpha Only Requester")
    stored_request(bravo, requester_name="Bravo Secret Requester")
    completed_export(bravo, None)  # bravo's own export row, too
    export = completed_export(alpha, admin)
    files = members(download(sign_in(Client(), admin), alpha, export))
    everything = b"\n".join(files.values())
    assert b"Alpha Only Requester" in everything
    assert b"Bravo Secret Requester" not in everything
    assert b"bravo.admin@bravo.example" not in everything
    assert f'"organization": {bravo.pk},'.encode() not in everything


def test_another_organizations_export_is_404_everywhere(scoping: bool) -> None:  # noqa: F811
    alpha, bravo = OrganizationFactory.create(), OrganizationFactory.create()
    theirs = completed_export(bravo, None)
    client = sign_in(Client(), member(alpha, Role.ORG_ADMIN))
    kwargs = {"org_slug": alpha.slug, "export_id": theirs.pk}
    assert client.get(reverse("accounts:export_progress", kwargs=kwargs)).status_code == 404
    assert client.post(reverse("accounts:export_download", kwargs=kwargs)).status_code == 404
    assert client.get(reverse("accounts_api:export_detail", kwargs=kwargs)).status_code == 404
    assert client.post(reverse("accounts_api:export_download", kwargs=kwargs)).status_code == 404
    listed = client.get(reverse("accounts_api:export_list", kwargs={"org_slug": alpha.slug}))
    assert listed.json() == []
    with tenant_context(alpha), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM exports_organizationexport")
        assert cursor.fetchone() == (0,)
        assert not OrganizationExport._base_manager.filter(pk=theirs.pk).exists()
