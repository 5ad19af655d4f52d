"""The triage queue: order, filters, blind-index search, keyset pages, badges, bulk actions,
the register export and exact query counts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

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
from k12cloud.encryption import keys
from k12cloud.tenancy import tenant_context
from privacy_requests.api.serializers import register_columns
from privacy_requests.deadlines.calendars import US_FEDERAL
from privacy_requests.models import PrivacyRequest
from privacy_requests.queue.selectors import (
    QUEUE_COLUMNS,
    QueueCursor,
    QueueFilter,
    business_days_between,
    due_badge,
    request_queue,
    request_queue_page,
)
from privacy_requests.services import (
    request_acknowledge,
    request_assign,
    request_receive,
    request_withdraw,
)
from privacy_requests.status import Status

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

NOW = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)  # Wednesday 10:00 in Los Angeles
TODAY = date(2026, 3, 4)


@pytest.fixture(autouse=True)
def pinned_time() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


@pytest.fixture
def admin(org: Organization) -> User:
    return member(org, Role.ORG_ADMIN, email="ada@lincoln.example", full_name="Ada Admin")


@pytest.fixture
def staff(org: Organization) -> User:
    return member(org, Role.PRIVACY_STAFF, email="sam@lincoln.example", full_name="Sam Staff")


@pytest.fixture
def viewer(org: Organization) -> User:
    return member(org, Role.VIEWER, email="vic@lincoln.example", full_name="Vic Viewer")


def receive(
    org: Organization,
    *,
    days_ago: int = 0,
    email: str = "",
    name: str = "Pat Parent",
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
            received_at=NOW - timedelta(days=days_ago),
        )


def queue_url(org: Organization, **params: Any) -> str:
    url = reverse("accounts:request_queue", kwargs={"org_slug": org.slug})
    if params:
        from urllib.parse import urlencode

        url += "?" + urlencode(params)
    return url


def page_references(org: Organization, filters: QueueFilter | None = None, **kw: Any) -> list[str]:
    with tenant_context(org):
        page = request_queue_page(organization=org, filters=filters, today=TODAY, **kw)
    return [r.reference for r in page.requests]


# --- order and filters -------------------------------------------------------------------------


def test_queue_is_sorted_by_the_earliest_open_deadline(org: Organization) -> None:
    newest = receive(org, days_ago=0)
    oldest = receive(org, days_ago=20)
    middle = receive(org, days_ago=5)
    assert oldest.next_due_on < middle.next_due_on < newest.next_due_on  # type: ignore[operator]
    assert page_references(org) == [oldest.reference, middle.reference, newest.reference]


def test_default_shows_open_requests_only_and_status_filters(org: Organization) -> None:
    open_request = receive(org)
    closed = receive(org, days_ago=1)
    with tenant_context(org):
        request_withdraw(request=closed)
    assert page_references(org) == [open_request.reference]
    assert page_references(org, QueueFilter(status="closed")) == [closed.reference]
    assert page_references(org, QueueFilter(status="all")) == [
        open_request.reference,
        closed.reference,  # no deadline: last
    ]
    assert page_references(org, QueueFilter(status=Status.WITHDRAWN)) == [closed.reference]
    assert page_references(org, QueueFilter(status=Status.RECEIVED)) == [open_request.reference]


def test_type_assignee_and_rule_filters(org: Organization, staff: User, admin: User) -> None:
    access = receive(org)
    deletion = receive(org, request_type="delete")
    with tenant_context(org):
        request_assign(request=deletion, assignee=staff, actor=admin)
    assert page_references(org, QueueFilter(request_type="delete")) == [deletion.reference]
    assert page_references(org, QueueFilter(assignee_id=staff.pk)) == [deletion.reference]
    assert page_references(org, QueueFilter(unassigned=True)) == [access.reference]
    rule = access.deadlines["binding_rule"]
    assert rule
    assert access.reference in page_references(org, QueueFilter(rule_id=rule))
    assert page_references(org, QueueFilter(rule_id="no-such-rule")) == []


def test_due_within_and_overdue_filters(org: Organization) -> None:
    fresh = receive(org)
    late = receive(org, days_ago=60)
    assert late.next_due_on < TODAY < fresh.next_due_on  # type: ignore[operator]
    assert page_references(org, QueueFilter(overdue=True)) == [late.reference]
    assert page_references(org, QueueFilter(due_within_days=0)) == [late.reference]
    days = (fresh.next_due_on - TODAY).days  # type: ignore[operator]
    assert page_references(org, QueueFilter(due_within_days=days - 1)) == [late.reference]
    assert page_references(org, QueueFilter(due_within_days=days)) == [
        late.reference,
        fresh.reference,
    ]


def test_email_search_uses_the_blind_index(org: Organization) -> None:
    mine = receive(org, email="pat@example.org")
    receive(org, email="other@example.org")
    receive(org)
    # normalized like the index: case and surrounding spaces do not matter
    found = page_references(org, QueueFilter(requester_email="  PAT@Example.org "))
    assert found == [mine.reference]
    assert page_references(org, QueueFilter(requester_email="nobody@example.org")) == []
    with tenant_context(org):
        stored = PrivacyRequest.objects.values_list("requester_email_index", flat=True)
        assert all("pat@" not in (value or "") for value in stored)


def test_email_search_on_the_page(org: Organization, admin: User) -> None:
    mine = receive(org, email="pat@example.org", name="Pat Parent")
    receive(org, email="other@example.org", name="Olive Other")
    client = sign_in(Client(), admin)
    # POSTed (the address never goes into a URL): redirected to an opaque search token
    search = reverse("accounts:request_search", kwargs={"org_slug": org.slug})
    response = client.post(search, {"requester_email": "pat@example.org"})
    assert response.status_code == 302 and "pat" not in response["Location"]
    assert "search=" in response["Location"]
    body = client.get(response["Location"]).content.decode()
    assert mine.reference in body and "Pat Parent" in body and "Olive Other" not in body
    # an address put in the URL by hand is ignored
    ignored = client.get(queue_url(org, requester_email="pat@example.org")).content.decode()
    assert "Olive Other" in ignored


def test_bad_filter_shows_a_field_error(org: Organization, admin: User) -> None:
    receive(org)
    client = sign_in(Client(), admin)
    search = reverse("accounts:request_search", kwargs={"org_slug": org.slug})
    response = client.post(search, {"due_within_days": "-3", "requester_email": "not-an-email"})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_due_within_days_error"' in body and 'id="id_requester_email_error"' in body
    assert 'aria-describedby="id_due_within_days_hint id_due_within_days_error"' in body
    assert "Correct the filters to see requests." in body


# --- keyset pages ------------------------------------------------------------------------------


def test_keyset_pages_cover_every_request_once_in_order(org: Organization) -> None:
    created = [receive(org, days_ago=d % 4) for d in range(7)]  # ties on next_due_on
    expected = [r.reference for r in sorted(created, key=lambda r: (r.next_due_on, r.pk))]
    seen: list[str] = []
    after = None
    while True:
        with tenant_context(org):
            page = request_queue_page(organization=org, after=after, size=3, today=TODAY)
        seen += [r.reference for r in page.requests]
        if page.next is None:
            break
        after = QueueCursor.decode(page.next.encode())
    assert seen == expected


def test_keyset_pages_continue_past_deadlines_into_closed_requests(org: Organization) -> None:
    a, b = receive(org), receive(org, days_ago=1)
    c, d = receive(org, days_ago=2), receive(org, days_ago=3)
    with tenant_context(org):
        request_withdraw(request=c)
        request_withdraw(request=d)
    every = QueueFilter(status="all")
    first = page_references(org, every, size=3)
    assert first == [b.reference, a.reference, c.reference]
    second = page_references(org, every, size=3, after=QueueCursor(None, c.pk))
    assert second == [d.reference]


def test_a_page_that_crosses_from_dated_into_undated_requests(org: Organization) -> None:
    dated = [receive(org, days_ago=d) for d in (3, 2, 1)]
    undated = [receive(org), receive(org)]
    with tenant_context(org):
        for request in undated:
            request_withdraw(request=request)
    every = QueueFilter(status="all")
    seen: list[str] = []
    after = None
    while True:
        with tenant_context(org):
            page = request_queue_page(
                organization=org, filters=every, after=after, size=2, today=TODAY
            )
        seen += [r.reference for r in page.requests]
        if page.next is None:
            break
        after = page.next
    # the second page ends the dated requests and starts the undated ones (a second query)
    assert seen == [r.reference for r in (*dated, *undated)]


def test_tampered_cursor_shows_the_first_page(org: Organization, admin: User) -> None:
    receive(org)
    assert QueueCursor.decode("not-a-cursor!") is None
    response = sign_in(Client(), admin).get(queue_url(org, after="bm9wZQ"))
    assert response.status_code == 200


def test_page_links(org: Organization, admin: User, monkeypatch: pytest.MonkeyPatch) -> None:
    from privacy_requests.queue import selectors as queue

    monkeypatch.setattr(queue, "PAGE_SIZE", 2)
    requests = [receive(org, days_ago=d) for d in range(3)]
    client = sign_in(Client(), admin)
    body = client.get(queue_url(org)).content.decode()
    assert 'rel="next"' in body
    assert requests[0].reference not in body  # the newest has the latest deadline: page 2


# --- badges ------------------------------------------------------------------------------------


def test_business_days_skip_weekends_and_holidays() -> None:
    # Friday 2026-07-03 is the observed Independence Day
    assert business_days_between(date(2026, 7, 1), date(2026, 7, 7), US_FEDERAL) == 3
    assert business_days_between(date(2026, 3, 4), date(2026, 3, 4), US_FEDERAL) == 0


def test_due_badges() -> None:
    wednesday = date(2026, 3, 4)
    assert due_badge(None, today=wednesday, calendar=US_FEDERAL).kind == "none"
    today = due_badge(wednesday, today=wednesday, calendar=US_FEDERAL)
    assert (today.kind, today.days) == ("today", 0)
    soon = due_badge(date(2026, 3, 6), today=wednesday, calendar=US_FEDERAL)
    assert (soon.kind, soon.days) == ("soon", 2)
    later = due_badge(date(2026, 3, 11), today=wednesday, calendar=US_FEDERAL)
    assert (later.kind, later.days) == ("later", 5)
    late = due_badge(date(2026, 2, 27), today=wednesday, calendar=US_FEDERAL)  # a Friday
    assert (late.kind, late.days) == ("overdue", 3)


def test_page_shows_badges_names_and_assignees(org: Organization, admin: User, staff: User) -> None:
    late = receive(org, days_ago=60, name="Lena Late")
    fresh = receive(org, name="Fred Fresh")
    with tenant_context(org):
        request_assign(request=fresh, assignee=staff, actor=admin)
    body = sign_in(Client(), admin).get(queue_url(org)).content.decode()
    assert "Lena Late" in body and "Fred Fresh" in body and "Sam Staff" in body
    assert "overdue by" in body and "business days left" in body
    assert body.index(late.reference) < body.index(fresh.reference)
    assert "Unassigned" in body


def test_each_row_reads_as_before(org: Organization, admin: User) -> None:
    """What a row says is worked out once per page (labels, badges, links): the same words,
    links and dates as the model's and the calendar's own, row by row."""
    late = receive(org, days_ago=60, name="Lena Late", request_type="delete")
    fresh = receive(org, name="Fred Fresh")
    body = sign_in(Client(), admin).get(queue_url(org)).content.decode()
    for made in (late, fresh):
        with tenant_context(org):
            made.refresh_from_db()
        url = reverse(
            "accounts:request_detail", kwargs={"org_slug": org.slug, "request_id": made.pk}
        )
        assert f'<a href="{url}">{made.reference}</a>' in body
        assert f"<td>{made.get_request_type_display()}</td>" in body
        assert f"<td>{made.get_status_display()}</td>" in body
        assert f">Select {made.reference}</label>" in body
        badge = due_badge(made.next_due_on, today=TODAY, calendar=US_FEDERAL)
        assert made.next_due_on is not None
        day = made.next_due_on.isoformat()
        assert f'<time datetime="{day}">{day}</time>' in body
        words = {
            "overdue": f"overdue by {badge.days} business day{'s' if badge.days != 1 else ''}",
            "later": f"{badge.days} business day{'s' if badge.days != 1 else ''} left",
            "soon": f"{badge.days} business day{'s' if badge.days != 1 else ''} left",
            "today": "due today",
        }[badge.kind]
        assert f'<span class="badge badge-{badge.kind}">{words}</span>' in body
    assert "Deletion" in body and "Access (a copy of the data)" in body


@pytest.mark.parametrize(
    "data",
    [
        None,
        "status=received&request_type=delete&assignee=unassigned&rule=ccpa",
        "status=bad",
        "due_within_days=12&overdue=on&due_this_week=on&unverified=on&requester_email=a@b.org",
        "due_within_days=-3&requester_email=not%20an%20<email>",
    ],
)
@pytest.mark.parametrize("language", ["en", "es"])
def test_filter_form_renders_as_djangos_own_widgets(data: str | None, language: str) -> None:
    """The filter form's widgets are written in Python (no template per widget, option and
    attribute list): the same HTML, character for character, as Django's own Select,
    NumberInput, CheckboxInput and EmailInput, with values, selected options, ticked boxes,
    hints and errors."""
    from django.http import QueryDict
    from django.utils import translation

    from privacy_requests.queue.forms import QueueFilterForm, WrittenInPython

    def rendered(djangos_own: bool) -> str:
        form = QueueFilterForm(
            QueryDict(data) if data is not None else None,
            workers=[("3", "Sam <Staff> & Co"), ("4", 'Ann "Quote" O\'Hara')],
            rule_ids=["ccpa", "ferpa"],
        )
        if djangos_own:
            for field in form.fields.values():
                assert isinstance(field.widget, WrittenInPython)
                # the Django widget class it stands in for (the same get_context)
                field.widget.__class__ = next(
                    c for c in type(field.widget).__mro__ if c.__module__ == "django.forms.widgets"
                )
        return "".join(f"{bound.widget_type}:{bound}" for bound in form)

    with translation.override(language):
        ours = rendered(djangos_own=False)
        assert ours == rendered(djangos_own=True)
    if data and "request_type=delete" in data:
        assert '<option value="delete" selected>' in ours
    if data and "overdue=on" in data:
        assert 'name="overdue" id="id_overdue" checked>' in ours
    assert "Sam &lt;Staff&gt; &amp; Co" in ours and "O&#x27;Hara" in ours


# --- the page's rows are the ORM's -----------------------------------------------------------


@pytest.mark.parametrize("columns", [QUEUE_COLUMNS, register_columns(), ()])
def test_page_rows_are_what_the_orm_reads(
    org: Organization, admin: User, staff: User, columns: tuple[str, ...]
) -> None:
    # _first reads the rows by id in SQL of its own: the instances must be the ORM's, field
    # for field (sealed values, JSON, deferred columns, the assignee or None)
    made = [receive(org, days_ago=n, email=f"p{n}@example.org", name=f"Pat {n}") for n in range(5)]
    with tenant_context(org):
        request_assign(request=made[1], assignee=staff, actor=admin)
        request_assign(request=made[3], assignee=admin, actor=admin)
        page = request_queue_page(organization=org, size=4, columns=columns)
        ours = page.requests
        theirs = list(
            request_queue(organization=org).only(*columns)[:4]
            if columns
            else (request_queue(organization=org)[:4])
        )
        assert [r.pk for r in ours] == [r.pk for r in theirs]
        assert page.next == QueueCursor.of(theirs[-1])
        for mine, orm in zip(ours, theirs, strict=True):
            assert mine.get_deferred_fields() == orm.get_deferred_fields()
            for field in PrivacyRequest._meta.concrete_fields:
                if field.attname not in orm.get_deferred_fields():
                    assert getattr(mine, field.attname) == getattr(orm, field.attname), field
            assert not mine._state.adding and mine._state.db == orm._state.db
            if "assignee" in columns or not columns:
                assignee = PrivacyRequest._meta.get_field("assignee")
                assert assignee.is_cached(mine)  # no query for it
                if orm.assignee is None:
                    assert mine.assignee is None
                else:
                    assert mine.assignee is not None
                    read = ("pk", "email", "full_name")
                    assert [getattr(mine.assignee, n) for n in read] == [
                        getattr(orm.assignee, n) for n in read
                    ]
                    assert mine.assignee.get_deferred_fields() == (
                        orm.assignee.get_deferred_fields()
                    )
        assert {r.requester_name for r in ours} <= {f"Pat {n}" for n in range(5)}
        assert all(isinstance(r.deadlines, dict) for r in ours if "deadlines" in columns)


# --- query counts ------------------------------------------------------------------------------


def _count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


# session, user, second factor; savepoint+set_config (user context); the memberships;
# savepoint+set_config (tenant context); the page's four queries (the organization's rules for
# the rule filter: digests and selection in one statement, the contract rules from the
# process cache; members for the assignee choices, one page of requests with their assignees,
# the organization's data keys for the names); release, twice, and the user context's
# clearing of the settings in the test's transaction (accounts/tests/test_views.py).
QUEUE_QUERIES = 13
# once a request that read the keys has committed, the process cache holds them (one fewer)
QUEUE_QUERIES_KEYS_CACHED = QUEUE_QUERIES - 1


def test_query_count_is_exact_and_independent_of_rows(
    org: Organization, admin: User, django_capture_on_commit_callbacks: Any
) -> None:
    client = sign_in(Client(), admin)
    receive(org)  # creates the organization's keys, so both runs read the same key rows
    with tenant_context(org):
        PrivacyRequest.objects.all().delete()
    empty = _count_queries(client, queue_url(org))
    staff = member(org, Role.PRIVACY_STAFF, email="s@lincoln.example")
    for index in range(60):
        request = receive(org, days_ago=index % 30, email=f"p{index}@example.org")
        if index % 3 == 0:
            with tenant_context(org):
                request_assign(request=request, assignee=staff, actor=admin)
    full = _count_queries(client, queue_url(org))
    assert empty == full == QUEUE_QUERIES
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _count_queries(client, queue_url(org))
        cached = _count_queries(client, queue_url(org))
    finally:
        keys.forget(org.pk)
    assert cached == QUEUE_QUERIES_KEYS_CACHED


# --- bulk actions ------------------------------------------------------------------------------


def bulk_url(org: Organization, action: str) -> str:
    return reverse(f"accounts:request_bulk_{action}", kwargs={"org_slug": org.slug})


def test_bulk_assign(org: Organization, admin: User, staff: User) -> None:
    first, second, other = receive(org), receive(org), receive(org)
    client = sign_in(Client(), admin)
    response = client.post(
        bulk_url(org, "assign"),
        {"requests": [first.pk, second.pk], "assignee": staff.pk, "return_status": "open"},
        follow=True,
    )
    assert "2 requests assigned to Sam Staff." in response.content.decode()
    with tenant_context(org):
        assignees = dict(PrivacyRequest.objects.values_list("pk", "assignee_id"))
        assigned = AuditEvent.objects.filter(action=Action.REQUEST_ASSIGNED).count()
    assert assignees == {first.pk: staff.pk, second.pk: staff.pk, other.pk: None}
    assert assigned == 2


def test_bulk_assign_all_on_page_and_refusals(org: Organization, admin: User, staff: User) -> None:
    open_request, closed = receive(org), receive(org)
    with tenant_context(org):
        request_withdraw(request=closed)
    client = sign_in(Client(), admin)
    response = client.post(
        bulk_url(org, "assign"),
        {"all_on_page": "on", "page_requests": [open_request.pk, closed.pk], "assignee": staff.pk},
        follow=True,
    )
    body = response.content.decode()
    assert "1 request assigned to Sam Staff." in body
    assert f"1 request was not changed: {closed.reference}: A closed request cannot be" in body
    with tenant_context(org):
        open_request.refresh_from_db()
        closed.refresh_from_db()
    assert open_request.assignee_id == staff.pk and closed.assignee_id is None


def test_bulk_assign_needs_an_assignee_who_works_requests(
    org: Organization, admin: User, viewer: User
) -> None:
    request = receive(org)
    client = sign_in(Client(), admin)
    response = client.post(
        bulk_url(org, "assign"), {"requests": [request.pk], "assignee": viewer.pk}, follow=True
    )
    assert "Select a valid choice" in response.content.decode()
    response = client.post(bulk_url(org, "assign"), {"assignee": admin.pk}, follow=True)
    assert "Select at least one request." in response.content.decode()


def test_bulk_acknowledge_reports_refusals(org: Organization, staff: User) -> None:
    fresh, done = receive(org), receive(org)
    with tenant_context(org):
        request_acknowledge(request=done, actor=staff)
    client = sign_in(Client(), staff)
    response = client.post(
        bulk_url(org, "acknowledge"), {"requests": [fresh.pk, done.pk]}, follow=True
    )
    body = response.content.decode()
    assert "1 request acknowledged." in body
    assert f"{done.reference}: This request was already acknowledged." in body
    with tenant_context(org):
        fresh.refresh_from_db()
    assert fresh.acknowledged_at is not None and fresh.status == Status.ACKNOWLEDGED


def test_bulk_actions_ignore_other_organizations_requests(
    org: Organization, admin: User, staff: User
) -> None:
    other_org = OrganizationFactory(slug="other-usd")
    theirs = receive(other_org)
    client = sign_in(Client(), admin)
    response = client.post(bulk_url(org, "acknowledge"), {"requests": [theirs.pk]}, follow=True)
    assert "1 selected request was not found." in response.content.decode()
    with tenant_context(other_org):
        theirs.refresh_from_db()
    assert theirs.acknowledged_at is None


@pytest.mark.parametrize(
    ("role", "action", "status"),
    [
        (Role.VIEWER, "assign", 403),
        (Role.VIEWER, "acknowledge", 403),
        (Role.PRIVACY_STAFF, "assign", 403),
        (Role.PRIVACY_STAFF, "acknowledge", 302),
        (Role.PRIVACY_OFFICER, "assign", 302),
    ],
)
def test_bulk_action_permissions(org: Organization, role: Role, action: str, status: int) -> None:
    user = member(org, role, email=f"{role}@lincoln.example")
    request = receive(org)
    response = sign_in(Client(), user).post(
        bulk_url(org, action), {"requests": [request.pk], "assignee": user.pk}
    )
    assert response.status_code == status


def test_queue_hides_bulk_controls_from_viewers(org: Organization, viewer: User) -> None:
    receive(org)
    body = sign_in(Client(), viewer).get(queue_url(org)).content.decode()
    assert 'name="requests"' not in body and "Export CSV" in body


# --- the register export -----------------------------------------------------------------------


def export(client: Client, org: Organization, **data: Any) -> tuple[Any, list[dict[str, str]]]:
    response = client.post(reverse("accounts:request_export", kwargs={"org_slug": org.slug}), data)
    assert response.status_code == 200
    assert response.streaming
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    return response, list(csv.DictReader(io.StringIO(text)))


def test_export_streams_the_register_with_one_audit_event(org: Organization, admin: User) -> None:
    first = receive(org, days_ago=3, email="pat@example.org", name="=HYPERLINK(1)")
    second = receive(org)
    response, rows = export(sign_in(Client(), admin), org)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert [r["reference"] for r in rows] == [first.reference, second.reference]
    assert rows[0]["requester_name"] == "'=HYPERLINK(1)"  # formula injection guard
    assert rows[0]["requester_email"] == "pat@example.org"
    assert rows[0]["respond_by"] == first.respond_by.isoformat()  # type: ignore[union-attr]
    with tenant_context(org):
        events = list(AuditEvent.objects.filter(action=Action.REQUESTS_EXPORTED))
    assert len(events) == 1
    assert events[0].changes == {
        "format": "csv",
        "personal_data": True,
        "filters": {"status": "open"},
    }


def test_viewer_export_has_no_personal_data(org: Organization, viewer: User) -> None:
    receive(org, email="pat@example.org", name="Pat Parent")
    _response, rows = export(sign_in(Client(), viewer), org)
    assert len(rows) == 1
    assert "requester_name" not in rows[0] and "requester_email" not in rows[0]
    assert "Pat Parent" not in str(rows) and "pat@example.org" not in str(rows)


def test_export_applies_filters_and_audits_them_without_the_email(
    org: Organization, admin: User
) -> None:
    mine = receive(org, email="pat@example.org")
    receive(org, email="other@example.org")
    _response, rows = export(sign_in(Client(), admin), org, requester_email="pat@example.org")
    assert [r["reference"] for r in rows] == [mine.reference]
    with tenant_context(org):
        event = AuditEvent.objects.get(action=Action.REQUESTS_EXPORTED)
    assert event.changes["filters"] == {"status": "open", "requester_email": True}
    assert "pat@example.org" not in str(event.changes)


def test_export_with_bad_filters_redirects_without_exporting(
    org: Organization, admin: User
) -> None:
    response = sign_in(Client(), admin).post(
        reverse("accounts:request_export", kwargs={"org_slug": org.slug}),
        {"due_within_days": "soon"},
    )
    assert response.status_code == 302
    with tenant_context(org):
        assert not AuditEvent.objects.filter(action=Action.REQUESTS_EXPORTED).exists()


def test_navigation_links_to_the_queue(org: Organization, admin: User) -> None:
    body = (
        sign_in(Client(), admin)
        .get(reverse("accounts:dashboard", kwargs={"org_slug": org.slug}))
        .content.decode()
    )
    assert queue_url(org) in body
