"""Age-based de-identification in ACTIVE organizations (retention.aging): closed requests,
files, notifications and inactive accounts, due by the organization's period; holds of each
kind respected; idempotent; counted in the dry run; run by the daily sweep."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from accounts.models import ApiKey, Invitation, Membership, Organization, User
from accounts.permissions import Role
from accounts.tests.factories import member
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.notifications.models import OutboundEmail
from k12cloud.notifications.services import email_enqueue
from k12cloud.tenancy import tenant_context
from privacy_requests.fulfilment.models import ResponsePackage
from privacy_requests.models import PrivacyRequest, RequesterToken, RequestEvent, RequestMessage
from privacy_requests.tests.factories import stored_request
from retention import tasks
from retention.aging import aging_plan, organization_age_out
from retention.engine import InjectedFailure
from retention.services import legal_hold_place, rule_set
from retention.tests.seeding import PERSONAL, new_organization

pytestmark = pytest.mark.django_db
CLOSED = datetime(2023, 1, 10, 12, 0, tzinfo=UTC)
THREE_YEARS = timedelta(days=3 * 365)
MESSAGE = "Ottoline asked about her daughter's bus records"
NOTE = "Phoned Mr Fairweather-Quill at home"


@dataclass
class Aging:
    organization: Organization
    admin: User
    closed: PrivacyRequest  # closed at CLOSED, with a message, an event, a token, a package
    other_closed: PrivacyRequest  # closed at CLOSED, nothing attached
    open: PrivacyRequest


def _closed_request(organization: Organization, **fields: object) -> PrivacyRequest:
    return stored_request(
        organization,
        request_type="deletion",
        status="fulfilled",
        outcome="fulfilled",
        closed_at=CLOSED,
        **{**PERSONAL, **fields},
    )


@pytest.fixture
def aging() -> Aging:
    with time_machine.travel(CLOSED, tick=False):
        org = new_organization(slug="aging-usd", name="Aging Unified")
        admin = member(org, Role.ORG_ADMIN, email="admin@aging.example", full_name="Ada Admin")
        closed = _closed_request(org, assignee=admin)
        other_closed = _closed_request(org)
        still_open = stored_request(org, **PERSONAL)
        with tenant_context(org):
            RequestMessage.objects.create(
                organization=org,
                request=closed,
                direction=RequestMessage.Direction.FROM_REQUESTER,
                body=MESSAGE,
            )
            RequestEvent.objects.create(
                organization=org, request=closed, kind="note", data={"note": NOTE}
            )
            RequesterToken.objects.create(
                organization=org,
                request=closed,
                purpose=RequesterToken.Purpose.PORTAL,
                token_hash=RequesterToken.hash_token("aging-token"),
                expires_at=CLOSED + timedelta(days=30),
            )
            ResponsePackage.objects.create(
                organization=org,
                request=closed,
                content="UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==",
                contents=[{"file": "requests.csv", "rows": 1}],
                sha256="0" * 64,
                size=22,
                expires_at=CLOSED + timedelta(days=30),
            )
            email = email_enqueue(
                organization=org,
                to=PERSONAL["requester_email"],
                template="retention/email/terminated",
                subject="A notice",
                context={"due_on": None},
                target=closed,
            )
            assert email is not None
            OutboundEmail.objects.filter(pk=email.pk).update(
                status=OutboundEmail.Status.SENT, sent_at=CLOSED
            )
    return Aging(org, admin, closed, other_closed, still_open)


def _request(aging: Aging, request: PrivacyRequest) -> PrivacyRequest:
    with tenant_context(aging.organization):
        return PrivacyRequest.objects.get(pk=request.pk)


def _personal_intact(aging: Aging, request: PrivacyRequest) -> bool:
    row = _request(aging, request)
    return (row.requester_name, row.requester_email, row.subject_name, row.details) == (
        PERSONAL["requester_name"],
        PERSONAL["requester_email"],
        PERSONAL["subject_name"],
        PERSONAL["details"],
    )


def _aged_out_events(org: Organization) -> int:
    with tenant_context(org):
        return AuditEvent.objects.filter(action=Action.RETENTION_AGED_OUT.value).count()


def _raw_columns(org: Organization) -> list[tuple[object, ...]]:
    """The stored bytes of every personal column aging touches (ciphertext, not decrypted)."""
    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, requester_name, requester_email, subject_name, details "
            "FROM privacy_requests_privacyrequest ORDER BY id"
        )
        rows = cursor.fetchall()
        cursor.execute("SELECT id, body FROM privacy_requests_requestmessage ORDER BY id")
        rows += cursor.fetchall()
        cursor.execute("SELECT id, data::text FROM privacy_requests_requestevent ORDER BY id")
        rows += cursor.fetchall()
        cursor.execute('SELECT id, "to", subject FROM notifications_outboundemail ORDER BY id')
        rows += cursor.fetchall()
    return rows


def test_a_day_before_the_period_nothing_changes_a_day_after_it_is_de_identified(
    aging: Aging,
) -> None:
    org = aging.organization
    with time_machine.travel(CLOSED + THREE_YEARS - timedelta(days=1), tick=False):
        done = organization_age_out(organization=org)
    assert done.per_category["privacy_requests"] == 0
    assert _personal_intact(aging, aging.closed) and _personal_intact(aging, aging.other_closed)
    assert _aged_out_events(org) == 0

    with time_machine.travel(CLOSED + THREE_YEARS + timedelta(days=1), tick=False):
        done = organization_age_out(organization=org)
    assert done.counts["privacy_requests.PrivacyRequest"] == 2
    assert done.counts["privacy_requests.ResponsePackage"] == 1
    assert done.counts["notifications.OutboundEmail"] == 1
    with tenant_context(org):
        row = PrivacyRequest.objects.get(pk=aging.closed.pk)
        assert (row.requester_name, row.requester_email, row.subject_name, row.details) == (
            "",
            "",
            "",
            "",
        )
        assert row.requester_email_index is None and row.subject_index is None
        # the statistics stay
        assert (row.request_type, row.status, row.outcome, row.closed_at) == (
            "deletion",
            "fulfilled",
            "fulfilled",
            CLOSED,
        )
        assert row.reference == aging.closed.reference
        assert [m.body for m in RequestMessage.objects.all()] == [""]
        assert [e.data for e in RequestEvent.objects.all()] == [{}]
        assert not RequesterToken.objects.exists()
        assert [p.content for p in ResponsePackage.objects.all()] == [""]
        assert [(e.to, e.subject, e.template) for e in OutboundEmail.objects.all()] == [
            ("", "", "retention/email/terminated")
        ]
        assert PrivacyRequest.objects.count() == 3  # counts kept
    assert _personal_intact(aging, aging.open)  # an open request is never due
    assert _aged_out_events(org) == 1
    with tenant_context(org):
        event = AuditEvent.objects.get(action=Action.RETENTION_AGED_OUT.value)
    assert event.changes["categories"]["privacy_requests"] == 2
    assert PERSONAL["requester_email"] not in str(event.changes)


def test_a_shortened_period_applies(aging: Aging) -> None:
    org = aging.organization
    with time_machine.travel(CLOSED, tick=False):
        rule_set(organization=org, actor=None, category="privacy_requests", days=365)
    with time_machine.travel(CLOSED + timedelta(days=364), tick=False):
        assert organization_age_out(organization=org).total == 0
    assert _personal_intact(aging, aging.closed)
    with time_machine.travel(CLOSED + timedelta(days=366), tick=False):
        done = organization_age_out(organization=org)
    assert done.per_category == {
        "privacy_requests": 2,
        "uploaded_files": 0,  # still the policy's 3 years
        "notifications": 0,
        "account_records": 0,
    }
    assert _request(aging, aging.closed).requester_name == ""
    with tenant_context(org):
        assert ResponsePackage.objects.get().content == "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="


def _hold(aging: Aging, **fields: object) -> None:
    legal_hold_place(
        organization=aging.organization,
        actor=None,
        reason="Litigation: Doe v. District",
        ends_on=(CLOSED + THREE_YEARS + timedelta(days=30)).date(),
        **fields,
    )


LATER = CLOSED + THREE_YEARS + timedelta(days=1)


def test_an_organization_hold_stops_everything(aging: Aging) -> None:
    with time_machine.travel(LATER, tick=False):
        _hold(aging, scope="organization")
        before = _raw_columns(aging.organization)
        plan = aging_plan(organization=aging.organization)
        done = organization_age_out(organization=aging.organization)
    assert plan.held and done.held and done.total == 0
    assert _raw_columns(aging.organization) == before
    assert _aged_out_events(aging.organization) == 0


def test_a_category_hold_skips_that_category_only(aging: Aging) -> None:
    with time_machine.travel(LATER, tick=False):
        _hold(aging, scope="category", category="privacy_requests")
        done = organization_age_out(organization=aging.organization)
    assert done.per_category["privacy_requests"] == 0
    assert done.counts["notifications.OutboundEmail"] == 1
    assert _personal_intact(aging, aging.closed) and _personal_intact(aging, aging.other_closed)


def test_a_request_hold_skips_that_request_and_its_files(aging: Aging) -> None:
    with time_machine.travel(LATER, tick=False):
        _hold(aging, scope="request", request=aging.closed)
        done = organization_age_out(organization=aging.organization)
    assert done.counts["privacy_requests.PrivacyRequest"] == 1
    assert done.counts["privacy_requests.ResponsePackage"] == 0
    assert done.counts["notifications.OutboundEmail"] == 0  # it is about the held request
    assert _personal_intact(aging, aging.closed)
    assert _request(aging, aging.other_closed).requester_name == ""
    with tenant_context(aging.organization):
        assert RequestMessage.objects.get().body == MESSAGE
        assert RequesterToken.objects.exists()


def test_a_user_hold_skips_that_users_requests_and_account_records(aging: Aging) -> None:
    with time_machine.travel(LATER, tick=False):
        _hold(aging, scope="user", user=aging.admin)
        done = organization_age_out(organization=aging.organization)
    assert _personal_intact(aging, aging.closed)  # assigned to the held admin
    assert _request(aging, aging.other_closed).requester_name == ""
    assert done.counts["accounts.Membership"] == 0
    assert done.counts["privacy_requests.PrivacyRequest"] == 1


def test_running_twice_changes_nothing_the_second_time(aging: Aging) -> None:
    with time_machine.travel(LATER, tick=False):
        first = organization_age_out(organization=aging.organization)
        after_first = _raw_columns(aging.organization)
        second = organization_age_out(organization=aging.organization)
    assert first.total > 0 and second.total == 0
    assert _raw_columns(aging.organization) == after_first
    assert _aged_out_events(aging.organization) == 1


def test_a_run_killed_half_way_finishes_on_the_next_one(aging: Aging) -> None:
    """Each chunk commits on its own: a run killed after the first chunk keeps that chunk,
    and the next run does the rest (and nothing twice)."""
    with time_machine.travel(LATER, tick=False):
        with (
            override_settings(RETENTION_FAIL_AFTER_CHUNKS=1),
            pytest.raises(InjectedFailure),
        ):
            organization_age_out(organization=aging.organization, chunk_size=1)
        assert _request(aging, aging.closed).requester_name == ""  # the first chunk
        assert _personal_intact(aging, aging.other_closed)
        assert (
            aging_plan(organization=aging.organization).counts["privacy_requests.PrivacyRequest"]
            == 1
        )
        rest = organization_age_out(organization=aging.organization, chunk_size=1)
        assert aging_plan(organization=aging.organization).total == 0
    assert rest.counts["privacy_requests.PrivacyRequest"] == 1
    assert _request(aging, aging.other_closed).requester_name == ""


def test_the_dry_run_counts_by_age_and_changes_nothing_the_real_run_does_it(aging: Aging) -> None:
    with time_machine.travel(LATER, tick=False):
        before = _raw_columns(aging.organization)
        out = io.StringIO()
        call_command("retention_run", "--dry-run", "--organization", "aging-usd", stdout=out)
        dry = out.getvalue().splitlines()
        assert _raw_columns(aging.organization) == before
        out = io.StringIO()
        call_command("retention_run", "--organization", "aging-usd", stdout=out)
        real = out.getvalue().splitlines()
    assert dry[0] == "aging-usd: active"
    assert "  due by age, privacy_requests: 2 rows" in dry
    assert "  due by age, uploaded_files: 1 rows" in dry
    assert "  due by age, notifications: 1 rows" in dry
    assert "  due by age, account_records: 1 rows" in dry  # the admin never signed in
    assert dry[-1] == "Dry run: nothing was changed."
    assert _aged_out_events(aging.organization) == 1
    assert real[: len(dry) - 1] == dry[:-1]
    assert real[-1] == "  de-identified by age: 5 rows"
    assert _request(aging, aging.closed).requester_name == ""


def test_the_daily_sweep_ages_out_active_organizations(aging: Aging, eager_celery: None) -> None:
    with time_machine.travel(LATER, tick=False):
        tasks.sweep.apply().get()
    assert _request(aging, aging.closed).requester_name == ""
    assert _aged_out_events(aging.organization) == 1


def test_inactive_members_lose_their_account_records_and_the_user_row_only_if_nowhere_else(
    aging: Aging,
) -> None:
    org = aging.organization
    with time_machine.travel(CLOSED, tick=False):
        elsewhere = new_organization(slug="elsewhere-usd")
        both = member(org, Role.VIEWER, email="both@aging.example", full_name="Bea Both")
        only = member(org, Role.VIEWER, email="only@aging.example", full_name="Olly Only")
        staff = member(org, Role.VIEWER, email="ops@k12cloud.example", is_staff=True)
        with tenant_context(elsewhere):
            Membership.objects.create(organization=elsewhere, user=both, role=Role.VIEWER)
        with tenant_context(org):
            Membership.objects.filter(user__in=[both, only, staff]).update(
                is_active=False, deactivated_at=CLOSED
            )
            for user in (both, only):
                Invitation.objects.create(
                    organization=org,
                    email=user.email,
                    role=Role.VIEWER,
                    token_hash=Invitation.hash_token(f"inv-{user.pk}"),
                    expires_at=CLOSED,
                    accepted_at=CLOSED,
                    accepted_by=user,
                )
            ApiKey.objects.create(
                organization=org,
                name="Bea's roster sync",
                role=Role.VIEWER,
                prefix="pbea",
                secret_hash="0" * 64,
                created_by=both,
            )
        User.objects.filter(pk__in=[both.pk, only.pk, staff.pk]).update(last_login=CLOSED)
    with time_machine.travel(CLOSED + THREE_YEARS - timedelta(days=1), tick=False):
        User.objects.filter(pk=aging.admin.pk).update(last_login=CLOSED + THREE_YEARS)
        assert organization_age_out(organization=org).per_category["account_records"] == 0
    with time_machine.travel(LATER, tick=False):
        done = organization_age_out(organization=org)
    assert done.counts["accounts.Membership"] == 3  # both, only, staff; not the active admin
    assert done.counts["accounts.User"] == 1
    with tenant_context(org):
        emails = sorted(Invitation.objects.values_list("email", flat=True))
        assert all(e.endswith("@deidentified.invalid") for e in emails) and len(emails) == 2
        assert ApiKey.objects.get(prefix="pbea").name == ""
    both.refresh_from_db()
    only.refresh_from_db()
    staff.refresh_from_db()
    aging.admin.refresh_from_db()
    assert (both.email, both.full_name) == ("both@aging.example", "Bea Both")  # works elsewhere
    assert only.email == f"deidentified-user-{only.pk}@deidentified.invalid"
    assert (only.full_name, only.is_active, only.has_usable_password()) == ("", False, False)
    assert staff.email == "ops@k12cloud.example"  # ops staff: never
    assert aging.admin.email == "admin@aging.example"
