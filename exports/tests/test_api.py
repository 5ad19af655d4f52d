"""The exports API: start, refuse a second, follow the progress, download; the schema."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.api_keys import api_key_create
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from exports.models import OrganizationExport
from exports.services import export_run
from exports.tests.helpers import members
from k12cloud.tenancy import tenant_context
from privacy_requests.tests.factories import stored_request

pytestmark = pytest.mark.django_db


def api(org_slug: str, name: str, **kwargs: object) -> str:
    return reverse(f"accounts_api:{name}", kwargs={"org_slug": org_slug, **kwargs})


def test_start_refuse_follow_and_download_over_the_api() -> None:
    org = OrganizationFactory.create()
    admin = member(org, Role.ORG_ADMIN)
    stored_request(org, requester_name="Api Requester")
    key = api_key_create(
        organization=org, user=admin, name="exports", role=Role.ORG_ADMIN, expires_at=None
    )
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key.token}")
    started = client.post(api(org.slug, "export_list"))
    assert started.status_code == 202, started.content
    body = started.json()
    assert (body["status"], body["via"], body["download_url"]) == ("queued", "api", None)
    refused = client.post(api(org.slug, "export_list"))
    assert refused.status_code == 409
    assert refused.json()["code"] == "export_refused"
    assert "already being prepared" in refused.json()["detail"]

    export_run(organization=org, export_id=body["id"])
    detail = client.get(api(org.slug, "export_detail", export_id=body["id"])).json()
    assert detail["status"] == "completed" and detail["percent"] == 100
    assert detail["rows_done"] == detail["rows_total"] > 0
    assert [e["id"] for e in client.get(api(org.slug, "export_list")).json()] == [body["id"]]

    response = client.post(detail["download_url"])
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    data = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    files = members(data)
    assert b"Api Requester" in files["tables/privacy_requests.PrivacyRequest.jsonl"]
    with tenant_context(org):
        assert OrganizationExport.objects.get(pk=body["id"]).download_count == 1


def test_only_admins_and_only_their_organization() -> None:
    org, other = OrganizationFactory.create(), OrganizationFactory.create()
    viewer = sign_in(Client(), member(org, Role.VIEWER))
    assert viewer.post(api(org.slug, "export_list")).status_code == 403
    assert viewer.get(api(org.slug, "export_list")).status_code == 403
    outsider = sign_in(Client(), member(other, Role.ORG_ADMIN))
    assert outsider.post(api(org.slug, "export_list")).status_code == 404
    with tenant_context(org):
        export = OrganizationExport.objects.create(organization=org, via="api")
    assert outsider.get(api(other.slug, "export_detail", export_id=export.pk)).status_code == 404


def test_the_schema_describes_the_exports_api() -> None:
    org = OrganizationFactory.create()
    client = sign_in(Client(), member(org, Role.ORG_ADMIN))
    schema = client.get(reverse("api_schema") + "?format=json").json()
    paths = schema["paths"]
    base = "/api/v1/orgs/{org_slug}/exports/"
    assert {"get", "post"} <= set(paths[base])
    assert "409" in paths[base]["post"]["responses"]
    assert (
        "application/zip"
        in paths[base + "{export_id}/download/"]["post"]["responses"]["200"]["content"]
    )
    assert "Export" in schema["components"]["schemas"]
