"""The morning digest: at ~07:00 in the organization's time zone, once a day, per privacy
member, with their requests due this week and their notifications waiting for a digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from k12cloud.notifications.models import Notification, NotificationPreference, OutboundEmail
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from privacy_requests.services import request_assign
from privacy_requests.tests.factories import received_request
from privacy_requests.tracking.digest import digest_send_due
from privacy_requests.tracking.tasks import digest_for_organization

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

# Acknowledgement due Monday 30 November 2026 (received Friday 13th, Thanksgiving skipped).
RECEIVED = datetime(2026, 11, 13, 18, 0, tzinfo=UTC)
# 07:00 in Los Angeles on Tuesday 24 November (15:00 UTC)
SEVEN_LA = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


@pytest.fixture
def people(org: Organization) -> dict[str, User]:
    return {
        "officer": member(org, Role.PRIVACY_OFFICER, email="olga@lincoln.example"),
        "staff": member(org, Role.PRIVACY_STAFF, email="sam@lincoln.example"),
        "admin": member(org, Role.ORG_ADMIN, email="ada@lincoln.example"),
        "viewer": member(org, Role.VIEWER, email="vic@lincoln.example"),
    }


@pytest.fixture
def requests_(org: Organization, people: dict[str, User]) -> dict[str, PrivacyRequest]:
    unassigned = received_request(org, received_at=RECEIVED, requester_name="Rosa Parent")
    assigned = received_request(org, received_at=RECEIVED)
    later = received_request(org, received_at=RECEIVED + timedelta(days=14))  # due in December
    with tenant_context(org):
        request_assign(request=assigned, assignee=people["staff"], actor=people["admin"])
        request_assign(request=later, assignee=people["staff"], actor=people["admin"])
    return {"unassigned": unassigned, "assigned": assigned, "later": later}


def send(org: Organization, at: datetime) -> int:
    with time_machine.travel(at, tick=False), tenant_context(org):
        return digest_send_due(organization=org)


def digests(org: Organization) -> dict[str, OutboundEmail]:
    with tenant_context(org):
        rows = list(OutboundEmail.objects.filter(template__endswith="/digest"))
        for row in rows:
            _ = (row.to, row.body_text)
    return {row.to: row for row in rows}


def test_sent_at_seven_local_once_a_day(
    org: Organization, people: dict[str, User], requests_: dict[str, PrivacyRequest]
) -> None:
    assert send(org, SEVEN_LA - timedelta(minutes=30)) == 0  # 06:30 in Los Angeles
    assert send(org, SEVEN_LA + timedelta(minutes=5)) == 2  # officer and staff
    assert send(org, SEVEN_LA + timedelta(minutes=50)) == 0
    assert send(org, SEVEN_LA + timedelta(hours=2)) == 0
    assert send(org, SEVEN_LA + timedelta(days=1)) == 2  # the next morning
    assert len(digests(org)) == 2
    with tenant_context(org):
        assert OutboundEmail.objects.filter(template__endswith="/digest").count() == 4


def test_a_missed_seven_oclock_run_still_sends_that_morning_but_not_at_night(
    org: Organization, people: dict[str, User], requests_: dict[str, PrivacyRequest]
) -> None:
    assert send(org, SEVEN_LA + timedelta(hours=5)) == 0  # noon: too late for a morning digest
    assert send(org, SEVEN_LA + timedelta(hours=2)) == 2  # 09:00


def test_each_member_sees_their_own_and_officers_the_unassigned(
    org: Organization, people: dict[str, User], requests_: dict[str, PrivacyRequest]
) -> None:
    send(org, SEVEN_LA)
    sent = digests(org)
    assert set(sent) == {"olga@lincoln.example", "sam@lincoln.example"}  # nothing for the admin
    officer, staff = sent["olga@lincoln.example"], sent["sam@lincoln.example"]
    unassigned, assigned = requests_["unassigned"].reference, requests_["assigned"].reference
    assert unassigned in officer.body_text and assigned not in officer.body_text
    assert "Unassigned, due within 7 days" in officer.body_text
    assert assigned in staff.body_text and unassigned not in staff.body_text
    assert requests_["later"].reference not in staff.body_text  # due next month
    assert "(access): acknowledge by Mon 30 Nov 2026, 3 business days left" in staff.body_text
    assert "Assigned to you, due within 7 days" in staff.body_text
    assert officer.subject == "Your k12cloud digest for Lincoln USD, 2026-11-24"
    assert officer.dedupe_key == f"digest:{people['officer'].pk}:2026-11-24"
    assert "Rosa" not in officer.body_text


def test_time_zone_decides_the_hour(people: dict[str, User]) -> None:
    hudson = OrganizationFactory(slug="hudson-csd", time_zone="America/New_York")
    officer = member(hudson, Role.PRIVACY_OFFICER)
    received_request(hudson, received_at=RECEIVED)
    # 07:00 in Los Angeles is 10:00 in New York: within its morning window, but New York's
    # 07:00 (12:00 UTC) is when it goes
    assert send(hudson, SEVEN_LA - timedelta(hours=4)) == 0  # 06:00 in New York
    assert send(hudson, SEVEN_LA - timedelta(hours=3)) == 1
    with tenant_context(hudson):
        assert OutboundEmail.objects.get().to == officer.email


def test_digest_members_get_their_waiting_notifications_once(
    org: Organization, people: dict[str, User], requests_: dict[str, PrivacyRequest]
) -> None:
    admin = people["admin"]
    with tenant_context(org):
        NotificationPreference.objects.create(
            organization=org, user=admin, delivery=NotificationPreference.Delivery.DIGEST
        )
        notice = Notification.objects.create(
            organization=org,
            recipient=admin,
            kind="deadline_reminder",
            title="Reminder: acknowledge R-TEST-0001 (access) by 2026-11-30",
            url="/o/lincoln-usd/requests/1/",
        )
    send(org, SEVEN_LA)
    body = digests(org)["ada@lincoln.example"].body_text
    assert "Reminder: acknowledge R-TEST-0001 (access) by 2026-11-30" in body
    assert "/o/lincoln-usd/requests/1/" in body
    with tenant_context(org):
        notice.refresh_from_db()
    assert notice.digest_sent_at == SEVEN_LA
    # tomorrow there is nothing left for the admin
    send(org, SEVEN_LA + timedelta(days=1))
    with tenant_context(org):
        admin_digests = [e for e in OutboundEmail.objects.all() if e.to == admin.email]
    assert len(admin_digests) == 1


def test_the_tenant_task_sends_the_digest(
    org: Organization, people: dict[str, User], requests_: dict[str, PrivacyRequest]
) -> None:
    with time_machine.travel(SEVEN_LA, tick=False):
        assert digest_for_organization.apply(args=[org.pk]).get() == 2
        assert digest_for_organization.apply(args=[org.pk]).get() == 0


def test_overdue_requests_lead_the_digest(
    org: Organization, people: dict[str, User], requests_: dict[str, PrivacyRequest]
) -> None:
    send(org, SEVEN_LA + timedelta(days=7))  # Tuesday 1 December: the 30th has passed
    officer = digests(org)["olga@lincoln.example"].body_text
    reference = requests_["unassigned"].reference
    assert f"{reference} (access): acknowledge by Mon 30 Nov 2026, overdue by 1 business day" in (
        officer
    )
