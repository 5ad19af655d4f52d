"""The request page, its actions and staff intake, over HTTP."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from privacy_requests.rules.models import OrganizationRuleSelection
from privacy_requests.services import (
    request_acknowledge,
    request_message_add,
    request_transition,
    request_verify,
)
from privacy_requests.status import Status
from privacy_requests.tests.factories import received_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

LA = ZoneInfo("America/Los_Angeles")
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=LA)


@pytest.fixture
def org() -> Organization:
    organization = OrganizationFactory(slug="lincoln-usd", subdivision="CA")
    with tenant_context(organization):
        OrganizationRuleSelection.objects.create(organization=organization, rule_id="ccpa")
    return organization


@pytest.fixture
def staff(org: Organization) -> User:
    return member(org, Role.PRIVACY_STAFF, full_name="Pat Staff")


@pytest.fixture
def client(staff: User) -> Client:
    return sign_in(Client(), staff)


def url(org: Organization, name: str, request: PrivacyRequest | None = None) -> str:
    kwargs: dict[str, object] = {"org_slug": org.slug}
    if request is not None:
        kwargs["request_id"] = request.pk
    return reverse(f"accounts:{name}", kwargs=kwargs)


def fetch(request: PrivacyRequest) -> PrivacyRequest:
    with tenant_context(request.organization_id):
        return PrivacyRequest.objects.get(pk=request.pk)


def test_the_request_page_shows_deadlines_binding_rule_and_timeline(
    org: Organization, staff: User, client: Client
) -> None:
    request = received_request(org, actor=staff, received_at=MONDAY)
    with time_machine.travel(datetime(2026, 3, 4, 9, 0, tzinfo=LA)):
        response = client.get(url(org, "request_detail", request))
    assert response.status_code == 200
    html = response.content.decode()
    assert request.reference in html
    # the binding rule by its plain name and period, never the bare code
    assert "California Consumer Privacy Act — 45 days, one 45-day extension" in html
    assert ">ccpa<" not in html and "ccpa (" not in html
    assert "Rosa Parent" in html  # decrypted for staff
    assert "Request received" in html
    # respond by 16 April: business days after Wed 4 March up to Thu 16 April = 31
    assert response.context["deadlines"].business_days_left == 31
    assert "Verify identity" in html and "Acknowledge receipt" in html


def test_a_viewer_sees_the_page_without_actions(org: Organization) -> None:
    request = received_request(org)
    viewer = member(org, Role.VIEWER)
    response = sign_in(Client(), viewer).get(url(org, "request_detail", request))
    assert response.status_code == 200
    assert "Verify identity" not in response.content.decode()
    assert response.context["can_work"] is False


def test_a_refused_transition_re_renders_with_a_clear_message(
    org: Organization, staff: User, client: Client
) -> None:
    request = received_request(org, actor=staff)
    response = client.post(url(org, "request_transition", request), {"status-to_status": "on_hold"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "A request that is “Received” cannot be moved to “On hold”." in html
    assert 'role="alert"' in html
    assert fetch(request).status == Status.RECEIVED


def test_extension_refusals_over_http(org: Organization, staff: User, client: Client) -> None:
    request = received_request(org, actor=staff, received_at=MONDAY)
    with tenant_context(org):
        request = request_verify(request=request, actor=staff, method="records_match")
        request = request_acknowledge(request=request, actor=staff)
        request = request_transition(request=request, to_status=Status.IN_PROGRESS, actor=staff)
    extend = url(org, "request_extend", request)
    with time_machine.travel(datetime(2026, 4, 17, 9, 0, tzinfo=LA)):
        late = client.post(extend, {"extend-reason": "Archived."})
    assert "The original deadline (2026-04-16) has passed" in late.content.decode()
    with time_machine.travel(datetime(2026, 4, 1, 9, 0, tzinfo=LA)):
        missing = client.post(extend, {"extend-reason": ""})
        assert 'id="id_extend-reason_error"' in missing.content.decode()
        assert client.post(extend, {"extend-reason": "Archived."}).status_code == 302
        again = client.post(extend, {"extend-reason": "Again."})
    assert "already extended" in again.content.decode()
    assert fetch(request).extended_respond_by is not None


def test_verify_acknowledge_message_and_fulfil_over_http(
    org: Organization, staff: User, client: Client
) -> None:
    request = received_request(org, actor=staff)
    detail = url(org, "request_detail", request)
    verify = {"verify-method": "records_match", "verify-evidence": "Enrolment record matched."}
    assert client.post(url(org, "request_verify", request), verify)["Location"] == detail
    ack = {"acknowledge-message": "We have your request."}
    assert client.post(url(org, "request_acknowledge", request), ack).status_code == 302
    note = {"message-direction": "internal", "message-body": "Records are in the archive."}
    assert client.post(url(org, "request_message_add", request), note).status_code == 302
    start = {"status-to_status": "in_progress"}
    assert client.post(url(org, "request_transition", request), start).status_code == 302
    close = {"close-outcome": "fulfilled", "close-reason": ""}
    assert client.post(url(org, "request_close", request), close).status_code == 302
    stored = fetch(request)
    assert stored.status == Status.FULFILLED
    page = client.get(detail).content.decode()
    assert "Records are in the archive." in page and "We have your request." in page


def test_staff_take_a_request_but_only_officers_share_work_out(
    org: Organization, staff: User, client: Client
) -> None:
    request = received_request(org, actor=staff)
    colleague = member(org, Role.PRIVACY_STAFF, full_name="Sam Colleague")
    assign = url(org, "request_assign", request)
    detail = url(org, "request_detail", request)
    # the page offers staff the form, with themselves only
    page = client.get(detail).content.decode()
    assert 'id="assign_form"' in page and "Me (Pat Staff)" in page
    assert "Sam Colleague" not in page
    # not to a colleague: the form refuses the choice, nothing saved
    response = client.post(assign, {"assign-assignee": str(colleague.pk)})
    assert response.status_code == 200 and fetch(request).assignee_id is None
    # themselves: taken, on the timeline and in the audit log as any assignment
    assert client.post(assign, {"assign-assignee": str(staff.pk)}).status_code == 302
    assert fetch(request).assignee_id == staff.pk
    with tenant_context(org):
        assert request.events.filter(kind="assigned").count() == 1
        assert AuditEvent.objects.filter(action=Action.REQUEST_ASSIGNED).count() == 1
    # and give it back
    assert client.post(assign, {"assign-assignee": ""}).status_code == 302
    assert fetch(request).assignee_id is None
    # an officer shares work out; then the colleague cannot take it over, nor sees the form
    officer = member(org, Role.PRIVACY_OFFICER)
    response = sign_in(Client(), officer).post(assign, {"assign-assignee": str(staff.pk)})
    assert response.status_code == 302
    assert fetch(request).assignee_id == staff.pk
    colleague_client = sign_in(Client(), colleague)
    assert 'id="assign_form"' not in colleague_client.get(detail).content.decode()
    response = colleague_client.post(assign, {"assign-assignee": str(colleague.pk)})
    assert response.status_code == 200
    assert "only to yourself, when nobody else has it" in response.content.decode()
    assert fetch(request).assignee_id == staff.pk
    # viewers may not assign at all
    viewer = member(org, Role.VIEWER)
    assert sign_in(Client(), viewer).post(assign, {"assign-assignee": ""}).status_code == 403


def test_staff_intake_records_a_phone_request(org: Organization, client: Client) -> None:
    data = {
        "channel": "phone",
        "request_type": "access",
        "received_at": "2026-03-06T23:30",
        "requester_name": "Rosa Parent",
        "requester_email": "rosa@example.org",
        "relationship": "parent",
        "subject_name": "Sam Student",
        "verification_method": "records_match",
        "verification_evidence": "Address and birth date matched the SIS.",
    }
    with time_machine.travel(datetime(2026, 3, 9, 9, 0, tzinfo=LA)):
        response = client.post(url(org, "request_create"), data)
    assert response.status_code == 302
    with tenant_context(org):
        created = PrivacyRequest.objects.get()
    assert response["Location"] == url(org, "request_detail", created)
    assert created.channel == "phone" and created.status == Status.VERIFIED
    assert created.received_at == datetime(2026, 3, 6, 23, 30, tzinfo=LA)
    assert created.deadlines["received_on"] == "2026-03-06"


def test_staff_intake_shows_field_errors_tied_to_the_fields(
    org: Organization, client: Client
) -> None:
    data = {
        "channel": "phone",
        "request_type": "access",
        "requester_name": "",
        "relationship": "parent",
        "verification_method": "in_person_id",
    }
    response = client.post(url(org, "request_create"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_requester_name_error"' in html
    assert 'id="id_verification_evidence_error"' in html
    assert "Describe what was checked" in html
    with tenant_context(org):
        assert not PrivacyRequest.objects.exists()


def _page_queries(client: Client, page: str) -> int:
    client.get(page)  # warm: keys cached, session loaded once
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page).status_code == 200
    if DUMP:
        print("\n".join(q["sql"][:150] for q in queries.captured_queries))
    return len(queries)


DUMP = False


def test_request_page_query_count_is_exact_and_constant(
    org: Organization, staff: User, client: Client
) -> None:
    officer = member(org, Role.PRIVACY_OFFICER)
    officer_client = sign_in(Client(), officer)
    request = received_request(org, actor=staff)
    page = url(org, "request_detail", request)
    few_staff, few_officer = _page_queries(client, page), _page_queries(officer_client, page)
    with tenant_context(org):
        for n in range(6):
            request_message_add(request=request, actor=staff, direction="internal", body=f"n{n}")
            request_message_add(request=request, actor=officer, direction="to_requester", body="m")
    assert _page_queries(client, page) == few_staff == EXPECTED_DETAIL_QUERIES
    # the assign form's member list: one more query
    assert _page_queries(officer_client, page) == few_officer == EXPECTED_DETAIL_QUERIES + 1


def test_intake_page_query_count(org: Organization, client: Client) -> None:
    assert _page_queries(client, url(org, "request_create")) == EXPECTED_INTAKE_QUERIES


# The intake page is the portal's base cost (session, user, second factor, memberships, tenant
# settings and the like): 9. The request page adds: the request (with assignee), its
# timeline, its messages, the binding rule's rows, the organization's data keys (read once
# for every decrypted value), the emails sent about it (k12cloud.notifications), and its
# vendor tasks with their vendors (vendors/_request_panel.html, for members who work requests).
EXPECTED_INTAKE_QUERIES = 9
EXPECTED_DETAIL_QUERIES = EXPECTED_INTAKE_QUERIES + 7
