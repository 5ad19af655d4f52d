"""The audit log's portal page (filters, keyset pages, query count), exports and ops admin."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, UserFactory, member, sign_in
from audit import views as audit_views
from audit.actions import Action
from audit.context import Actor, ActorKind, acting_as
from audit.models import AuditEvent
from audit.selectors import PAGE_SIZE, Cursor
from audit.services import record
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

pytestmark = pytest.mark.django_db

# session, user, second factor; savepoint + set_config (user context); the memberships;
# savepoint + set_config (tenant context); the page's three queries (members and API keys for
# the "who" filter, one page of events with actor names); release, twice, and the user
# context's clearing of the settings in the test's transaction (accounts/tests/test_views.py).
LIST_QUERIES = 12
NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


@pytest.fixture
def admin(org: Organization) -> User:
    return member(org, Role.ORG_ADMIN, email="ada@lincoln.example", full_name="Ada Admin")


@pytest.fixture
def admin_client(admin: User) -> Client:
    return sign_in(Client(), admin)


def list_url(org: Organization) -> str:
    return reverse("accounts:audit_event_list", kwargs={"org_slug": org.slug})


def export_url(org: Organization) -> str:
    return reverse("accounts:audit_export", kwargs={"org_slug": org.slug})


def by(user: User, ip: str = "198.51.100.7") -> Actor:
    return Actor(ActorKind.USER, user_id=user.pk, ip_address=ip, user_agent="Firefox")


def event(
    org: Organization | None,
    action: Action = Action.MEMBER_ROLE_CHANGED,
    *,
    actor: Actor | None = None,
    target: tuple[str, object] | None = ("accounts.membership", 7),
    changes: dict[str, object] | None = None,
) -> AuditEvent:
    with acting_as(actor or Actor.system("test")):
        if org is None:
            return record(action, organization=None, target=target, changes=changes)
        with tenant_context(org):
            return record(action, organization=org, target=target, changes=changes)


# The admin's own sign-in (the admin_client fixture) is on the organization's log too, as a
# member_security copy (audit.services.MEMBER_COPIES); the tests here are about other events.
SIGN_IN_COPY = "member_security."


def shown_ids(response: Any) -> list[int]:
    return [
        row["event"].pk
        for row in response.context["events"]
        if not row["event"].action.startswith(SIGN_IN_COPY)
    ]


def chunks_of(response: Any) -> list[bytes]:
    """The streamed body as the server sends it, chunk by chunk."""
    return list(response.streaming_content)


def all_events(action: Action) -> list[AuditEvent]:
    with unscoped_all_tenants(reason="test reads audit events"):
        return list(AuditEvent.objects.filter(action=action.value).order_by("pk"))


# --- the list page ----------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_the_page_shows_who_did_what_in_the_organizations_time_zone(
    org: Organization, admin: User, admin_client: Client
) -> None:
    event(
        org,
        actor=by(admin),
        changes={"role": {"from": "viewer", "to": "privacy_officer"}},
    )
    response = admin_client.get(list_url(org))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Ada Admin" in body and "ada@lincoln.example" in body
    assert "Role changed" in body and "members.role_changed" in body
    assert "Member #7" in body
    assert "role: viewer → privacy_officer" in body
    assert "198.51.100.7" in body
    assert "2026-03-02 10:00:00" in body  # 18:00 UTC in Los Angeles
    assert 'aria-current="page">Audit log</a>' in body


def test_only_the_organizations_own_events_are_listed(
    org: Organization, admin_client: Client
) -> None:
    own = event(org)
    event(OrganizationFactory(slug="hudson-csd"))
    event(None, Action.SIGNED_IN)  # a platform event: ops only
    assert shown_ids(admin_client.get(list_url(org))) == [own.pk]


@pytest.mark.parametrize("events_count", [0, 60])
def test_list_query_count(
    org: Organization,
    admin: User,
    admin_client: Client,
    events_count: int,
    django_assert_num_queries,
) -> None:
    key_holder = member(org, Role.VIEWER)
    for i in range(events_count):
        event(org, actor=by(key_holder if i % 2 else admin))
    with django_assert_num_queries(LIST_QUERIES):
        response = admin_client.get(list_url(org))
    assert response.status_code == 200
    # and the admin's own sign-in
    assert len(response.context["events"]) == min(events_count + 1, PAGE_SIZE)


def test_keyset_pages_walk_every_event_once_even_with_equal_times(
    org: Organization, admin_client: Client
) -> None:
    with time_machine.travel(NOW, tick=False):  # all at the same instant: the id breaks ties
        created = [event(org).pk for _ in range(PAGE_SIZE * 2 + 20)]
    # the admin's sign-in (today, after NOW) comes first
    (sign_in_copy,) = [e.pk for e in all_events(Action.MEMBER_SIGNED_IN)]
    newest_first = [sign_in_copy, *sorted(created, reverse=True)]

    def shown_ids(response: Any) -> list[int]:
        return [row["event"].pk for row in response.context["events"]]

    first = admin_client.get(list_url(org))
    assert shown_ids(first) == newest_first[:PAGE_SIZE]
    assert first.context["newer_query"] == ""
    second = admin_client.get(f"{list_url(org)}?{first.context['older_query']}")
    assert shown_ids(second) == newest_first[PAGE_SIZE : PAGE_SIZE * 2]
    third = admin_client.get(f"{list_url(org)}?{second.context['older_query']}")
    assert shown_ids(third) == newest_first[PAGE_SIZE * 2 :]
    assert third.context["older_query"] == ""
    assert "Older events" not in third.content.decode()

    back = admin_client.get(f"{list_url(org)}?{third.context['newer_query']}")
    assert shown_ids(back) == shown_ids(second)
    back = admin_client.get(f"{list_url(org)}?{back.context['newer_query']}")
    assert shown_ids(back) == newest_first[:PAGE_SIZE]
    assert back.context["newer_query"] == ""


def test_the_page_query_is_a_keyset_range_without_offset_or_count(
    org: Organization, admin_client: Client
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        event(org)
    cursor = Cursor.of(all_events(Action.MEMBER_ROLE_CHANGED)[-1]).encode()
    with CaptureQueriesContext(connection) as queries:
        admin_client.get(f"{list_url(org)}?older={cursor}")
    (page_query,) = [q["sql"] for q in queries if 'FROM "audit_auditevent"' in q["sql"]]
    assert "OFFSET" not in page_query and "COUNT(" not in page_query
    assert '"audit_auditevent"."occurred_at" <=' in page_query
    assert "LIMIT 51" in page_query


def test_a_tampered_cursor_shows_the_first_page(org: Organization, admin_client: Client) -> None:
    newest = event(org)
    response = admin_client.get(f"{list_url(org)}?older=not-a-cursor!!")
    assert response.status_code == 200 and shown_ids(response) == [newest.pk]


def test_filters_by_member_action_target_and_days_in_the_org_time_zone(
    org: Organization, admin: User, admin_client: Client
) -> None:
    other = member(org, Role.PRIVACY_OFFICER, email="olu@lincoln.example")
    # 2026-03-01 07:30 UTC is still February 28 in Los Angeles
    with time_machine.travel(datetime(2026, 3, 1, 7, 30, tzinfo=UTC), tick=False):
        late_feb = event(org, actor=by(admin))
    with time_machine.travel(datetime(2026, 3, 1, 9, 0, tzinfo=UTC), tick=False):
        march = event(org, actor=by(admin))
        by_other = event(org, actor=by(other))
        invited = event(
            org, Action.MEMBER_INVITED, actor=by(admin), target=("accounts.invitation", 3)
        )
    with time_machine.travel(datetime(2026, 3, 3, 9, 0, tzinfo=UTC), tick=False):
        later = event(org, actor=by(admin))

    def shown(**params: str) -> list[int]:
        return sorted(shown_ids(admin_client.get(list_url(org), params)))

    assert shown(actor=f"member:{other.pk}") == [by_other.pk]
    assert shown(action="members.invited") == [invited.pk]
    assert shown(target_type="accounts.invitation", target_id="3") == [invited.pk]
    assert shown(date_from="2026-03-01", date_to="2026-03-01") == sorted(
        [march.pk, by_other.pk, invited.pk]
    )
    assert shown(date_to="2026-02-28") == [late_feb.pk]
    assert shown(date_from="2026-03-02") == [later.pk]
    # the filters stay in the page links and the export form
    page = admin_client.get(list_url(org), {"action": "members.role_changed"}).content.decode()
    assert 'name="action" value="members.role_changed"' in page


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"actor": "member:abc"}, "actor"),
        ({"action": "members.promoted_to_god"}, "action"),
        ({"date_from": "2026-13-01"}, "date_from"),
        ({"date_from": "2026-03-02", "date_to": "2026-03-01"}, "date_to"),
        ({"target_id": "7"}, "target_type"),
        ({"target_type": "DROP TABLE"}, "target_type"),
    ],
)
def test_bad_filters_get_field_errors_and_no_events(
    org: Organization, admin_client: Client, params: dict[str, str], field: str
) -> None:
    event(org)
    response = admin_client.get(list_url(org), params)
    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    body = response.content.decode()
    assert f'id="id_{field}_error"' in body and 'aria-invalid="true"' in body
    assert f"id_{field}_error" in body.split(f'name="{field}"')[1].split(">")[0]
    assert response.context["events"] == []
    assert "Export CSV" not in body


def test_api_key_actors_are_shown_and_filterable(
    org: Organization, admin: User, admin_client: Client
) -> None:
    from accounts.api_keys import api_key_create

    created = api_key_create(
        organization=org, user=admin, name="SIS sync", role=Role.VIEWER, expires_at=None
    )
    keyed = event(org, actor=Actor(ActorKind.API_KEY, api_key_id=created.key.pk))
    event(org, actor=by(admin))
    response = admin_client.get(list_url(org), {"actor": f"key:{created.key.pk}"})
    assert shown_ids(response) == [keyed.pk]
    assert created.key.prefix in response.content.decode()


# --- exports ----------------------------------------------------------------------------------


def test_csv_export_streams_the_filtered_events_and_is_audited_once(
    org: Organization, admin: User, admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_views, "EXPORT_CHUNK_SIZE", 2)
    for _ in range(5):
        event(org, actor=by(admin), changes={"note": '=HYPERLINK("http://evil")'})
    event(org, Action.MEMBER_INVITED)
    response = admin_client.post(
        export_url(org), {"format": "csv", "action": "members.role_changed"}
    )
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-lincoln-usd-')
    # the export is recorded before the body is produced, in the request
    (exported,) = all_events(Action.AUDIT_EXPORTED)
    assert exported.organization_id == org.pk and exported.actor_user_id == admin.pk
    assert exported.changes == {"format": "csv", "filters": {"action": "members.role_changed"}}

    chunks = [c.decode() for c in chunks_of(response)]
    # header, then one chunk per two events
    assert len(chunks) == 1 + 3
    assert all(chunk.count("\r\n") <= 2 for chunk in chunks[1:])
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert len(rows) == 5 and {r["action"] for r in rows} == {"members.role_changed"}
    assert rows[0]["actor_email"] == "ada@lincoln.example"
    assert rows[0]["occurred_at"].endswith("+00:00")
    assert rows[0]["changes"].startswith("{")  # a JSON object, not a formula
    # a cell that starts a formula is neutralized
    assert audit_views.csv_cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert audit_views.csv_cell("-1+2") == "'-1+2" and audit_views.csv_cell("@SUM") == "'@SUM"
    assert audit_views.csv_cell("ok") == "ok"


def test_a_formula_in_any_exported_cell_is_neutralized(
    org: Organization, admin_client: Client
) -> None:
    event(org, actor=Actor(ActorKind.ANONYMOUS, user_agent="=cmd|' /C calc'!A0"))
    response = admin_client.post(export_url(org), {"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks_of(response)).decode())))
    (row,) = [r for r in rows if r["action"] == "members.role_changed"]
    assert row["user_agent"] == "'=cmd|' /C calc'!A0"


def test_json_export_is_one_streamed_array(
    org: Organization, admin: User, admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_views, "EXPORT_CHUNK_SIZE", 3)
    ids = [event(org, actor=by(admin)).pk for _ in range(4)]
    response = admin_client.post(export_url(org), {"format": "json", "actor": f"member:{admin.pk}"})
    assert response.streaming and response["Content-Type"] == "application/json"
    chunks = chunks_of(response)
    assert len(chunks) == 4  # "[", three events, one event, "]"
    data = json.loads(b"".join(chunks))
    # the export's own event (recorded before the body was read) matches the filter too, and
    # so does the admin's sign-in, the oldest
    assert data[-1]["action"] == "member_security.signed_in"
    assert [e["id"] for e in data][1:-1] == sorted(ids, reverse=True)
    assert data[0]["action"] == "audit.exported"
    assert data[1]["changes"] == {} and data[1]["actor_user_id"] == admin.pk


def test_an_empty_export_is_valid(org: Organization, admin_client: Client) -> None:
    response = admin_client.post(export_url(org), {"format": "json", "action": "members.invited"})
    assert json.loads(b"".join(chunks_of(response))) == []


def test_an_export_of_bad_filters_goes_back_to_the_errors(
    org: Organization, admin_client: Client
) -> None:
    response = admin_client.post(export_url(org), {"format": "csv", "date_from": "yesterday"})
    assert response.status_code == 302
    assert response["Location"] == f"{list_url(org)}?date_from=yesterday"
    assert all_events(Action.AUDIT_EXPORTED) == []
    page = admin_client.get(response["Location"])
    assert list(page.context["form"].errors) == ["date_from"]


def test_the_export_reads_only_its_organization(org: Organization, admin_client: Client) -> None:
    event(OrganizationFactory(slug="hudson-csd"), Action.MEMBER_INVITED)
    event(None, Action.SIGNED_IN)
    response = admin_client.post(export_url(org), {"format": "json"})
    data = json.loads(b"".join(chunks_of(response)))
    assert [e["action"] for e in data] == ["audit.exported", "member_security.signed_in"]


# --- the ops admin ----------------------------------------------------------------------------


@pytest.fixture
def ops_client() -> Client:
    return sign_in(Client(), UserFactory(email="ops@k12.example", is_staff=True, is_superuser=True))


def test_ops_see_every_organization_and_platform_event_read_only(
    org: Organization, ops_client: Client
) -> None:
    own = event(org)
    other = event(
        OrganizationFactory(slug="hudson-csd"),
        Action.MEMBER_INVITED,
        target=("accounts.invitation", 9),
    )
    platform = event(None, Action.SIGNED_IN, target=None)
    listing = ops_client.get("/admin/audit/auditevent/")
    assert listing.status_code == 200
    # (with the ops user's own sign-in, a platform event too)
    assert {own.pk, other.pk, platform.pk} <= {e.pk for e in listing.context["cl"].result_list}
    assert "Add audit event" not in listing.content.decode()

    filtered = ops_client.get("/admin/audit/auditevent/", {"action": "auth.signed_in"})
    assert platform.pk in {e.pk for e in filtered.context["cl"].result_list}
    assert {e.action for e in filtered.context["cl"].result_list} == {"auth.signed_in"}
    searched = ops_client.get("/admin/audit/auditevent/", {"q": "7"})
    assert {e.pk for e in searched.context["cl"].result_list} == {own.pk}

    detail = ops_client.get(f"/admin/audit/auditevent/{own.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert ops_client.post(f"/admin/audit/auditevent/{own.pk}/change/", {}).status_code == 403
    assert ops_client.get("/admin/audit/auditevent/add/").status_code == 403
    assert ops_client.post(f"/admin/audit/auditevent/{own.pk}/delete/").status_code == 403


def test_viewers_have_no_link_and_no_page(org: Organization) -> None:
    viewer = member(org, Role.VIEWER)
    client = sign_in(Client(), viewer)
    assert (
        "Audit log"
        not in client.get(
            reverse("accounts:dashboard", kwargs={"org_slug": org.slug})
        ).content.decode()
    )
    assert client.get(list_url(org)).status_code == 403
    assert client.post(export_url(org), {"format": "csv"}).status_code == 403
    assert all_events(Action.AUDIT_EXPORTED) == []


def test_a_deactivated_member_stays_in_the_who_filter(
    org: Organization, admin: User, admin_client: Client
) -> None:
    gone = member(org, Role.VIEWER, email="gone@lincoln.example")
    with tenant_context(org):
        Membership.objects.filter(user=gone).update(is_active=False)
    body = admin_client.get(list_url(org)).content.decode()
    assert f'value="member:{gone.pk}"' in body and "(deactivated)" in body
