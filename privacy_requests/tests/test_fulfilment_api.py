"""The fulfilment API: package, download, fulfil, deletion plan and perform, correction."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context, unscoped_all_tenants
from privacy_requests.models import PrivacyRequest
from privacy_requests.rules.models import OrganizationRuleSelection
from privacy_requests.services import request_transition, request_verify
from privacy_requests.status import Status
from privacy_requests.tests.factories import received_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

NOW = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)
EMAIL = "rosa.requester@example.org"


@pytest.fixture(autouse=True)
def pinned_time() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def org() -> Organization:
    organization = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD", subdivision="CA")
    with tenant_context(organization):
        OrganizationRuleSelection.objects.create(organization=organization, rule_id="ccpa")
    return organization


@pytest.fixture
def staff(org: Organization) -> User:
    return member(org, Role.PRIVACY_STAFF, email="sam@lincoln.example")


@pytest.fixture
def api(staff: User) -> Client:
    return sign_in(Client(), staff)


def working(org: Organization, actor: User, request_type: str = "access") -> PrivacyRequest:
    request = received_request(org, actor=actor, requester_email=EMAIL, request_type=request_type)
    with tenant_context(org):
        request = request_verify(request=request, actor=actor, method="records_match")
        return request_transition(request=request, to_status="in_progress", actor=actor)


def endpoint(org: Organization, name: str, request: PrivacyRequest) -> str:
    return reverse(f"accounts_api:{name}", kwargs={"org_slug": org.slug, "request_id": request.pk})


def test_prepare_download_and_fulfil(org: Organization, staff: User, api: Client) -> None:
    request = working(org, staff)
    none_yet = api.get(endpoint(org, "request_package_download", request))
    assert none_yet.status_code == 409
    assert none_yet.json()["code"] == "no_package"

    prepared = api.post(endpoint(org, "request_package_prepare", request))
    assert prepared.status_code == 201
    body = prepared.json()
    assert {f["name"] for f in body["contents"]} >= {"data.json", "summary.html", "requests.csv"}
    assert body["expires_at"].startswith("2026-04-03")

    download = api.get(endpoint(org, "request_package_download", request))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    content = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    assert len(content) == body["size"]
    assert "data.json" in zipfile.ZipFile(io.BytesIO(content)).namelist()

    mail.outbox.clear()
    with_message = {"message": "Here is your information."}
    fulfilled = api.post(
        endpoint(org, "request_fulfil", request), with_message, content_type="application/json"
    )
    assert fulfilled.status_code == 200
    assert fulfilled.json()["status"] == Status.FULFILLED
    again = api.post(endpoint(org, "request_fulfil", request), {}, content_type="application/json")
    assert again.status_code == 409


def test_refusals_and_bad_input_name_what_is_wrong(
    org: Organization, staff: User, api: Client
) -> None:
    unverified = received_request(org, actor=staff, requester_email=EMAIL)
    refused = api.post(endpoint(org, "request_package_prepare", unverified))
    assert refused.status_code == 409
    assert refused.json()["code"] == "not_verified"

    correction = working(org, staff, "correct")
    empty = api.post(
        endpoint(org, "request_correction", correction),
        {"record": "SIS", "corrections": []},
        content_type="application/json",
    )
    assert empty.status_code == 400 and "corrections" in empty.json()
    same = api.post(
        endpoint(org, "request_correction", correction),
        {"record": "SIS", "corrections": [{"field": "phone", "before": "1", "after": "1"}]},
        content_type="application/json",
    )
    assert same.status_code == 400 and "corrections" in same.json()
    assert api.get(endpoint(org, "request_deletion_plan", correction)).status_code == 409


def test_correction_over_the_api_keeps_values_out_of_the_audit_log(
    org: Organization, staff: User, api: Client
) -> None:
    request = working(org, staff, "correct")
    response = api.post(
        endpoint(org, "request_correction", request),
        {
            "record": "SIS student record",
            "corrections": [
                {"field": "home address", "before": "12 Elm St", "after": "14 Oak Ave"},
                {"field": "phone", "before": "555-0100", "after": "555-0199"},
            ],
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["field_names"] == ["home address", "phone"]
    with unscoped_all_tenants(reason="test reads audit events"):
        event = AuditEvent.objects.get(action=Action.REQUEST_CORRECTION_RECORDED.value)
    dumped = json.dumps(event.changes)
    assert "Elm" not in dumped and "555" not in dumped


def test_deletion_plan_then_perform_needs_the_erase_permission(
    org: Organization, staff: User, api: Client
) -> None:
    request = working(org, staff, "delete")
    plan = api.get(endpoint(org, "request_deletion_plan", request))
    assert plan.status_code == 200
    kept = [item["code"] for item in plan.json()["kept"]]
    assert kept[0] == "this_request"
    assert {"audit_log", "financial_records", "legal_holds"} <= set(kept)
    assert plan.json()["performed"] is False

    assert api.post(endpoint(org, "request_deletion_perform", request)).status_code == 403
    officer = sign_in(Client(), member(org, Role.PRIVACY_OFFICER))
    performed = officer.post(endpoint(org, "request_deletion_perform", request))
    assert performed.status_code == 200
    assert performed.json()["performed"] is True
    assert performed.json()["counts"]["requests_deidentified"] == 0
    assert officer.post(endpoint(org, "request_deletion_perform", request)).status_code == 409


def test_another_organizations_request_is_404(org: Organization, staff: User) -> None:
    request = working(org, staff)
    hudson = OrganizationFactory(slug="hudson-csd")
    outsider = sign_in(Client(), member(hudson, Role.ORG_ADMIN))
    for name in ("request_package_prepare", "request_fulfil", "request_correction"):
        url = reverse(
            f"accounts_api:{name}", kwargs={"org_slug": hudson.slug, "request_id": request.pk}
        )
        assert outsider.post(url, {}, content_type="application/json").status_code == 404
    url = reverse(
        "accounts_api:request_package_download",
        kwargs={"org_slug": hudson.slug, "request_id": request.pk},
    )
    assert outsider.get(url).status_code == 404


def test_the_schema_describes_the_fulfilment_endpoints(org: Organization, staff: User) -> None:
    response = sign_in(Client(), staff).get(reverse("api_schema") + "?format=json")
    paths = json.loads(response.content)["paths"]
    base = "/api/v1/orgs/{org_slug}/requests/{request_id}/"
    assert {"201", "409"} <= set(paths[base + "package/"]["post"]["responses"])
    assert (
        "application/zip" in paths[base + "package/download/"]["get"]["responses"]["200"]["content"]
    )
    assert "requestBody" in paths[base + "fulfil/"]["post"]
    assert "get" in paths[base + "deletion/"]
    assert "post" in paths[base + "deletion/perform/"]
    assert "requestBody" in paths[base + "correction/"]["post"]
