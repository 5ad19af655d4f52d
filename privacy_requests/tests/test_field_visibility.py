"""The field-level permission matrix: which personal values each role reads, everywhere.

`accounts/tests/test_permissions.py` checks which role may open which page or API action;
this module checks, on every page and endpoint that shows a request, which *values* appear in
the body for each role, against the rule table of `privacy_requests.visibility`:

- the rule table classifies every field of PrivacyRequest, RequestMessage and RequestEvent,
  every message direction and every timeline payload kind (a new field or kind without a
  rule fails here; an encrypted field must be in a personal group);
- every URL that shows a request is in SURFACES (what it shows to a role that reads
  everything) or in FULL_READERS_ONLY (only roles that read every value may open it);
- for every role, each surface's body contains exactly the personal values of the groups
  that role reads, and none of the others (session and API key callers alike).
"""

from __future__ import annotations

import ast
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, models
from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization, User
from accounts.permissions import PERMISSION_MATRIX, Permission, Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from accounts.tests.test_permissions import ALLOWED
from k12cloud.encryption.fields import EncryptedTextField
from k12cloud.notifications.models import Notification
from k12cloud.tenancy import tenant_context
from privacy_requests.api.serializers import (
    RequestPersonalDetailSerializer,
    RequestRegisterSerializer,
)
from privacy_requests.fulfilment.services import FieldCorrection, correction_record
from privacy_requests.models import PrivacyRequest, RequestEvent, RequestMessage
from privacy_requests.queue.selectors import PERSONAL_COLUMNS
from privacy_requests.rules.models import OrganizationRuleSelection
from privacy_requests.services import (
    request_acknowledge,
    request_assign,
    request_extend,
    request_message_add,
    request_transition,
    request_verify,
)
from privacy_requests.tests.factories import received_request
from privacy_requests.tests.test_api import key_client
from privacy_requests.tests.test_queue import QUEUE_QUERIES
from privacy_requests.tests.test_request_views import EXPECTED_DETAIL_QUERIES
from privacy_requests.tracking.services import deadline_reminders_send
from privacy_requests.visibility import (
    BY_DIRECTION,
    BY_KIND,
    EVENT_PAYLOADS,
    MESSAGE_BODY_GROUPS,
    PERSONAL_GROUPS,
    PRIVACY_REQUEST_FIELDS,
    ROLE_READS,
    TABLES,
    FieldGroup,
    model_fields,
    request_access,
)
from tests.test_url_sweep import url_patterns

G = FieldGroup

# --- the rule table is complete -------------------------------------------------------------


@pytest.mark.parametrize("model", list(TABLES), ids=lambda m: m.__name__)
def test_every_model_field_has_a_rule(model: type[models.Model]) -> None:
    table = TABLES[model]
    fields = set(model_fields(model))
    assert fields - set(table) == set(), (
        f"classify these {model.__name__} fields in privacy_requests/visibility.py"
    )
    assert set(table) - fields == set(), "the rule table names fields that no longer exist"


@pytest.mark.parametrize("model", list(TABLES), ids=lambda m: m.__name__)
def test_every_encrypted_field_is_in_a_personal_group(model: type[models.Model]) -> None:
    table = TABLES[model]
    encrypted = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
    if model is not RequestEvent:  # the timeline holds no text: its payloads are by kind
        assert encrypted, "the models hold encrypted personal data"
    for name in encrypted:
        group = table[name]
        if group == BY_DIRECTION:
            assert set(MESSAGE_BODY_GROUPS.values()) <= PERSONAL_GROUPS
        else:
            assert group in PERSONAL_GROUPS, f"{model.__name__}.{name} is encrypted: personal"


def test_every_message_direction_has_a_group() -> None:
    assert set(MESSAGE_BODY_GROUPS) == set(RequestMessage.Direction.values)
    assert TABLES[RequestEvent]["data"] == BY_KIND


# Written out by hand, not read from ROLE_READS, so that loosening the rule takes two edits:
# the table and this test.
EVERY_PERSONAL_GROUP = {
    G.CONTACT,
    G.CHILD,
    G.DETAILS,
    G.EVIDENCE,
    G.REASONS,
    G.MESSAGES,
    G.INTERNAL_NOTES,
}
EXPECTED_READS: dict[Role, set[FieldGroup]] = {
    Role.ORG_ADMIN: {G.REGISTER, *EVERY_PERSONAL_GROUP},
    Role.PRIVACY_OFFICER: {G.REGISTER, *EVERY_PERSONAL_GROUP},
    Role.PRIVACY_STAFF: {G.REGISTER, *EVERY_PERSONAL_GROUP},
    Role.BILLING_CONTACT: set(),
    Role.VIEWER: {G.REGISTER},
}


def test_the_rule_table_is_the_reviewed_one() -> None:
    assert PERSONAL_GROUPS == EVERY_PERSONAL_GROUP
    assert {role: set(groups) for role, groups in ROLE_READS.items()} == EXPECTED_READS


def test_every_role_has_a_rule_consistent_with_the_permission_matrix() -> None:
    assert set(ROLE_READS) == set(Role)
    viewers = PERMISSION_MATRIX[Permission.REQUESTS_VIEW]
    workers = PERMISSION_MATRIX[Permission.REQUESTS_WORK]
    for role, groups in ROLE_READS.items():
        # a role that cannot open a request reads nothing of it
        assert (G.REGISTER in groups) == (role in viewers), role
        assert groups <= {G.REGISTER, *PERSONAL_GROUPS}, "no one reads the system group"
        # a role that works requests reads what the work needs
        if role in workers:
            assert groups >= PERSONAL_GROUPS, role


def test_the_api_and_the_register_follow_the_table() -> None:
    """The API's `personal` object holds exactly the personal fields of a request, the
    register fields none; the register export's personal columns are contact details."""
    personal = {n for n, g in PRIVACY_REQUEST_FIELDS.items() if g in PERSONAL_GROUPS}
    assert set(RequestPersonalDetailSerializer().fields) == personal
    register = set(RequestRegisterSerializer.Meta.fields) - {"personal", "binding_rule"}
    assert register <= {n for n, g in PRIVACY_REQUEST_FIELDS.items() if g == G.REGISTER}
    assert {PRIVACY_REQUEST_FIELDS[c] for c in PERSONAL_COLUMNS} == {G.CONTACT}


def _event_kinds_in_source() -> set[str]:
    """Every timeline kind the code writes: `_event(request, "<kind>", ...)`, `kind="<kind>"`
    given to `_transition(...)` or to `RequestEvent.objects.create(...)`."""
    kinds: set[str] = set()
    root = Path(settings.BASE_DIR)
    for path in root.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts or "migrations" in path.parts:
            continue
        text = path.read_text()
        if "_event(" not in text and "RequestEvent.objects.create" not in text:
            continue
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name == "_event" and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                kinds.add(node.args[1].value)
            creates_event = (
                name == "create"
                and isinstance(func, ast.Attribute)
                and ast.unparse(func.value) == "RequestEvent.objects"
            )
            if name == "_transition" or creates_event:
                for keyword in node.keywords:
                    # a kind forwarded from a variable is counted where it is a literal
                    if keyword.arg == "kind" and isinstance(keyword.value, ast.Constant):
                        kinds.add(keyword.value.value)
    return kinds


def test_every_timeline_kind_the_code_writes_has_a_payload_rule() -> None:
    kinds = _event_kinds_in_source()
    assert len(kinds) >= 15, kinds  # the scan finds the services' kinds
    assert kinds - set(EVENT_PAYLOADS) == set(), "classify these payload kinds"
    assert all(group in FieldGroup for keys in EVENT_PAYLOADS.values() for group in keys.values())


def test_an_unclassified_payload_key_is_shown_to_no_one() -> None:
    from privacy_requests.visibility import visible_payload

    data = {"method": "email", "surprise": "Rosalind"}
    for role in Role:
        shown = visible_payload("verified", data, request_access(role))
        assert "surprise" not in shown
    assert visible_payload("verified", data, request_access(Role.ORG_ADMIN)) == {"method": "email"}
    assert visible_payload("no-such-kind", data, request_access(Role.ORG_ADMIN)) == {}


# --- a request with every personal value --------------------------------------------------


@dataclass(frozen=True)
class Value:
    group: FieldGroup
    text: str


VALUES: dict[str, Value] = {
    "requester_name": Value(G.CONTACT, "Rosalind Quarrington"),
    "requester_email": Value(G.CONTACT, "rq.household@example.org"),
    "requester_phone": Value(G.CONTACT, "555-0142-7788"),
    "requester_address": Value(G.CONTACT, "12 Juniper Lane"),
    "subject_name": Value(G.CHILD, "Tobias Wexford"),
    "subject_school": Value(G.CHILD, "Maple Grove Elementary"),
    "subject_birth_date": Value(G.CHILD, "2014-05-09"),
    "details": Value(G.DETAILS, "reading assessment from spring term"),
    "verification_evidence": Value(G.EVIDENCE, "passport ending 4471"),
    "extension_reason": Value(G.REASONS, "archive retrieval from the warehouse"),
    "message_to": Value(G.MESSAGES, "we located the spring records"),
    "message_from": Value(G.MESSAGES, "thanks for the quick reply"),
    "internal_note": Value(G.INTERNAL_NOTES, "registrar Okafor to confirm"),
    "correction_before": Value(G.INTERNAL_NOTES, "grade recorded as C minus"),
    "correction_after": Value(G.INTERNAL_NOTES, "grade recorded as B plus"),
}
EVERYTHING = frozenset(VALUES)
CONTACT_IN_LISTS = frozenset({"requester_name", "requester_email"})


@dataclass
class Scenario:
    org: Organization
    request: PrivacyRequest
    worker: User


def scenario() -> Scenario:
    """A verified correction request, acknowledged (emailed), extended, assigned, with a
    message each way, an internal note, a recorded correction and a deadline escalation."""
    org = OrganizationFactory(slug="lincoln-usd", subdivision="CA")
    with tenant_context(org):
        OrganizationRuleSelection.objects.create(organization=org, rule_id="ccpa")
    admin = member(org, Role.ORG_ADMIN, email="ada.admin@lincoln.example", full_name="Ada Admin")
    worker = member(org, Role.PRIVACY_STAFF, email="pat.staff@lincoln.example")
    v = {name: value.text for name, value in VALUES.items()}
    pr = received_request(
        org,
        actor=admin,
        received_at=timezone.now() - timedelta(days=30),  # acknowledgement overdue
        request_type="correct",
        requester_name=v["requester_name"],
        requester_email=v["requester_email"],
        requester_phone=v["requester_phone"],
        requester_address=v["requester_address"],
        subject_name=v["subject_name"],
        subject_school=v["subject_school"],
        subject_birth_date=v["subject_birth_date"],
        details=v["details"],
    )
    with tenant_context(org):
        deadline_reminders_send(organization=org)  # an escalation to staff: bell and email
        request_verify(
            request=pr, actor=admin, method="in_person_id", evidence=v["verification_evidence"]
        )
        request_acknowledge(request=pr, actor=admin, message=v["message_to"])
        request_message_add(
            request=pr, actor=admin, direction="from_requester", body=v["message_from"]
        )
        request_message_add(request=pr, actor=admin, direction="internal", body=v["internal_note"])
        request_transition(request=pr, to_status="in_progress", actor=admin)
        request_extend(request=pr, actor=admin, reason=v["extension_reason"])
        request_assign(request=pr, assignee=worker, actor=admin)
        correction_record(
            organization=org,
            actor=admin,
            request=pr,
            record_name="SIS gradebook",
            corrections=[FieldCorrection("grade", v["correction_before"], v["correction_after"])],
        )
        assert Notification.objects.filter(organization=org).exists()
        # the request page's routing and flagged-dates panels show too (as after a rule
        # change and a routing from the platform organization)
        PrivacyRequest.objects.filter(pk=pr.pk).update(
            deadline_snapshot_stale_since=timezone.now(),
            routed_from_organization=OrganizationFactory(slug="k12-platform"),
            routed_from_reference="R-ORIG-0001",
            routed_at=timezone.now(),
        )
    return Scenario(org, pr, worker)


# --- the surfaces ---------------------------------------------------------------------------


def _body(response: HttpResponseBase) -> str:
    if isinstance(response, StreamingHttpResponse):
        return b"".join(response.streaming_content).decode()
    assert isinstance(response, HttpResponse)
    return response.content.decode()


def _url(name: str, s: Scenario, **kwargs: Any) -> str:
    route = next(route for n, route in url_patterns() if n == name)
    if "request_id" in route:
        kwargs["request_id"] = s.request.pk
    return reverse(name, kwargs={"org_slug": s.org.slug, **kwargs})


Fetch = Callable[[Client, Scenario], HttpResponseBase]


def get(name: str, query: str = "") -> Fetch:
    return lambda client, s: client.get(_url(name, s) + query)


def post_form(name: str, data: dict[str, str]) -> Fetch:
    return lambda client, s: client.post(_url(name, s), data, follow=True)


def post_json(name: str, data: dict[str, Any]) -> Fetch:
    return lambda client, s: client.post(_url(name, s), data, content_type="application/json")


@dataclass(frozen=True)
class Surface:
    url_name: str
    fetch: Fetch
    shows: frozenset[str]  # the values it shows to a role that reads everything
    email_search: bool = False  # a lookup by requester email: refused without contact access
    api: bool = False
    # the roles it shows `shows` to at all (None: every role), e.g. the dashboard's replies
    shown_to: frozenset[Role] | None = None


EMAIL = VALUES["requester_email"].text
SURFACES: dict[str, Surface] = {
    s.url_name + (" (email search)" if s.email_search else ""): s
    for s in [
        Surface("accounts:request_detail", get("accounts:request_detail"), EVERYTHING),
        Surface("accounts:request_queue", get("accounts:request_queue"), {"requester_name"}),
        Surface(
            "accounts:request_search",
            post_form("accounts:request_search", {"requester_email": EMAIL}),
            CONTACT_IN_LISTS,  # the address searched for stays in the filter form
            email_search=True,
        ),
        Surface(
            "accounts:request_search",
            post_form("accounts:request_search", {"request_type": "correct"}),
            frozenset({"requester_name"}),
        ),
        Surface(
            "accounts:request_export",
            lambda client, s: client.post(_url("accounts:request_export", s), {}),
            CONTACT_IN_LISTS,
        ),
        Surface(
            "accounts_api:request_list",
            get("accounts_api:request_list"),
            CONTACT_IN_LISTS,
            api=True,
        ),
        Surface(
            "accounts_api:request_list",
            get("accounts_api:request_list", f"?requester_email={EMAIL}"),
            CONTACT_IN_LISTS,
            email_search=True,
            api=True,
        ),
        Surface(
            "accounts_api:request_search",
            post_json("accounts_api:request_search", {"type": "correct"}),
            CONTACT_IN_LISTS,
            api=True,
        ),
        Surface(
            "accounts_api:request_search",
            post_json("accounts_api:request_search", {"requester_email": EMAIL}),
            CONTACT_IN_LISTS,
            email_search=True,
            api=True,
        ),
        Surface(
            "accounts_api:request_detail",
            get("accounts_api:request_detail"),
            EVERYTHING,
            api=True,
        ),
        # fulfilment: what fulfils the request (field names of corrections, never values)
        Surface("accounts:fulfilment", get("accounts:fulfilment"), frozenset()),
        # pages that are about requests without showing one: no personal value, for anyone
        # the dashboard: counts and references; the latest replies from requesters (who, and
        # the start of what they wrote) on the privacy officer's and staff's panel only
        Surface(
            "accounts:dashboard",
            get("accounts:dashboard"),
            frozenset({"requester_name", "message_from"}),
            shown_to=frozenset({Role.PRIVACY_OFFICER, Role.PRIVACY_STAFF}),
        ),
        Surface("accounts:privacy_metrics", get("accounts:privacy_metrics"), frozenset()),
        Surface(
            "accounts:privacy_metrics_export", get("accounts:privacy_metrics_export"), frozenset()
        ),
        Surface("accounts:audit_event_list", get("accounts:audit_event_list"), frozenset()),
        Surface(
            "accounts:audit_export",
            lambda client, s: client.post(_url("accounts:audit_export", s), {"format": "json"}),
            frozenset(),
        ),
        Surface("accounts:notification_list", get("accounts:notification_list"), frozenset()),
    ]
}

# Pages and actions that show a request only to roles that read every value of it (each
# role the permission table lets in reads everything: checked below). They act on a request
# or answer with one; a ZIP package is binary and not searched for text here.
FULL_READERS_ONLY = {
    "accounts:request_create",
    "accounts:request_verify",
    "accounts:request_acknowledge",
    "accounts:request_assign",
    "accounts:request_extend",
    "accounts:request_close",
    "accounts:request_transition",
    "accounts:request_duplicate",
    "accounts:request_message_add",
    "accounts:request_bulk_assign",
    "accounts:request_bulk_acknowledge",
    "accounts:request_route",
    "accounts:request_deadlines_review",
    "accounts:fulfilment_package",
    "accounts:fulfilment_package_download",
    "accounts:fulfilment_fulfil",
    "accounts:fulfilment_deletion",
    "accounts:fulfilment_correction",
    "accounts:fulfilment_evidence_add",
    "accounts:fulfilment_evidence_remove",
    "accounts:fulfilment_evidence_download",
    "accounts_api:request_evidence",
    "accounts_api:request_evidence_remove",
    # the request's SIS records (sources/) and vendor tasks (vendors/): personal data about
    # the child, for the roles that answer requests only
    "accounts:request_sis",
    "accounts:request_sis_confirm",
    "accounts:request_sis_deletion",
    "accounts_api:request_sis_search",
    "accounts_api:request_sis_confirm",
    "accounts_api:request_sis_deletion",
    "accounts_api:request_sis_records",
    "accounts:request_vendor_tasks",
    "accounts_api:request_intake",
    "accounts_api:request_acknowledge",
    "accounts_api:request_verify",
    "accounts_api:request_assign",
    "accounts_api:request_extend",
    "accounts_api:request_close",
    "accounts_api:request_transition",
    "accounts_api:request_duplicate",
    "accounts_api:request_message_add",
    "accounts_api:request_package_prepare",
    "accounts_api:request_package_download",
    "accounts_api:request_fulfil",
    "accounts_api:request_deletion_plan",
    "accounts_api:request_deletion_perform",
    "accounts_api:request_correction",
    "accounts_api:request_route",
}


def _shows_requests(name: str, route: str) -> bool:
    return (
        "<int:request_id>" in route
        or name.startswith(("accounts:request_", "accounts_api:request_", "accounts:fulfilment"))
        or name.startswith(("accounts:audit_", "accounts:privacy_metrics"))
    )


def test_every_url_that_shows_a_request_has_a_field_rule() -> None:
    names = {name for name, route in url_patterns() if _shows_requests(name, route)}
    covered = {s.url_name for s in SURFACES.values()} | FULL_READERS_ONLY
    assert names - covered == set(), "add these URLs to SURFACES or FULL_READERS_ONLY"
    assert FULL_READERS_ONLY - names == set(), "FULL_READERS_ONLY names URLs that are gone"


def test_actions_without_a_field_check_are_for_roles_that_read_everything() -> None:
    for name in FULL_READERS_ONLY:
        for role in ALLOWED[name]:
            assert ROLE_READS[role] >= PERSONAL_GROUPS, f"{name} lets {role} in: add a surface"


# --- every role against every surface -------------------------------------------------------


def expected_values(role: Role, surface: Surface) -> frozenset[str]:
    reads = EXPECTED_READS[role]
    if surface.shown_to is not None and role not in surface.shown_to:
        return frozenset()
    return frozenset(name for name in surface.shows if VALUES[name].group in reads)


def check(role: Role, s: Scenario, client: Client, surfaces: list[Surface]) -> list[str]:
    """Each surface's body holds exactly the role's values; returns what went wrong."""
    problems: list[str] = []
    for surface in surfaces:
        response = surface.fetch(client, s)
        body = _body(response)
        allowed = role in ALLOWED[surface.url_name]
        refused_search = surface.email_search and G.CONTACT not in EXPECTED_READS[role]
        label = f"{surface.url_name}{' (email)' if surface.email_search else ''} as {role}"
        if not allowed:
            if response.status_code not in (403, 404):
                problems.append(f"{label}: {response.status_code}, expected 403/404")
        elif refused_search:
            # a lookup of personal data: refused, and the request is not even named
            if surface.api and response.status_code != 403:
                problems.append(f"{label}: {response.status_code}, expected 403")
            if not surface.api and "Searching by requester email" not in body:
                problems.append(f"{label}: no form error refusing the email search")
            if s.request.reference in body:
                problems.append(f"{label}: the refused search names the request")
        elif response.status_code != 200:
            problems.append(f"{label}: {response.status_code}, expected 200")
        present = frozenset() if not allowed or refused_search else expected_values(role, surface)
        for name, value in VALUES.items():
            if name in present and value.text not in body:
                problems.append(f"{label}: {name} missing")
            elif name not in present and value.text in body:
                problems.append(f"{label}: shows {name}, which it must not")
    return problems


@pytest.mark.django_db
@pytest.mark.usefixtures("reference_rules")
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_role_reads_exactly_its_values_on_every_surface(role: Role) -> None:
    s = scenario()
    member(s.org, Role.PRIVACY_OFFICER)  # the deadline escalation's recipients aside
    client = sign_in(Client(), member(s.org, role))
    problems = check(role, s, client, list(SURFACES.values()))
    if role in PERMISSION_MATRIX[Permission.REQUESTS_VIEW]:
        # an API key with the role: the same rule as a signed-in member
        key = key_client(s.org, role)[0]
        problems += check(role, s, key, [x for x in SURFACES.values() if x.api])
    assert problems == []


@pytest.mark.django_db
@pytest.mark.usefixtures("reference_rules")
def test_a_viewer_sees_the_register_and_is_told_what_is_hidden() -> None:
    s = scenario()
    client = sign_in(Client(), member(s.org, Role.VIEWER))
    page = client.get(_url("accounts:request_detail", s)).content.decode()
    assert s.request.reference in page
    assert "Hidden for your role" in page and "Content hidden for your role" in page
    assert "assigned to" in page  # the assignee
    assert "Deadlines to review" in page and "Routed here" in page  # the panels render
    queue = client.get(_url("accounts:request_queue", s)).content.decode()
    assert s.request.reference in queue and "hidden for your role" in queue
    # the email filter is not offered to a role that may not search by it
    assert 'name="requester_email"' not in queue
    export = client.post(_url("accounts:request_export", s), {})
    rows = list(csv.reader(io.StringIO(_body(export))))
    assert "requester_email" not in rows[0] and rows[1][0] == s.request.reference
    # an export filtered by requester email is the same lookup: refused, nothing streamed
    refused = client.post(_url("accounts:request_export", s), {"requester_email": EMAIL})
    assert refused.status_code == 302 and not getattr(refused, "streaming", False)
    detail = client.get(_url("accounts_api:request_detail", s)).json()
    assert detail["personal"] is None and detail["messages"] is None
    assert {e["kind"] for e in detail["timeline"]} >= {"correction_recorded", "extended"}


@pytest.mark.django_db
@pytest.mark.usefixtures("reference_rules")
def test_every_payload_the_workflow_writes_is_classified() -> None:
    s = scenario()
    with tenant_context(s.org):
        events = list(RequestEvent.objects.filter(request=s.request))
    assert len(events) >= 8
    for event in events:
        rules = EVENT_PAYLOADS.get(event.kind)
        assert rules is not None, f"classify the payload kind {event.kind!r}"
        assert set(event.data) <= set(rules), f"classify {event.kind} keys {set(event.data)}"


# --- query counts of the redacted pages -----------------------------------------------------


def _queries(client: Client, url: str) -> int:
    client.get(url)  # warm: session and keys
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.django_db
@pytest.mark.usefixtures("reference_rules")
def test_a_viewer_s_pages_decrypt_nothing_and_their_query_counts_are_exact() -> None:
    """The viewer's request page and queue read no data keys (nothing is decrypted for
    them): one query fewer than a worker's, however long the thread or the queue; the request
    page one more fewer, as the vendor-tasks panel is for the roles that work requests."""
    s = scenario()
    with tenant_context(s.org):  # the flagged-dates panel's own queries aside
        PrivacyRequest.objects.filter(pk=s.request.pk).update(deadline_snapshot_stale_since=None)
    viewer = sign_in(Client(), member(s.org, Role.VIEWER))
    page, queue = _url("accounts:request_detail", s), _url("accounts:request_queue", s)
    few_page, few_queue = _queries(viewer, page), _queries(viewer, queue)
    with tenant_context(s.org):
        for n in range(5):
            request_message_add(request=s.request, actor=s.worker, direction="internal", body="n")
            received_request(s.org, requester_email=f"p{n}@example.org")
    assert _queries(viewer, page) == few_page == EXPECTED_DETAIL_QUERIES - 2
    assert _queries(viewer, queue) == few_queue == QUEUE_QUERIES - 1


@pytest.mark.django_db
@pytest.mark.usefixtures("reference_rules")
def test_a_redacted_request_hides_values_labels_and_related_managers() -> None:
    from privacy_requests.visibility import visible_request

    org = OrganizationFactory(slug="lincoln-usd", subdivision="CA")
    with tenant_context(org):
        OrganizationRuleSelection.objects.create(organization=org, rule_id="ccpa")
    pr = received_request(org, requester_name="Rosalind Quarrington")
    with tenant_context(org):
        pr = PrivacyRequest.objects.get(pk=pr.pk)
        seen = visible_request(pr, request_access(Role.VIEWER))
        assert seen.reference == pr.reference and seen.get_status_display()
        assert seen.requester_name is None and seen.get_relationship_display is None
        assert seen.messages is None and seen.events is None  # no way around the rule
        with pytest.raises(AttributeError):
            seen.requester_name = "changed"
        full = visible_request(pr, request_access(Role.PRIVACY_STAFF))
        assert full.requester_name == "Rosalind Quarrington"
        assert full.messages.count() == 0
