"""Deadline tracking: reminders before a deadline (on the binding rule's business days),
escalations after it (daily, until met or closed), once however often the sweep runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.celery import app
from k12cloud.notifications.models import Notification, OutboundEmail
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from privacy_requests.services import (
    request_acknowledge,
    request_assign,
    request_close,
    request_transition,
    request_verify,
)
from privacy_requests.tests.factories import received_request
from privacy_requests.tracking.services import deadline_reminders_send
from privacy_requests.tracking.tasks import deadlines_for_organization, sweep_deadlines

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

# Friday 13 November 2026, 10:00 in Los Angeles: 10 business days later, skipping
# Thanksgiving (Thursday 26 November), acknowledgement is due Monday 30 November.
RECEIVED = datetime(2026, 11, 13, 18, 0, tzinfo=UTC)
ACK_DUE = date(2026, 11, 30)
RESPOND_DUE = date(2026, 12, 28)  # 45 calendar days


def at_local_nine(day: date) -> datetime:
    """09:00 in Los Angeles (17:00 UTC in winter) on `day`."""
    return datetime(day.year, day.month, day.day, 17, 0, tzinfo=UTC)


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


@pytest.fixture
def officer(org: Organization) -> User:
    return member(org, Role.PRIVACY_OFFICER, email="olga@lincoln.example")


@pytest.fixture
def admin(org: Organization) -> User:
    return member(org, Role.ORG_ADMIN, email="ada@lincoln.example")


@pytest.fixture
def staff(org: Organization) -> User:
    return member(org, Role.PRIVACY_STAFF, email="sam@lincoln.example")


@pytest.fixture
def request_(org: Organization, officer: User, admin: User, staff: User) -> PrivacyRequest:
    request = received_request(org, received_at=RECEIVED, requester_name="Rosa Parent")
    assert (request.acknowledge_by, request.respond_by) == (ACK_DUE, RESPOND_DUE)
    return request


def sweep(org: Organization, day: date, hour_shift: int = 0) -> tuple[int, int]:
    """Run the sweep at 09:00 local on `day` (plus `hour_shift` hours); (reminders, escalations)."""
    at = at_local_nine(day) + timedelta(hours=hour_shift)
    with time_machine.travel(at, tick=False), tenant_context(org):
        result = deadline_reminders_send(organization=org)
    return result.reminders, result.escalations


def notices(org: Organization, kind: str | None = None) -> list[Notification]:
    with tenant_context(org):
        rows = Notification.objects.select_related("recipient").order_by("pk")
        if kind:
            rows = rows.filter(kind=kind)
        return list(rows)


def counts(org: Organization) -> tuple[int, int]:
    with tenant_context(org):
        return Notification.objects.count(), OutboundEmail.objects.count()


# --- reminders ------------------------------------------------------------------------------


def test_acknowledgement_reminder_fires_three_business_days_before_skipping_thanksgiving(
    org: Organization, officer: User, request_: PrivacyRequest
) -> None:
    # Monday 23rd: 4 business days left (Tue, Wed, Fri, Mon): nothing yet
    assert sweep(org, date(2026, 11, 23)) == (0, 0)
    # Tuesday 24th: Wed 25, Fri 27, Mon 30 (Thanksgiving skipped) are the last three
    assert sweep(org, date(2026, 11, 24)) == (1, 0)
    [notice] = notices(org)
    assert notice.kind == "deadline_reminder"
    assert notice.recipient == officer  # unassigned: the privacy officer
    assert notice.dedupe_key == f"ack-reminder:{request_.pk}:2026-11-30"
    assert notice.title == f"Reminder: acknowledge {request_.reference} (access) by 2026-11-30"
    # and not again on the following days
    assert sweep(org, date(2026, 11, 25)) == (0, 0)
    assert sweep(org, date(2026, 11, 27)) == (0, 0)


def test_a_monday_deadline_without_a_holiday_is_reminded_on_the_wednesday_before(
    org: Organization, officer: User, admin: User, staff: User
) -> None:
    # received Friday 6 November: due Monday 23 November (Veterans Day, Wed 11th, skipped);
    # with no holiday in the last week, the reminder comes on Wednesday 18th (Thu, Fri, Mon
    # left), where Thanksgiving week's came on the Tuesday
    request = received_request(org, received_at=RECEIVED - timedelta(days=7))
    assert request.acknowledge_by == date(2026, 11, 23)
    assert sweep(org, date(2026, 11, 17)) == (0, 0)
    assert sweep(org, date(2026, 11, 18)) == (1, 0)


def test_sweeping_twice_in_the_same_hour_sends_nothing_the_second_time(
    org: Organization, officer: User, admin: User, staff: User, request_: PrivacyRequest
) -> None:
    # a second request, due for its response reminder the same day, assigned to staff
    other = received_request(org, received_at=datetime(2026, 10, 16, 18, 0, tzinfo=UTC))
    with tenant_context(org):
        request_acknowledge(request=other, actor=admin)
        request_assign(request=other, assignee=staff, actor=admin)
    assert other.respond_by == date(2026, 11, 30)
    assert sweep(org, date(2026, 11, 24)) == (2, 0)
    first = counts(org)
    # a notice each, and (immediate delivery) an email each; and the assignment's to staff
    assert first == (3, 3)
    assert sweep(org, date(2026, 11, 24), hour_shift=0) == (0, 0)
    assert sweep(org, date(2026, 11, 24), hour_shift=1) == (0, 0)
    assert counts(org) == first
    [_assigned, _ack, respond] = notices(org)
    assert respond.recipient == staff  # assigned: the assignee only
    assert respond.dedupe_key == f"respond-reminder:{other.pk}:2026-11-30"


def test_response_reminder_seven_days_before(
    org: Organization, officer: User, admin: User, request_: PrivacyRequest
) -> None:
    with tenant_context(org):
        request_acknowledge(request=request_, actor=admin)
    assert sweep(org, date(2026, 12, 20)) == (0, 0)  # 8 days before
    assert sweep(org, date(2026, 12, 21)) == (1, 0)
    [notice] = notices(org)
    assert notice.dedupe_key == f"respond-reminder:{request_.pk}:2026-12-28"


def test_a_recomputed_deadline_gets_a_reminder_of_its_own(
    org: Organization, officer: User, request_: PrivacyRequest
) -> None:
    assert sweep(org, date(2026, 11, 24)) == (1, 0)
    with tenant_context(org):
        PrivacyRequest.objects.filter(pk=request_.pk).update(
            acknowledge_by=date(2026, 11, 27), next_due_on=date(2026, 11, 27)
        )
    assert sweep(org, date(2026, 11, 24), hour_shift=1) == (1, 0)
    keys = [n.dedupe_key for n in notices(org)]
    assert keys == [
        f"ack-reminder:{request_.pk}:2026-11-30",
        f"ack-reminder:{request_.pk}:2026-11-27",
    ]


def test_reminder_email_names_no_requester(
    org: Organization, officer: User, request_: PrivacyRequest
) -> None:
    sweep(org, date(2026, 11, 24))
    with tenant_context(org):
        [email] = OutboundEmail.objects.all()
        assert email.to == officer.email
        assert email.template == "privacy_requests/email/tracking/reminder"
        assert request_.reference in email.subject and "Rosa" not in email.subject
        assert "Rosa" not in email.body_text
        assert f"/o/lincoln-usd/requests/{request_.pk}/" in email.body_text
        assert "Monday 30 November 2026" in email.body_text


# --- escalations ----------------------------------------------------------------------------


def test_escalation_repeats_daily_while_overdue_and_stops_once_met(
    org: Organization, officer: User, admin: User, staff: User, request_: PrivacyRequest
) -> None:
    sweep(org, date(2026, 11, 24))  # the reminder
    assert sweep(org, date(2026, 11, 30)) == (0, 0)  # due today: not late yet
    # Tuesday 1 December: overdue; the officer and the admin, not privacy staff
    assert sweep(org, date(2026, 12, 1)) == (0, 2)
    escalations = notices(org, "deadline_escalation")
    assert {n.recipient for n in escalations} == {officer, admin}
    assert {n.dedupe_key for n in escalations} == {
        f"ack-overdue:{request_.pk}:2026-11-30:2026-12-01"
    }
    assert escalations[0].title.startswith(f"Overdue: acknowledge {request_.reference}")
    assert sweep(org, date(2026, 12, 1), hour_shift=3) == (0, 0)  # once a day
    assert sweep(org, date(2026, 12, 2)) == (0, 2)  # and again the next day
    with tenant_context(org):
        request_acknowledge(request=request_, actor=admin)
    assert sweep(org, date(2026, 12, 3)) == (0, 0)
    assert len(notices(org, "deadline_escalation")) == 4


def test_escalations_are_urgent_emails_even_for_digest_members(
    org: Organization, officer: User, admin: User, request_: PrivacyRequest
) -> None:
    from k12cloud.notifications.models import NotificationPreference

    with tenant_context(org):
        NotificationPreference.objects.create(
            organization=org, user=officer, delivery=NotificationPreference.Delivery.DIGEST
        )
    sweep(org, date(2026, 12, 1))
    with tenant_context(org):
        to = sorted(e.to for e in OutboundEmail.objects.filter(template__endswith="escalation"))
    assert to == sorted([officer.email, admin.email])


def test_response_escalation_stops_once_closed(
    org: Organization, officer: User, admin: User, request_: PrivacyRequest
) -> None:
    with tenant_context(org):
        request_acknowledge(request=request_, actor=admin)
    assert sweep(org, date(2026, 12, 29)) == (0, 2)
    [first, _] = notices(org, "deadline_escalation")
    assert first.dedupe_key == f"respond-overdue:{request_.pk}:2026-12-28:2026-12-29"
    with time_machine.travel(at_local_nine(date(2026, 12, 29)), tick=False), tenant_context(org):
        request_verify(request=request_, actor=admin, method="in_person_id")
        request_transition(request=request_, to_status="in_progress", actor=admin)
        request_close(request=request_, actor=admin, outcome="fulfilled", reason="")
    assert sweep(org, date(2026, 12, 30)) == (0, 0)


def test_each_escalation_writes_exactly_one_audit_event(
    org: Organization, officer: User, admin: User, request_: PrivacyRequest
) -> None:
    def escalated() -> list[AuditEvent]:
        with tenant_context(org):
            return list(AuditEvent.objects.filter(action=Action.REQUEST_DEADLINE_ESCALATED.value))

    sweep(org, date(2026, 12, 1))
    sweep(org, date(2026, 12, 1), hour_shift=1)
    [event] = escalated()
    assert event.changes == {
        "deadline": "acknowledge",
        "due_on": "2026-11-30",
        "overdue_days": 1,
        "recipients": 2,
    }
    sweep(org, date(2026, 12, 2))
    assert len(escalated()) == 2


# --- set-based ------------------------------------------------------------------------------


def test_one_query_finds_the_requests_however_many_there_are(
    org: Organization, officer: User, admin: User
) -> None:
    """Reads before any write: the requests in the window, the privacy members, the binding
    rules' calendars, whatever the number of requests (and requests far from a deadline are
    not loaded at all)."""
    for _ in range(3):
        received_request(org, received_at=RECEIVED)
    for _ in range(5):  # due in 2027: outside the window
        received_request(org, received_at=datetime(2026, 11, 20, 18, 0, tzinfo=UTC))
    with (
        time_machine.travel(at_local_nine(date(2026, 11, 10)), tick=False),
        tenant_context(org),
        CaptureQueriesContext(connection) as queries,
    ):
        deadline_reminders_send(organization=org)
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 1  # nothing due: no member or calendar query either
    assert '"next_due_on" <=' in selects[0]


def test_other_organizations_requests_are_not_touched(
    org: Organization, officer: User, request_: PrivacyRequest
) -> None:
    hudson = OrganizationFactory(slug="hudson-csd", time_zone="America/New_York")
    member(hudson, Role.PRIVACY_OFFICER)
    with time_machine.travel(at_local_nine(date(2026, 11, 24)), tick=False), tenant_context(hudson):
        assert deadline_reminders_send(organization=hudson).reminders == 0
    assert counts(org) == (0, 0)


# --- through Celery -------------------------------------------------------------------------


def test_the_tenant_task_runs_the_sweep(
    org: Organization, officer: User, request_: PrivacyRequest
) -> None:
    with time_machine.travel(at_local_nine(date(2026, 11, 24)), tick=False):
        assert deadlines_for_organization.apply(args=[org.pk]).get() == {
            "reminders": 1,
            "escalations": 0,
        }
        assert deadlines_for_organization.apply(args=[org.pk]).get() == {
            "reminders": 0,
            "escalations": 0,
        }


@pytest.fixture
def eager_celery() -> Iterator[None]:
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = previous


def test_the_beat_sweep_fans_out_one_task_per_organization(
    org: Organization, officer: User, request_: PrivacyRequest, eager_celery: None
) -> None:
    OrganizationFactory(slug="hudson-csd", time_zone="America/New_York")
    with time_machine.travel(at_local_nine(date(2026, 11, 24)), tick=False):
        assert sweep_deadlines.apply().get() == 2
    assert counts(org) == (1, 1)


def test_an_assignee_no_longer_active_falls_back_to_the_officers(
    org: Organization, officer: User, admin: User, staff: User, request_: PrivacyRequest
) -> None:
    from accounts.models import Membership

    with tenant_context(org):
        request_assign(request=request_, assignee=staff, actor=admin)
        Membership.objects.filter(user=staff).update(is_active=False)
    sweep(org, date(2026, 11, 24))
    assert [n.recipient for n in notices(org, "deadline_reminder")] == [officer]


def test_reads_before_the_writes_do_not_grow_with_the_requests(
    org: Organization, officer: User, admin: User
) -> None:
    """Three reads (requests in the window, privacy members, binding rules' calendars), then
    only the notices' own writes, whatever the number of requests due."""

    def reads(count: int) -> int:
        with tenant_context(org):
            PrivacyRequest.objects.all().delete()
        for _ in range(count):
            received_request(org, received_at=RECEIVED)
        with (
            time_machine.travel(at_local_nine(date(2026, 11, 24)), tick=False),
            tenant_context(org),
            CaptureQueriesContext(connection) as queries,
        ):
            assert deadline_reminders_send(organization=org).reminders == count
        sqls = [q["sql"] for q in queries.captured_queries]
        first_write = next(i for i, sql in enumerate(sqls) if sql.startswith("SAVEPOINT"))
        return len([sql for sql in sqls[:first_write] if sql.startswith("SELECT")])

    assert reads(1) == reads(6) == 3
