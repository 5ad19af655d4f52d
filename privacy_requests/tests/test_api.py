"""The privacy requests API: queue, intake, one request, each action, personal data by role,
API keys, tenant isolation, refusals, exact query counts and the OpenAPI schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.api_keys import api_key_create
from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.encryption import keys
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest, RequestMessage
from privacy_requests.rules.models import OrganizationRuleSelection
from privacy_requests.services import (
    request_acknowledge,
    request_assign,
    request_receive,
    request_verify,
    request_withdraw,
)
from privacy_requests.status import Status

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

NOW = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)  # Wednesday 10:00 in Los Angeles
NAME = "Rosa Requester"
EMAIL = "rosa.requester@example.org"


@pytest.fixture(autouse=True)
def pinned_time() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


@pytest.fixture
def other_org() -> Organization:
    return OrganizationFactory(slug="hudson-csd", name="Hudson CSD")


@pytest.fixture
def admin(org: Organization) -> User:
    return member(org, Role.ORG_ADMIN, email="ada@lincoln.example")


@pytest.fixture
def staff(org: Organization) -> User:
    return member(org, Role.PRIVACY_STAFF, email="sam@lincoln.example")


@pytest.fixture
def viewer(org: Organization) -> User:
    return member(org, Role.VIEWER, email="vic@lincoln.example")


def receive(
    org: Organization,
    *,
    days_ago: int = 0,
    email: str = EMAIL,
    name: str = NAME,
    request_type: str = "access",
) -> PrivacyRequest:
    with tenant_context(org):
        return request_receive(
            organization=org,
            request_type=request_type,
            channel=PrivacyRequest.Channel.WEB,
            relationship=PrivacyRequest.Relationship.PARENT,
            requester_name=name,
            requester_email=email,
            subject_name="Sam Student",
            details="Please send the records.",
            received_at=NOW - timedelta(days=days_ago),
        )


def key_client(org: Organization, role: Role) -> tuple[Client, int]:
    created = api_key_create(
        organization=org, user=member(org), name="SIS", role=role, expires_at=None
    )
    return Client(headers={"Authorization": f"Bearer {created.token}"}), created.key.pk


def list_url(org: Organization, **params: Any) -> str:
    from urllib.parse import urlencode

    url = reverse("accounts_api:request_list", kwargs={"org_slug": org.slug})
    return f"{url}?{urlencode(params)}" if params else url


def detail_url(org: Organization, request_id: int, action: str = "") -> str:
    name = f"accounts_api:request_{action}" if action else "accounts_api:request_detail"
    return reverse(name, kwargs={"org_slug": org.slug, "request_id": request_id})


def intake_url(org: Organization) -> str:
    return reverse("accounts_api:request_intake", kwargs={"org_slug": org.slug})


def post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def audit(org: Organization, action: Action) -> list[AuditEvent]:
    with tenant_context(org):
        return list(AuditEvent.objects.filter(organization=org, action=action.value))


def stored(org: Organization, pk: int) -> PrivacyRequest:
    with tenant_context(org):
        return PrivacyRequest.objects.get(pk=pk)


# --- the queue --------------------------------------------------------------------------------


def test_list_is_ordered_by_the_earliest_open_deadline(org: Organization, staff: User) -> None:
    newest = receive(org, days_ago=0)
    oldest = receive(org, days_ago=20)
    closed = receive(org, days_ago=30)
    with tenant_context(org):
        request_withdraw(request=closed)
    body = sign_in(Client(), staff).get(list_url(org)).json()
    assert [r["reference"] for r in body["results"]] == [oldest.reference, newest.reference]
    assert body["next"] is None
    first = body["results"][0]
    assert first["personal"] == {
        "requester_name": NAME,
        "requester_email": EMAIL,
        "relationship": "parent",
    }
    assert first["next_due_on"] == oldest.next_due_on.isoformat()  # type: ignore[union-attr]
    assert first["binding_rule"] == oldest.deadlines["binding_rule"]


def test_list_filters(org: Organization, admin: User, staff: User) -> None:
    overdue = receive(org, days_ago=60, email="late@example.org")
    deletion = receive(org, days_ago=1, request_type="delete", email="del@example.org")
    fresh = receive(org, days_ago=0, email="fresh@example.org")
    closed = receive(org, days_ago=2, email="gone@example.org")
    with tenant_context(org):
        request_assign(request=deletion, assignee=staff, actor=admin)
        request_withdraw(request=closed)
    client = sign_in(Client(), admin)

    def refs(**params: Any) -> list[str]:
        response = client.get(list_url(org, **params))
        assert response.status_code == 200, response.content
        return [r["reference"] for r in response.json()["results"]]

    assert refs(status="closed") == [closed.reference]
    assert refs(status=Status.WITHDRAWN) == [closed.reference]
    assert refs(type="delete") == [deletion.reference]
    assert refs(assignee=staff.pk) == [deletion.reference]
    assert refs(assignee="unassigned") == [overdue.reference, fresh.reference]
    assert refs(overdue="true") == [overdue.reference]
    assert refs(due_within_days=0) == [overdue.reference]
    assert set(refs(due_within_days=366)) == {
        overdue.reference,
        deletion.reference,
        fresh.reference,
    }
    assert refs(requester_email="FRESH@example.org") == [fresh.reference]
    assert refs(requester_email="nobody@example.org") == []


def test_list_bad_filters_answer_400_naming_the_field(org: Organization, admin: User) -> None:
    client = sign_in(Client(), admin)
    response = client.get(
        list_url(org, status="nope", due_within_days=-1, requester_email="x", page_size=0)
    )
    assert response.status_code == 400
    assert set(response.json()) == {"status", "due_within_days", "requester_email", "page_size"}
    response = client.get(list_url(org, cursor="!!not-a-cursor"))
    assert response.status_code == 400
    assert set(response.json()) == {"cursor"}


def test_keyset_pages_cover_every_request_once(org: Organization, staff: User) -> None:
    made = [receive(org, days_ago=i % 4, email=f"p{i}@example.org") for i in range(7)]
    client = sign_in(Client(), staff)
    seen: list[str] = []
    url: str | None = list_url(org, page_size=3)
    pages = 0
    while url:
        body = client.get(url).json()
        assert len(body["results"]) <= 3
        seen += [r["reference"] for r in body["results"]]
        url = body["next"]
        pages += 1
    assert pages == 3
    assert sorted(seen) == sorted(r.reference for r in made)
    assert len(seen) == len(set(seen))
    # the cursor is a position, not a page number: another page size continues from it
    first = client.get(list_url(org, page_size=2)).json()
    cursor = first["next"].split("cursor=")[1]
    rest = client.get(list_url(org, page_size=50, cursor=cursor)).json()
    assert [r["reference"] for r in first["results"] + rest["results"]] == seen


@pytest.mark.parametrize("role", [Role.PRIVACY_STAFF, Role.VIEWER])
def test_list_nested_values_are_what_their_serializers_give(
    org: Organization, admin: User, staff: User, role: Role
) -> None:
    """The page builds `assignee` and `personal` from fields bound once per process
    (`privacy_requests.api.serializers.represent`); each row must read exactly as DRF's own
    Serializer.to_representation gives it through PersonSerializer and RequestPersonalSerializer
    (test_serializer_cache.py compares whole answers byte for byte)."""
    from rest_framework.serializers import Serializer

    from privacy_requests.api.serializers import PersonSerializer, RequestPersonalSerializer
    from privacy_requests.visibility import request_access, visible_request

    assigned = receive(org, days_ago=2, email="a@example.org", name="Ann Assigned")
    receive(org, days_ago=1, email="", name="Una Unassigned")  # no email: an empty value
    with tenant_context(org):
        request_assign(request=assigned, assignee=staff, actor=admin)
    client = sign_in(Client(), member(org, role, email="reader@lincoln.example"))
    rows = {r["id"]: r for r in client.get(list_url(org)).json()["results"]}
    assert len(rows) == 2
    access = request_access(role)
    with tenant_context(org):
        for made in PrivacyRequest.objects.select_related("assignee"):
            row = rows[made.pk]
            assignee = (
                Serializer.to_representation(PersonSerializer(), made.assignee)
                if made.assignee
                else None
            )
            assert row["assignee"] == assignee
            personal = (
                Serializer.to_representation(
                    RequestPersonalSerializer(), visible_request(made, access)
                )
                if access.personal
                else None
            )
            assert row["personal"] == personal
    assert rows[assigned.pk]["assignee"] == {
        "id": staff.pk,
        "email": "sam@lincoln.example",
        "full_name": staff.full_name,
    }
    if role == Role.PRIVACY_STAFF:
        assert rows[assigned.pk]["personal"]["requester_name"] == "Ann Assigned"
    else:
        assert rows[assigned.pk]["personal"] is None


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


# session, user, second factor; savepoint+set_config (user context); the memberships;
# savepoint+set_config (tenant context); one page of requests with their assignees; the
# organization's data keys (only for roles that see personal data); release, twice, and the
# user context's clearing of the settings in the test's transaction (a real request commits
# instead; leaving the tenant context restores nothing, k12cloud/tenancy.py).
LIST_QUERIES_PERSONAL = 11
LIST_QUERIES_VIEWER = LIST_QUERIES_PERSONAL - 1
# once a request that read the keys has committed, the process cache holds them (one fewer)
LIST_QUERIES_PERSONAL_KEYS_CACHED = LIST_QUERIES_PERSONAL - 1


@pytest.mark.parametrize(
    ("role", "expected"),
    [(Role.PRIVACY_STAFF, LIST_QUERIES_PERSONAL), (Role.VIEWER, LIST_QUERIES_VIEWER)],
)
def test_list_query_count_is_exact_for_0_and_30_requests(
    org: Organization,
    admin: User,
    role: Role,
    expected: int,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = sign_in(Client(), member(org, role, email="reader@lincoln.example"))
    receive(org)  # creates the organization's keys, so both runs read the same key rows
    with tenant_context(org):
        PrivacyRequest.objects.all().delete()
    empty = _count(client, list_url(org))
    worker = member(org, Role.PRIVACY_STAFF, email="w@lincoln.example")
    for index in range(30):
        made = receive(org, days_ago=index % 10, email=f"p{index}@example.org")
        if index % 3 == 0:
            with tenant_context(org):
                request_assign(request=made, assignee=worker, actor=admin)
    full = _count(client, list_url(org))
    assert empty == full == expected
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _count(client, list_url(org))
        cached = _count(client, list_url(org))
    finally:
        keys.forget(org.pk)
    # a viewer's list reads no keys at all
    assert cached == (LIST_QUERIES_PERSONAL_KEYS_CACHED if role != Role.VIEWER else expected)


# --- intake -----------------------------------------------------------------------------------


def test_intake_records_an_api_request(org: Organization, staff: User) -> None:
    response = post(
        sign_in(Client(), staff),
        intake_url(org),
        {
            "request_type": "delete",
            "relationship": "parent",
            "requester_name": NAME,
            "requester_email": EMAIL,
            "subject_name": "Sam Student",
            "subject_birth_date": "2012-05-01",
            "channel": "web",  # ignored: the API's channel is "api"
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    created = stored(org, body["id"])
    assert created.channel == PrivacyRequest.Channel.API == body["channel"]
    assert created.requester_name == NAME
    assert created.subject_birth_date == "2012-05-01"
    assert body["status"] == Status.RECEIVED
    assert body["respond_by"] and body["acknowledge_by"]
    assert body["timeline"][0]["kind"] == "received"
    assert body["timeline"][0]["actor_id"] == staff.pk
    [event] = audit(org, Action.REQUEST_RECEIVED)
    assert event.actor_user_id == staff.pk
    assert event.changes["channel"] == "api"


def test_intake_by_api_key_is_audited_as_the_key(org: Organization) -> None:
    client, key_id = key_client(org, Role.PRIVACY_STAFF)
    response = post(
        client,
        intake_url(org),
        {
            "request_type": "access",
            "relationship": "self",
            "requester_name": NAME,
            "verification_method": "records_match",
            "verification_evidence": "Matched the SIS record",
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == Status.VERIFIED
    [event] = audit(org, Action.REQUEST_RECEIVED)
    assert (event.actor_kind, event.actor_api_key_id) == ("api_key", key_id)


def test_intake_validation_names_the_fields(org: Organization, staff: User) -> None:
    client = sign_in(Client(), staff)
    response = post(
        client,
        intake_url(org),
        {
            "request_type": "teleport",
            "relationship": "parent",
            "requester_email": "not-an-address",
            "received_at": (NOW + timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 400
    assert set(response.json()) == {
        "request_type",
        "requester_name",
        "requester_email",
        "received_at",
    }
    response = post(
        client,
        intake_url(org),
        {
            "request_type": "access",
            "relationship": "parent",
            "requester_name": NAME,
            "verification_evidence": "a passport",
        },
    )
    assert response.status_code == 400
    assert set(response.json()) == {"verification_method"}
    with tenant_context(org):
        assert not PrivacyRequest.objects.exists()


# --- one request: personal data by role -------------------------------------------------------


def test_retrieve_for_a_worker_has_personal_data_deadlines_timeline_messages(
    org: Organization, staff: User
) -> None:
    made = receive(org)
    with tenant_context(org):
        request_acknowledge(request=made, actor=staff, message="We have your request.")
    body = sign_in(Client(), staff).get(detail_url(org, made.pk)).json()
    assert body["reference"] == made.reference
    assert body["personal"]["requester_email"] == EMAIL
    assert body["personal"]["details"] == "Please send the records."
    assert body["deadline_summary"]["respond_by"] == made.respond_by.isoformat()  # type: ignore[union-attr]
    assert body["deadline_summary"]["business_days_left"] > 0
    assert [e["kind"] for e in body["timeline"]] == ["received", "acknowledged"]
    assert body["timeline"][1]["data"]["message_sent"] is True
    assert body["timeline"][1]["to_status"] == Status.ACKNOWLEDGED
    assert [m["body"] for m in body["messages"]] == ["We have your request."]


@pytest.mark.parametrize("by_key", [False, True], ids=["viewer", "viewer-api-key"])
def test_viewers_get_the_register_without_personal_data(
    org: Organization, viewer: User, by_key: bool
) -> None:
    made = receive(org)
    client = key_client(org, Role.VIEWER)[0] if by_key else sign_in(Client(), viewer)
    detail = client.get(detail_url(org, made.pk))
    listing = client.get(list_url(org))
    for response in (detail, listing):
        assert response.status_code == 200
        text = response.content.decode()
        assert NAME not in text and EMAIL not in text and "Sam Student" not in text
    assert detail.json()["personal"] is None
    assert detail.json()["messages"] is None
    assert detail.json()["respond_by"] == made.respond_by.isoformat()  # type: ignore[union-attr]
    assert listing.json()["results"][0]["personal"] is None
    # and a viewer key cannot act
    assert post(client, detail_url(org, made.pk, "acknowledge")).status_code == 403
    assert post(client, intake_url(org), {}).status_code == 403


def test_retrieve_query_count_does_not_grow_with_the_thread(org: Organization, staff: User) -> None:
    made = receive(org)
    client = sign_in(Client(), staff)
    few = _count(client, detail_url(org, made.pk))
    with tenant_context(org):
        request_acknowledge(request=made, actor=staff)
        for index in range(10):
            RequestMessage.objects.create(
                organization=org, request=made, direction="internal", body=f"note {index}"
            )
    assert _count(client, detail_url(org, made.pk)) == few


# --- actions ----------------------------------------------------------------------------------


def test_acknowledge_then_refused_the_second_time(org: Organization, staff: User) -> None:
    made = receive(org)
    client = sign_in(Client(), staff)
    response = post(client, detail_url(org, made.pk, "acknowledge"), {"message": "Received."})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == Status.ACKNOWLEDGED
    assert stored(org, made.pk).acknowledged_at is not None
    assert len(audit(org, Action.REQUEST_ACKNOWLEDGED)) == 1
    again = post(client, detail_url(org, made.pk, "acknowledge"))
    assert again.status_code == 409
    assert again.json() == {
        "detail": "This request was already acknowledged.",
        "code": "already_acknowledged",
    }
    assert len(audit(org, Action.REQUEST_ACKNOWLEDGED)) == 1


def test_verify_transition_and_close(org: Organization, staff: User) -> None:
    made = receive(org)
    client = sign_in(Client(), staff)
    # the table has no move from "received" to "in progress"
    refused = post(client, detail_url(org, made.pk, "transition"), {"to_status": "in_progress"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "transition_forbidden"
    with tenant_context(org):
        request_acknowledge(request=made, actor=staff)
    # acknowledged but not verified: the guard refuses starting work
    refused = post(client, detail_url(org, made.pk, "transition"), {"to_status": "in_progress"})
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "Verify the requester's identity before the request is “In progress”.",
        "code": "not_verified",
    }
    bad = post(client, detail_url(org, made.pk, "verify"), {"method": "telepathy"})
    assert bad.status_code == 400
    assert set(bad.json()) == {"method", "evidence"}
    verified = post(
        client,
        detail_url(org, made.pk, "verify"),
        {"method": "in_person_id", "evidence": "Driver's licence ending 42"},
    )
    assert verified.status_code == 200, verified.content
    assert verified.json()["status"] == Status.VERIFIED
    started = post(client, detail_url(org, made.pk, "transition"), {"to_status": "in_progress"})
    assert started.json()["status"] == Status.IN_PROGRESS
    no_reason = post(client, detail_url(org, made.pk, "close"), {"outcome": "denied"})
    assert no_reason.status_code == 400
    assert set(no_reason.json()) == {"reason"}
    closed = post(
        client, detail_url(org, made.pk, "close"), {"outcome": "denied", "reason": "Exempt"}
    )
    assert closed.status_code == 200
    assert closed.json()["status"] == Status.DENIED
    assert closed.json()["closed_at"] is not None
    assert closed.json()["next_due_on"] is None
    # a closed request cannot move: the status machine's message, 409
    moved = post(client, detail_url(org, made.pk, "transition"), {"to_status": "on_hold"})
    assert moved.status_code == 409
    assert moved.json()["code"] == "transition_forbidden"
    assert "Denied" in moved.json()["detail"]
    assert len(audit(org, Action.REQUEST_CLOSED)) == 1


def test_extend_once(org: Organization, staff: User) -> None:
    client = sign_in(Client(), staff)
    # FERPA (and the Education Code) bind an inspection request: no extension
    barred = receive(org, request_type="ferpa_inspect")
    refused = post(client, detail_url(org, barred.pk, "extend"), {"reason": "Many records"})
    assert (refused.status_code, refused.json()["code"]) == (409, "extension_not_allowed")
    # CCPA alone allows one (+45 days)
    with tenant_context(org):
        OrganizationRuleSelection.objects.create(organization=org, rule_id="ccpa")
    made = receive(org)
    assert made.deadlines["respond_by_extended"]
    with tenant_context(org):
        request_verify(request=made, actor=staff, method="records_match", evidence="SIS")
    post(client, detail_url(org, made.pk, "transition"), {"to_status": "in_progress"})
    assert set(post(client, detail_url(org, made.pk, "extend"), {}).json()) == {"reason"}
    response = post(client, detail_url(org, made.pk, "extend"), {"reason": "Many records"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == Status.EXTENDED
    assert response.json()["extended_respond_by"] == made.deadlines["respond_by_extended"]
    # not acknowledged yet: the acknowledgement date is still the earliest open deadline
    assert response.json()["next_due_on"] == made.acknowledge_by.isoformat()  # type: ignore[union-attr]
    assert response.json()["personal"]["extension_reason"] == "Many records"
    again = post(client, detail_url(org, made.pk, "extend"), {"reason": "More"})
    assert (again.status_code, again.json()["code"]) == (409, "already_extended")
    assert len(audit(org, Action.REQUEST_EXTENDED)) == 1


def test_assign(org: Organization, admin: User, staff: User, viewer: User) -> None:
    made = receive(org)
    client = sign_in(Client(), admin)
    response = post(client, detail_url(org, made.pk, "assign"), {"assignee": staff.pk})
    assert response.status_code == 200, response.content
    assert response.json()["assignee"]["id"] == staff.pk
    # a viewer may not work requests: 400 naming the field, nothing changed
    refused = post(client, detail_url(org, made.pk, "assign"), {"assignee": viewer.pk})
    assert refused.status_code == 400
    assert set(refused.json()) == {"assignee"}
    assert post(client, detail_url(org, made.pk, "assign"), {"assignee": 0}).status_code == 400
    assert stored(org, made.pk).assignee_id == staff.pk
    unassigned = post(client, detail_url(org, made.pk, "assign"), {"assignee": None})
    assert unassigned.json()["assignee"] is None
    assert len(audit(org, Action.REQUEST_ASSIGNED)) == 2
    # privacy staff take a request (the page's rule): themselves, when nobody has it
    staff_client = sign_in(Client(), staff)
    colleague = member(org, Role.PRIVACY_STAFF)
    to_colleague = post(
        staff_client, detail_url(org, made.pk, "assign"), {"assignee": colleague.pk}
    )
    assert to_colleague.status_code == 400 and set(to_colleague.json()) == {"assignee"}
    taken = post(staff_client, detail_url(org, made.pk, "assign"), {"assignee": staff.pk})
    assert taken.status_code == 200 and taken.json()["assignee"]["id"] == staff.pk
    # the colleague may not take it over, nor give it back for them
    colleague_client = sign_in(Client(), colleague)
    for assignee in (colleague.pk, None):
        refused = post(colleague_client, detail_url(org, made.pk, "assign"), {"assignee": assignee})
        assert refused.status_code == 400
    given_back = post(staff_client, detail_url(org, made.pk, "assign"), {"assignee": None})
    assert given_back.status_code == 200 and given_back.json()["assignee"] is None
    assert len(audit(org, Action.REQUEST_ASSIGNED)) == 4
    # a privacy-staff key has no self to assign
    key, _key_id = key_client(org, Role.PRIVACY_STAFF)
    refused = post(key, detail_url(org, made.pk, "assign"), {"assignee": staff.pk})
    assert refused.status_code == 400 and stored(org, made.pk).assignee_id is None
    # viewers may not assign
    viewer_client = sign_in(Client(), viewer)
    assert post(viewer_client, detail_url(org, made.pk, "assign"), {}).status_code == 403


def test_duplicate(org: Organization, other_org: Organization, staff: User) -> None:
    original = receive(org, days_ago=3)
    copy = receive(org)
    foreign = receive(other_org)
    client = sign_in(Client(), staff)
    refused = post(client, detail_url(org, copy.pk, "duplicate"), {"original": foreign.pk})
    assert refused.status_code == 400
    assert set(refused.json()) == {"original"}
    response = post(client, detail_url(org, copy.pk, "duplicate"), {"original": original.pk})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == Status.DUPLICATE
    assert response.json()["duplicate_of"] == original.pk


def test_messages(org: Organization, staff: User) -> None:
    made = receive(org)
    client = sign_in(Client(), staff)
    empty = post(client, detail_url(org, made.pk, "message_add"), {"direction": "internal"})
    assert empty.status_code == 400
    assert set(empty.json()) == {"body"}
    response = post(
        client,
        detail_url(org, made.pk, "message_add"),
        {"direction": "internal", "body": "Called the school."},
    )
    assert response.status_code == 201, response.content
    assert response.json()["body"] == "Called the school."
    assert response.json()["author_id"] == staff.pk
    [event] = audit(org, Action.REQUEST_MESSAGE_ADDED)
    assert "Called" not in json.dumps(event.changes)


def test_actions_by_an_api_key_are_audited_as_the_key(org: Organization) -> None:
    made = receive(org)
    client, key_id = key_client(org, Role.PRIVACY_OFFICER)
    response = post(client, detail_url(org, made.pk, "acknowledge"))
    assert response.status_code == 200, response.content
    [event] = audit(org, Action.REQUEST_ACKNOWLEDGED)
    assert (event.actor_kind, event.actor_api_key_id, event.actor_user_id) == (
        "api_key",
        key_id,
        None,
    )
    assert response.json()["timeline"][-1]["actor_id"] is None


# --- isolation --------------------------------------------------------------------------------


def test_another_organization_gets_404(
    org: Organization, other_org: Organization, staff: User
) -> None:
    made = receive(org)
    outsider = member(other_org, Role.ORG_ADMIN, email="admin@hudson.example")
    session = sign_in(Client(), outsider)
    key = key_client(other_org, Role.ORG_ADMIN)[0]
    for client in (session, key):
        # org A's URLs
        assert client.get(list_url(org)).status_code == 404
        assert client.get(detail_url(org, made.pk)).status_code == 404
        assert post(client, intake_url(org), {}).status_code == 404
        # their own organization's URLs with org A's request id
        assert client.get(detail_url(other_org, made.pk)).status_code == 404
        for action in ("acknowledge", "transition", "close", "message_add"):
            assert post(client, detail_url(other_org, made.pk, action), {}).status_code == 404
            assert post(client, detail_url(org, made.pk, action), {}).status_code == 404
        assert client.get(list_url(other_org)).json()["results"] == []
    assert stored(org, made.pk).acknowledged_at is None


def test_anonymous_is_refused(org: Organization) -> None:
    made = receive(org)
    assert Client().get(list_url(org)).status_code == 403
    assert Client().get(detail_url(org, made.pk)).status_code == 403


# --- the OpenAPI schema -----------------------------------------------------------------------


def test_the_schema_describes_every_endpoint(org: Organization, staff: User) -> None:
    response = sign_in(Client(), staff).get(reverse("api_schema") + "?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    base = "/api/v1/orgs/{org_slug}/requests/"
    paths = schema["paths"]
    assert set(paths[base]) >= {"get"}
    assert "post" in paths[base + "intake/"]
    assert "get" in paths[base + "{request_id}/"]
    for action in ("acknowledge", "verify", "assign", "extend", "close", "transition"):
        operation = paths[base + "{request_id}/" + action + "/"]["post"]
        assert {"200", "400", "403", "404", "409"} <= set(operation["responses"]), action
        assert "requestBody" in operation, action
    messages = paths[base + "{request_id}/messages/"]["post"]
    assert "201" in messages["responses"]
    list_parameters = {p["name"] for p in paths[base]["get"]["parameters"]}
    assert {"status", "type", "assignee", "overdue", "due_within_days", "requester_email"} <= (
        list_parameters
    )
    assert {"cursor", "page_size"} <= list_parameters
    components = schema["components"]["schemas"]
    for name in (
        "RequestRegister",
        "RequestDetail",
        "RequestPage",
        "RequestIntake",
        "RequestPersonalDetail",
        "DeadlineSummary",
        "RequestEvent",
        "RequestRefusal",
        "RequestValidationError",
        "ErrorDetail",
    ):
        assert name in components, name
    assert set(components["RequestRefusal"]["required"]) == {"detail", "code"}
    intake_required = set(components["RequestIntake"]["required"])
    assert intake_required == {"request_type", "relationship", "requester_name"}
