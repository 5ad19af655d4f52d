"""The request serializers answer through fields bound once per process
(`privacy_requests.api.serializers.field_table`), not DRF's fields built per instance: the
JSON must be byte for byte what DRF's own machinery gives, for every state of a request, every
access level, in English and Spanish, one request and a page; no serialization may build
fields once the tables exist; and threads serializing different requests with different
contexts at once must each get their own answer (production runs gunicorn gthread).

The reference ("stock") is DRF unmodified: `represent` replaced by
`serializers.Serializer.to_representation` on a serializer whose fields DRF builds (the
instance's own `.fields`), nested serializers included."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation
from rest_framework import serializers

from accounts.api_keys import api_key_create
from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from k12cloud.encryption.keys import data_keys_preloaded
from k12cloud.tenancy import tenant_context
from privacy_requests.api import serializers as s
from privacy_requests.models import PrivacyRequest
from privacy_requests.rules.models import OrganizationRuleSelection
from privacy_requests.selectors import request_deadline_summary, request_get, request_timeline
from privacy_requests.services import (
    request_acknowledge,
    request_assign,
    request_close,
    request_extend,
    request_mark_duplicate,
    request_message_add,
    request_transition,
    request_verify,
)
from privacy_requests.tests.factories import received_request
from privacy_requests.visibility import (
    request_access,
    visible_messages,
    visible_timeline,
)
from tests.threads import run_at_once

pytestmark = pytest.mark.usefixtures("reference_rules")

NOW = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)
RESPONSE_SERIALIZERS = (
    s.RequestRegisterSerializer,
    s.RequestDetailSerializer,
    s.PersonSerializer,
    s.RequestPersonalSerializer,
    s.RequestPersonalDetailSerializer,
    s.DeadlineSummarySerializer,
    s.RequestEventSerializer,
    s.RequestMessageSerializer,
)


def stock_represent(
    serializer_class: type[serializers.Serializer],
    instance: Any,
    serializer: serializers.Serializer | None = None,
) -> dict[str, Any]:
    """DRF's own path: Serializer.to_representation over fields DRF builds for the instance
    (a new one for a nested serializer, as `Nested(value).data` would)."""
    target = serializer if serializer is not None else serializer_class()
    return serializers.Serializer.to_representation(target, instance)


class FieldBuilds:
    """Counts DRF's field builds (`Serializer.get_fields`, ModelSerializer's included) by
    serializer class."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.built: list[type] = []
        for cls in (serializers.Serializer, serializers.ModelSerializer):
            original = cls.get_fields

            def spy(self_: Any, _original: Callable[..., Any] = original) -> Any:
                self.built.append(type(self_))
                return _original(self_)

            monkeypatch.setattr(cls, "get_fields", spy)

    def of_responses(self) -> set[type]:
        return {cls for cls in self.built if issubclass(cls, RESPONSE_SERIALIZERS)}


@pytest.fixture(autouse=True)
def pinned_time() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def receive(org: Organization, *, name: str, email: str, days_ago: int = 0) -> PrivacyRequest:
    """A web request with every personal field filled (each is serialized)."""
    return received_request(
        org,
        received_at=NOW - timedelta(days=days_ago),
        channel=PrivacyRequest.Channel.WEB,
        requester_name=name,
        requester_email=email,
        requester_phone="+1 555 0100",
        subject_school="Lincoln Elementary",
        subject_birth_date="2014-05-01",
        details="Please send the records.",
    )


def requests_in_every_state(org: Organization, officer: User, staff: User) -> list[int]:
    """Ids of requests: just received (no assignee, no email), assigned and acknowledged with
    messages and a note, verified, extended, closed, and a duplicate of another."""
    with tenant_context(org):
        OrganizationRuleSelection.objects.create(organization=org, rule_id="ccpa")  # extends
    plain = receive(org, name="Una Unassigned", email="", days_ago=1)
    worked = receive(org, name="Ann Assigned", email="ann@example.org", days_ago=3)
    verified = receive(org, name="Vera Verified", email="vera@example.org", days_ago=2)
    extended = receive(org, name="Ed Extended", email="ed@example.org", days_ago=20)
    closed = receive(org, name="Cleo Closed", email="cleo@example.org", days_ago=5)
    duplicate = receive(org, name="Ann Again", email="ann@example.org", days_ago=0)
    with tenant_context(org):
        request_assign(request=worked, assignee=staff, actor=officer)
        request_acknowledge(request=worked, actor=officer, message="We have it.")
        request_message_add(request=worked, actor=staff, direction="to_requester", body="Hi")
        request_message_add(request=worked, actor=staff, direction="internal", body="Note")
        request_verify(request=verified, actor=officer, method="records_match", evidence="SIS")
        request_verify(request=extended, actor=officer, method="records_match", evidence="SIS")
        request_transition(request=extended, to_status="in_progress", actor=officer)
        request_extend(request=extended, actor=officer, reason="Many records")
        request_close(request=closed, actor=officer, outcome="denied", reason="Not a parent")
        request_mark_duplicate(request=duplicate, actor=officer, original=worked)
    made = [plain, worked, verified, extended, closed, duplicate]
    with tenant_context(org):
        states = {pr.pk: pr for pr in PrivacyRequest.objects.filter(pk__in=[r.pk for r in made])}
    assert states[extended.pk].extended_at is not None
    assert states[closed.pk].closed_at is not None and states[verified.pk].verified_at
    assert states[duplicate.pk].duplicate_of_id == worked.pk
    assert states[worked.pk].assignee_id == staff.pk and states[plain.pk].assignee_id is None
    return [r.pk for r in made]


def detail_serializing(org: Organization, request_id: int, role: Role) -> Callable[[], Any]:
    """Loads the request and the context `retrieve` gives RequestDetailSerializer; the
    function returned serializes it (`.data`), any number of times."""
    with tenant_context(org):
        pr = request_get(organization=org, request_id=request_id)
        access = request_access(role)
        context = {
            "access": access,
            "deadline_summary": request_deadline_summary(organization=org, request=pr),
            "timeline": visible_timeline(request_timeline(organization=org, request=pr), access),
            "messages": (
                visible_messages(organization=org, request=pr, access=access)
                if access.reads_messages
                else []
            ),
        }

    def serialize() -> Any:
        with tenant_context(org), data_keys_preloaded(org.pk):
            return s.RequestDetailSerializer(pr, context=context).data

    return serialize


def detail_data(org: Organization, request_id: int, role: Role) -> Any:
    return detail_serializing(org, request_id, role)()


def page_data(org: Organization, role: Role) -> Any:
    """`.data` of a page (RequestRegisterSerializer, many=True), as the queue reads it."""
    with tenant_context(org), data_keys_preloaded(org.pk):
        rows = list(
            PrivacyRequest.objects.select_related("assignee")
            .only(*s.register_columns())
            .order_by("pk")
        )
        return s.RequestRegisterSerializer(
            rows, many=True, context={"access": request_access(role)}
        ).data


@pytest.mark.django_db
def test_responses_are_byte_for_byte_what_drf_gives(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    org = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    officer = member(org, Role.PRIVACY_OFFICER, email="olga@lincoln.example")
    staff = member(org, Role.PRIVACY_STAFF, email="sam@lincoln.example")
    viewer = member(org, Role.VIEWER, email="vic@lincoln.example")
    ids = requests_in_every_state(org, officer, staff)
    key = api_key_create(
        organization=org, user=staff, name="SIS", role=Role.PRIVACY_STAFF, expires_at=None
    )
    callers = {
        Role.PRIVACY_OFFICER: sign_in(Client(), officer),
        Role.PRIVACY_STAFF: Client(headers={"Authorization": f"Bearer {key.token}"}),
        Role.VIEWER: sign_in(Client(), viewer),
    }
    list_url = reverse("accounts_api:request_list", kwargs={"org_slug": org.slug})

    def answers() -> dict[tuple[Any, ...], bytes]:
        """Every rendered answer and every `.data` (json.dumps, keys in their order)."""
        out: dict[tuple[Any, ...], bytes] = {}
        for language in ("en", "es"):
            for role, client in callers.items():
                for request_id in ids:
                    url = reverse(
                        "accounts_api:request_detail",
                        kwargs={"org_slug": org.slug, "request_id": request_id},
                    )
                    response = client.get(url, headers={"Accept-Language": language})
                    assert response.status_code == 200, response.content
                    out["http", language, role, request_id] = response.content
                    with translation.override(language):
                        data = detail_data(org, request_id, role)
                    out["data", language, role, request_id] = json.dumps(data).encode()
                response = client.get(
                    f"{list_url}?status=all", headers={"Accept-Language": language}
                )
                assert response.status_code == 200, response.content
                assert len(response.json()["results"]) == len(ids)
                out["http page", language, role] = response.content
                with translation.override(language):
                    out["data page", language, role] = json.dumps(page_data(org, role)).encode()
        return out

    answers()  # the tables built (once per process, whichever test comes first)
    builds = FieldBuilds(monkeypatch)
    shared = answers()
    assert builds.of_responses() == set()  # no serialization built a field

    monkeypatch.setattr(s, "represent", stock_represent)
    stock = answers()
    # the reference really is DRF's per-instance fields, nested serializers included
    assert builds.of_responses() == set(RESPONSE_SERIALIZERS)

    assert shared.keys() == stock.keys()
    for case, body in stock.items():
        assert shared[case] == body, case

    # the cases differ where they should, so the comparison covers what it claims to
    officer_worked = json.loads(shared["http", "en", Role.PRIVACY_OFFICER, ids[1]])
    assert officer_worked["assignee"]["id"] == staff.pk
    assert [m["body"] for m in officer_worked["messages"]] == ["We have it.", "Hi", "Note"]
    assert officer_worked["personal"]["requester_name"] == "Ann Assigned"
    assert len(officer_worked["timeline"]) > 1
    viewer_worked = json.loads(shared["http", "en", Role.VIEWER, ids[1]])
    assert viewer_worked["personal"] is None and viewer_worked["messages"] is None
    key_worked = json.loads(shared["http", "en", Role.PRIVACY_STAFF, ids[1]])
    assert key_worked["personal"]["requester_name"] == "Ann Assigned"
    assert json.loads(shared["http", "en", Role.PRIVACY_OFFICER, ids[5]])["duplicate_of"] == ids[1]
    extended = json.loads(shared["http", "en", Role.PRIVACY_OFFICER, ids[3]])
    assert extended["extended_at"] and extended["personal"]["extension_reason"] == "Many records"
    label = "deadline_summary", "binding_rule_label"
    en = json.loads(shared["http", "en", Role.PRIVACY_OFFICER, ids[0]])
    es = json.loads(shared["http", "es", Role.PRIVACY_OFFICER, ids[0]])
    assert en[label[0]][label[1]] != es[label[0]][label[1]]  # Spanish really was served
    page = json.loads(shared["http page", "en", Role.PRIVACY_OFFICER])["results"]
    assert {row["personal"]["requester_name"] for row in page} >= {"Una Unassigned", "Ed Extended"}


@pytest.mark.django_db
def test_the_schema_describes_the_serializers_as_before(client: Client) -> None:
    """SharedFieldsMixin has no docstring on purpose: drf-spectacular would describe every
    response serializer without one of its own (Person, DeadlineSummary, RequestMessage) by
    it. The schema is the one drf-spectacular made before the shared tables."""
    org = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    client = sign_in(client, member(org, Role.VIEWER, email="vic@lincoln.example"))
    response = client.get(reverse("api_schema") + "?format=json")
    assert response.status_code == 200
    components = json.loads(response.content)["components"]["schemas"]
    for name in ("Person", "DeadlineSummary", "RequestMessage"):
        assert "description" not in components[name], name
    assert components["RequestRegister"]["description"] == (
        "A request in the queue: the register's fields (no personal data) and `personal`."
    )


@pytest.mark.django_db
def test_a_field_not_vetted_for_sharing_between_threads_is_refused() -> None:
    """A field whose representation may read per-call state (here a nested serializer, which
    reads its parent's context) must not get into a shared table: refused when built."""

    class WithNested(s.RequestRegisterSerializer):
        assignee_detail = s.PersonSerializer(source="assignee", read_only=True)

        class Meta(s.RequestRegisterSerializer.Meta):
            fields = [*s.RequestRegisterSerializer.Meta.fields, "assignee_detail"]
            read_only_fields = fields

    with pytest.raises(TypeError, match="assignee_detail: PersonSerializer is not vetted"):
        s.field_table(WithNested)


@pytest.mark.django_db(transaction=True)
def test_threads_serializing_at_once_each_get_their_own_answer() -> None:
    """Two threads (each its own connection, as gunicorn's), serializing different requests
    with different contexts and languages through the same shared fields, switching as often
    as the interpreter allows: each answer is the one that thread serializing alone gets."""
    org = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    officer = member(org, Role.PRIVACY_OFFICER, email="olga@lincoln.example")
    staff = member(org, Role.PRIVACY_STAFF, email="sam@lincoln.example")
    ids = requests_in_every_state(org, officer, staff)
    jobs = [(ids[1], Role.PRIVACY_OFFICER, "en"), (ids[3], Role.VIEWER, "es")]
    expected = []
    for request_id, role, language in jobs:
        with translation.override(language):
            expected.append(json.dumps(detail_data(org, request_id, role)))
    assert expected[0] != expected[1]
    assert json.loads(expected[0])["personal"] is not None
    assert json.loads(expected[1])["personal"] is None

    barrier = threading.Barrier(len(jobs))
    wrong: list[tuple[int, str]] = []
    failed: list[BaseException] = []

    def serialize(index: int) -> None:
        request_id, role, language = jobs[index]
        try:
            with translation.override(language):
                serializing = detail_serializing(org, request_id, role)
                barrier.wait(timeout=30)
                for _ in range(500):
                    got = json.dumps(serializing())
                    if got != expected[index]:
                        wrong.append((index, got))
        except BaseException as error:  # reported below, not lost in the thread
            failed.append(error)
        finally:
            connection.close()

    run_at_once(serialize, len(jobs))
    assert not failed, failed
    assert not wrong, wrong[:1]
