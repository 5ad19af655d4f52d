"""Routing a platform request to the organization that holds the data: service, page, API."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.api_keys import api_key_create
from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from audit.models import AuditEvent
from audit.sealing import seal_chains
from audit.verification import verify_chains
from k12cloud.tenancy import tenant_context, unscoped_all_tenants
from privacy_requests.models import PrivacyRequest, RequestMessage
from privacy_requests.routing import request_route
from privacy_requests.rules.models import OrganizationRuleSelection
from privacy_requests.services import RequestActionRefused, request_confirm_email
from privacy_requests.status import Status
from privacy_requests.tests.factories import received_request
from privacy_requests.tests.test_request_views import EXPECTED_DETAIL_QUERIES

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

LA = ZoneInfo("America/Los_Angeles")
# Friday 23:30 in Los Angeles: already Saturday in UTC and in New York
FRIDAY_NIGHT = datetime(2026, 3, 6, 23, 30, tzinfo=LA)


@pytest.fixture
def platform() -> Organization:
    return OrganizationFactory.create(
        slug="k12cloud", name="k-12.cloud", kind=Organization.Kind.PLATFORM, time_zone="UTC"
    )


@pytest.fixture
def district() -> Organization:
    org = OrganizationFactory.create(slug="lincoln-usd", name="Lincoln USD", subdivision="CA")
    with tenant_context(org):
        OrganizationRuleSelection.objects.bulk_create(
            OrganizationRuleSelection(organization=org, rule_id=r)
            for r in ("k12cloud-service-level", "ccpa", "ca-edcode-49069", "ferpa")
        )
    return org


@pytest.fixture(autouse=True)
def platform_rules(platform: Organization) -> None:
    with tenant_context(platform):  # a parent may write to k-12.cloud about school records
        OrganizationRuleSelection.objects.bulk_create(
            OrganizationRuleSelection(organization=platform, rule_id=r)
            for r in ("k12cloud-policy", "ferpa")
        )


@pytest.fixture
def platform_staff(platform: Organization) -> User:
    return member(platform, Role.PRIVACY_STAFF, email="privacy@k12.example")


def events(action: str) -> list[AuditEvent]:
    with unscoped_all_tenants(reason="test: reading audit events"):
        return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def fetch(organization: Organization, pk: int) -> PrivacyRequest:
    with tenant_context(organization):
        return PrivacyRequest.objects.get(pk=pk)


def raw_column(pk: int, column: str) -> str:
    with unscoped_all_tenants(reason="test: ciphertext"), connection.cursor() as cursor:
        sql = f"SELECT {column} FROM privacy_requests_privacyrequest WHERE id = %s"
        cursor.execute(sql, [pk])
        return str(cursor.fetchone()[0])


def test_routing_copies_the_request_re_encrypted_with_the_original_receipt(
    platform: Organization,
    district: Organization,
    platform_staff: User,
    django_capture_on_commit_callbacks,
) -> None:
    original = received_request(
        platform,
        request_type="ferpa_inspect",
        channel="web",
        received_at=FRIDAY_NIGHT,
        language="es",
        subject_school="Lincoln High",
        details="Las notas de mi hija.",
    )
    with tenant_context(platform):
        original = request_confirm_email(request=original)
    with (
        time_machine.travel(datetime(2026, 3, 9, 9, 0, tzinfo=LA)),
        django_capture_on_commit_callbacks(execute=True),
        tenant_context(platform),
    ):
        copy = request_route(
            request=original, to_organization=district, actor=platform_staff, note="SIS records."
        )

    routed = fetch(platform, original.pk)
    assert routed.status == Status.ROUTED and routed.closed_at is not None
    assert routed.next_due_on is None
    assert (routed.routed_to_organization_id, routed.routed_to_reference) == (
        district.pk,
        copy.reference,
    )
    copy = fetch(district, copy.pk)
    assert copy.organization_id == district.pk
    assert (copy.routed_from_organization_id, copy.routed_from_reference) == (
        platform.pk,
        original.reference,
    )
    # the legal clock runs from the original receipt; the channel and language are kept
    assert copy.received_at == FRIDAY_NIGHT
    assert (copy.channel, copy.language, copy.request_type) == ("web", "es", "ferpa_inspect")
    # confirmed email carries over; identity is verified by the organization that holds data
    assert copy.status == Status.AWAITING_VERIFICATION and copy.verified_at is None
    # deadlines under the district's rules, from Friday 6 March in Los Angeles: the Education
    # Code's 5 business days bind (13 March), not the platform's k12cloud-policy 45 days
    assert copy.deadlines["received_on"] == "2026-03-06"
    assert copy.deadlines["binding_rule"] == "ca-edcode-49069"
    assert copy.respond_by == date(2026, 3, 13)
    assert set(copy.deadlines["rule_versions"]) >= {"ferpa", "ca-edcode-49069"}
    assert copy.next_due_on is not None
    # personal fields decrypt under the district's key, and the ciphertext is not a copy
    assert (copy.requester_name, copy.subject_school) == ("Rosa Parent", "Lincoln High")
    assert copy.details == "Las notas de mi hija."
    assert raw_column(copy.pk, "requester_name") != raw_column(original.pk, "requester_name")
    assert "Rosa" not in raw_column(copy.pk, "requester_name")
    with tenant_context(district):
        assert (
            copy.requester_email_index
            == PrivacyRequest.objects.get(
                requester_email_index=copy.requester_email_index
            ).requester_email_index
        )
        note = RequestMessage.objects.get(request=copy)
        assert (note.direction, note.body) == ("internal", "SIS records.")

    # one audit event on each chain, and both chains still verify
    [out] = events("requests.routed_out")
    [into] = events("requests.routed_in")
    assert out.organization_id == platform.pk and into.organization_id == district.pk
    assert out.changes["to_organization"] == "lincoln-usd"
    assert out.changes["to_reference"] == copy.reference
    assert into.changes["from_reference"] == original.reference
    assert into.actor_user_id == platform_staff.pk
    assert "Rosa" not in str(out.changes) + str(into.changes)
    seal_chains()  # as beat does every 2 s (the clock is frozen in the past here)
    assert verify_chains().intact

    # the requester is told who handles it now, in their language; no personal data in subject
    [message] = mail.outbox
    assert message.to == ["rosa.parent@example.org"]
    assert message.subject == f"Su solicitud de privacidad {original.reference}"
    assert "Lincoln USD" in message.body and copy.reference in message.body
    assert "nueva referencia" in message.body


@pytest.mark.parametrize("problem", ["not_platform", "platform_target", "terminated", "closed"])
def test_routing_refusals_change_nothing(
    problem: str, platform: Organization, district: Organization, platform_staff: User
) -> None:
    source = district if problem == "not_platform" else platform
    target = OrganizationFactory.create(slug="hudson-csd", time_zone="America/New_York")
    if problem == "platform_target":
        target = OrganizationFactory.create(slug="k12cloud-2", kind=Organization.Kind.PLATFORM)
    if problem == "terminated":
        target.status, target.terminated_at = Organization.Status.TERMINATED, timezone.now()
        target.save()
    request = received_request(source)
    if problem == "closed":
        with tenant_context(source):
            request.status, request.closed_at = Status.WITHDRAWN, timezone.now()
            request.save()
    with tenant_context(source), pytest.raises(RequestActionRefused) as refused:
        request_route(request=request, to_organization=target, actor=platform_staff)
    expected = {
        "not_platform": "not_platform",
        "platform_target": "to_organization",
        "terminated": "to_organization",
        "closed": "closed",
    }[problem]
    assert refused.value.code == expected
    assert fetch(source, request.pk).routed_to_reference == ""
    with tenant_context(target):
        assert not PrivacyRequest.objects.exists()
    assert events("requests.routed_out") == events("requests.routed_in") == []


def page_url(org: Organization, name: str, request: PrivacyRequest) -> str:
    return reverse(f"accounts:{name}", kwargs={"org_slug": org.slug, "request_id": request.pk})


def test_route_from_the_request_page_and_both_pages_show_the_other_side(
    platform: Organization, district: Organization, platform_staff: User
) -> None:
    OrganizationFactory.create(
        slug="old-district", status="terminated", terminated_at=timezone.now()
    )
    request = received_request(platform)
    client = sign_in(Client(), platform_staff)
    page = client.get(page_url(platform, "request_detail", request))
    html = page.content.decode()
    assert "Route to organization" in html
    choices = dict(page.context["route_form"].fields["to_organization"].choices)
    assert district.pk in choices and platform.pk not in choices
    assert not any("Old District" in str(label) for label in choices.values())

    missing = client.post(page_url(platform, "request_route", request), {"route-note": "x"})
    assert missing.status_code == 200
    assert 'id="id_route-to_organization_error"' in missing.content.decode()
    assert fetch(platform, request.pk).status == Status.RECEIVED

    response = client.post(
        page_url(platform, "request_route", request), {"route-to_organization": district.pk}
    )
    assert response.status_code == 302
    routed = fetch(platform, request.pk)
    after = client.get(page_url(platform, "request_detail", request)).content.decode()
    assert routed.routed_to_reference in after and "Lincoln USD" in after
    assert "Route the request" not in after  # closed: nothing more to route

    with tenant_context(district):
        copy = PrivacyRequest.objects.get(reference=routed.routed_to_reference)
    district_staff = member(district, Role.PRIVACY_STAFF)
    theirs = sign_in(Client(), district_staff).get(page_url(district, "request_detail", copy))
    text = theirs.content.decode()
    assert request.reference in text and "k-12.cloud" in text
    assert "Routed here from another organization" in text  # the timeline
    assert "Route the request" not in text  # a district cannot route


def test_a_district_cannot_route_over_http(district: Organization) -> None:
    request = received_request(district)
    other = OrganizationFactory.create(slug="hudson-csd")
    staff = member(district, Role.PRIVACY_STAFF)
    response = sign_in(Client(), staff).post(
        page_url(district, "request_route", request), {"route-to_organization": other.pk}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Only requests sent to the k-12.cloud platform organization" in html, html[:3000]
    assert fetch(district, request.pk).status == Status.RECEIVED


def _queries(client: Client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_platform_request_page_query_count(
    platform: Organization, district: Organization, platform_staff: User
) -> None:
    request = received_request(platform)
    client = sign_in(Client(), platform_staff)
    url = page_url(platform, "request_detail", request)
    few = _queries(client, url)
    for n in range(5):
        OrganizationFactory.create(slug=f"district-{n}")
    # the route form's organization list: one query, however many organizations
    assert _queries(client, url) == few == EXPECTED_DETAIL_QUERIES + 1


def test_route_through_the_api(platform: Organization, district: Organization) -> None:
    request = received_request(platform)
    admin = member(platform, Role.ORG_ADMIN)
    key = api_key_create(
        organization=platform, user=admin, name="Helpdesk", role=Role.PRIVACY_STAFF, expires_at=None
    )
    client = Client(headers={"Authorization": f"Bearer {key.token}"})
    url = reverse(
        "accounts_api:request_route", kwargs={"org_slug": platform.slug, "request_id": request.pk}
    )
    unknown = client.post(url, {"to_organization": "nowhere"}, content_type="application/json")
    assert unknown.status_code == 400 and "to_organization" in unknown.json()
    ok = client.post(
        url, {"to_organization": "lincoln-usd", "note": "FERPA"}, content_type="application/json"
    )
    assert ok.status_code == 200, ok.content
    body = ok.json()
    assert body["status"] == "routed" and body["routed_to_organization"] == "lincoln-usd"
    with tenant_context(district):
        assert PrivacyRequest.objects.get(reference=body["routed_to_reference"]).channel == "phone"
    again = client.post(url, {"to_organization": "lincoln-usd"}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "closed"
    [into] = events("requests.routed_in")
    assert into.actor_kind == "api_key"


def test_a_request_id_of_another_organization_is_404(
    platform: Organization, district: Organization
) -> None:
    theirs = received_request(district)
    admin = member(platform, Role.ORG_ADMIN)
    client = sign_in(Client(), admin)
    for name, data in (
        ("request_route", {"route-to_organization": str(district.pk)}),
        ("request_deadlines_review", {"review-decision": "keep"}),
    ):
        url = reverse(
            f"accounts:{name}", kwargs={"org_slug": platform.slug, "request_id": theirs.pk}
        )
        assert client.post(url, data).status_code == 404, name
    api = reverse(
        "accounts_api:request_route", kwargs={"org_slug": platform.slug, "request_id": theirs.pk}
    )
    answer = client.post(api, {"to_organization": "lincoln-usd"}, content_type="application/json")
    assert answer.status_code == 404
    assert fetch(district, theirs.pk).status == Status.RECEIVED
