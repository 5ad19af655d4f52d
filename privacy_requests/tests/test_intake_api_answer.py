"""`POST /api/v1/orgs/<slug>/requests/intake/`: the 201's body is the request exactly as
`retrieve` shows it afterwards (it is built from the instance in hand, not read back), the
personal fields are sealed under the organization's current keys, and the exact statements of
one intake by API key (issue #20)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.api_keys import api_key_create
from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from k12cloud.encryption.keys import Purpose, current_key, data_key_rotate
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

NOW = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)
BODY = {
    "request_type": "access",
    "relationship": "parent",
    "requester_name": "Rosa Requester",
    "requester_email": "rosa.requester@example.org",
    "requester_phone": "+1 555 0100",
    "subject_name": "Sam Student",
    "subject_school": "Lincoln Elementary",
    "subject_birth_date": "2014-05-01",
    "details": "Please send a copy of my child's records.",
}


@pytest.fixture(autouse=True)
def pinned_time() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


def key_client(org: Organization) -> Client:
    created = api_key_create(
        organization=org, user=member(org), name="SIS", role=Role.PRIVACY_STAFF, expires_at=None
    )
    return Client(headers={"Authorization": f"Bearer {created.token}"})


def intake(client: Client, org: Organization, body: dict[str, Any] | None = None) -> Any:
    url = reverse("accounts_api:request_intake", kwargs={"org_slug": org.slug})
    return client.post(url, json.dumps(body or BODY), content_type="application/json")


def retrieve(client: Client, org: Organization, request_id: int) -> Any:
    url = reverse(
        "accounts_api:request_detail", kwargs={"org_slug": org.slug, "request_id": request_id}
    )
    return client.get(url)


@pytest.mark.parametrize("caller", ["api_key", "member"])
def test_the_201_is_the_request_as_retrieve_shows_it(org: Organization, caller: str) -> None:
    if caller == "api_key":
        client = key_client(org)
    else:
        client = sign_in(Client(), member(org, Role.PRIVACY_STAFF, email="sam@lincoln.example"))
    intake(client, org)  # an earlier request of the same family: a possible duplicate
    response = intake(client, org)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["personal"]["requester_email"] == BODY["requester_email"]
    assert body["timeline"][0]["kind"] == "received"
    assert body["timeline"][0]["data"]["possible_duplicate_of"]
    shown = retrieve(client, org, body["id"])
    assert shown.status_code == 200
    assert body == shown.json()
    assert response.content == shown.content  # byte for byte (the timeline's key order too)


def test_a_verified_possible_duplicate_answers_its_timeline_as_retrieve_does(
    org: Organization,
) -> None:
    """The "received" event's data with every key it can have, in the order jsonb keeps."""
    client = key_client(org)
    verified = {
        **BODY,
        "verification_method": "records_match",
        "verification_evidence": "Matched the SIS record.",
    }
    intake(client, org, verified)
    response = intake(client, org, verified)
    assert response.status_code == 201, response.content
    data = response.json()["timeline"][0]["data"]
    assert set(data) == {
        "channel",
        "request_type",
        "possible_duplicate_of",
        "verification_method",
    }
    assert response.content == retrieve(client, org, response.json()["id"]).content


def test_every_personal_field_is_sealed_under_the_current_key_after_a_rotation(
    org: Organization,
) -> None:
    client = key_client(org)
    assert intake(client, org).status_code == 201
    data_key_rotate(organization=org)
    response = intake(client, org)
    assert response.status_code == 201
    with tenant_context(org):
        current = current_key(org.pk, Purpose.DATA)
        row = PrivacyRequest.objects.get(pk=response.json()["id"])
        assert current is not None and current.version == 2
        fields = ("requester_name", "requester_email", "requester_phone", "subject_name")
        sealed = [row.__dict__[name] for name in (*fields, "details")]  # as loaded: Sealed
        assert {value.key_version for value in sealed} == {2}
        assert row.requester_email == BODY["requester_email"]


# 53 before issue #20 (13 current-key reads while sealing the request, 3 more for the alert
# email, and the answer read back the request, its messages and the keys). In a real request
# BEGIN and COMMIT stand for the user context's savepoint and release, and the last restore
# is not sent. A nested tenancy context's savepoint carries its settings (one statement,
# k12cloud.tenancy). Of the 14:
#  3  the user context (savepoint with its settings), and its release and restore at the end
#  3  the API key by its prefix in an all-tenants context (savepoint with its settings,
#     select, release)
#  2  the tenant context (savepoint with its settings), and its release at the end
#  1  the current data and index keys, read once for every sealed value (pinned)
#  1  the deadline rules: digests of the rules table and the organization's contract rules
#     (the rows themselves from the process cache) and its selection (organization_rules)
#  1  the INSERT, the duplicate check and the "received" timeline event in one statement
#     (request_insert: a clashing reference is drawn again through ON CONFLICT, with no
#     savepoint; request_receive takes no savepoint of its own inside the request's
#     transaction)
#  1  the audit event, appended unsealed (the sealer chains it after commit: docs/audit.md)
#  2  the alert: the team to tell, and one deferred notice (notify_after_commit: a worker
#     writes the notices and emails after commit; before, 8 statements here: their
#     delivery preferences, the notification and the email, each with its savepoint)
#  0  the answer: the timeline is the event just written, the binding rule's rows come from
#     the rules read above
# (29 before the rules were read in one statement, the keys in one, the answer from what is
# in hand, and the alert deferred: 18; 15 without the reference's savepoint and with the
# duplicate check in the INSERT's statement; 14 with the timeline event in it too)
INTAKE_QUERIES = 14


def test_intake_by_api_key_query_count_is_exact(org: Organization) -> None:
    member(org, Role.PRIVACY_OFFICER, email="po@lincoln.example")  # the alert tells someone
    client = key_client(org)
    assert intake(client, org).status_code == 201  # records last_used_at: not counted
    with CaptureQueriesContext(connection) as captured:
        response = intake(client, org, {**BODY, "requester_email": "other@example.org"})
    assert response.status_code == 201, response.content
    assert len(captured.captured_queries) == INTAKE_QUERIES, "\n".join(
        q["sql"][:100] for q in captured.captured_queries
    )
