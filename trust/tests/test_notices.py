"""Notices: once per recipient however often publishing or the sweep is retried; reminders."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from billing.tests.factories import billing_contact
from k12cloud.notifications.models import Notification, OutboundEmail
from k12cloud.tenancy import tenant_context
from trust.models import MaintenanceWindow
from trust.notices import trust_notices_send, trust_notices_send_everywhere
from trust.services import (
    document_version_publish,
    maintenance_window_cancel,
    maintenance_window_schedule,
)
from trust.tests.factories import DPA_V2, draft

pytestmark = pytest.mark.django_db
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def notices(org, kind: str) -> Counter[str]:
    with tenant_context(org):
        return Counter(
            Notification.objects.filter(kind=kind).values_list("recipient__email", flat=True)
        )


def test_publishing_notifies_admins_and_billing_contacts_once_even_when_retried(
    django_capture_on_commit_callbacks,
) -> None:
    org = OrganizationFactory(slug="lincoln-usd")
    other = OrganizationFactory(slug="hudson-csd")
    member(org, Role.ORG_ADMIN, email="admin@lincoln.example")
    member(org, Role.BILLING_CONTACT, email="billing@lincoln.example")
    member(org, Role.VIEWER, email="viewer@lincoln.example")
    member(other, Role.ORG_ADMIN, email="admin@hudson.example")
    # billing contacts on record: one who is not a member, one who is (told once)
    billing_contact(org, email="ap@lincoln.example")
    billing_contact(org, email="billing@lincoln.example")
    with time_machine.travel(NOW, tick=False):
        version = draft(
            body=DPA_V2, material=True, effective_on=date(2027, 3, 31), summary="Deletion"
        )
        with django_capture_on_commit_callbacks(execute=True):
            document_version_publish(version_id=version.pk)
        with django_capture_on_commit_callbacks(execute=True):
            document_version_publish(version_id=version.pk)  # a retried click
        trust_notices_send_everywhere()  # a retried sweep
        with tenant_context(org):
            trust_notices_send(organization=org)
    assert notices(org, "trust_document_notice") == {
        "admin@lincoln.example": 1,
        "billing@lincoln.example": 1,
    }
    assert notices(other, "trust_document_notice") == {"admin@hudson.example": 1}
    to = Counter(address for message in mail.outbox for address in message.to)
    assert to == {
        "admin@lincoln.example": 1,
        "billing@lincoln.example": 1,
        "ap@lincoln.example": 1,
        "admin@hudson.example": 1,
    }
    message = next(m for m in mail.outbox if m.to == ["admin@lincoln.example"])
    assert message.subject == "Data Processing Addendum version 1 takes effect on 2027-03-31"
    assert "This is a material change." in message.body
    assert "/trust/dpa/v1/" in message.body
    with tenant_context(org):
        assert OutboundEmail.objects.count() == 3


def test_a_reminder_goes_out_seven_days_before_the_effective_date() -> None:
    org = OrganizationFactory()
    member(org, Role.ORG_ADMIN, email="admin@example.org")
    with time_machine.travel(NOW, tick=False):
        version = draft(material=True, effective_on=date(2027, 3, 31), summary="Change")
        document_version_publish(version_id=version.pk)
    for day, expected in ((date(2027, 3, 23), 0), (date(2027, 3, 24), 1), (date(2027, 3, 25), 1)):
        at = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
        with time_machine.travel(at, tick=False), tenant_context(org):
            trust_notices_send(organization=org)
        assert sum(notices(org, "trust_document_reminder").values()) == expected, day
    # nothing after it takes effect
    with time_machine.travel(datetime(2027, 4, 1, tzinfo=UTC), tick=False), tenant_context(org):
        assert trust_notices_send(organization=org).notices == 0


def test_maintenance_notices_everyone_again_when_moved_and_when_cancelled() -> None:
    org = OrganizationFactory(time_zone="America/New_York")
    member(org, Role.ORG_ADMIN, email="admin@example.org")
    member(org, Role.VIEWER, email="viewer@example.org")
    with time_machine.travel(NOW, tick=False):
        window = maintenance_window_schedule(
            window=MaintenanceWindow(
                starts_at=NOW + timedelta(days=8),
                ends_at=NOW + timedelta(days=8, hours=2),
                services=["web", "api"],
                summary="Database upgrade",
            )
        )
        with tenant_context(org):
            trust_notices_send(organization=org)
            trust_notices_send(organization=org)
        assert notices(org, "trust_maintenance_notice") == {
            "admin@example.org": 1,
            "viewer@example.org": 1,
        }
        with tenant_context(org):
            body = OutboundEmail.objects.filter(template="trust/email/maintenance_notice")[0]
            body = body.body_text
        assert "March 9, 2027, 7 a.m. (America/New_York)" in body  # 12:00 UTC, local time
        window.starts_at += timedelta(days=1)
        window.ends_at += timedelta(days=1)
        maintenance_window_schedule(window=window)
        with tenant_context(org):
            trust_notices_send(organization=org)
        assert sum(notices(org, "trust_maintenance_notice").values()) == 4
        maintenance_window_cancel(window_id=window.pk)
        with tenant_context(org):
            trust_notices_send(organization=org)
            trust_notices_send(organization=org)
        assert sum(notices(org, "trust_maintenance_cancelled").values()) == 2
    # 24 hours ahead of a window: the reminder, once
    with time_machine.travel(NOW, tick=False):
        second = maintenance_window_schedule(
            window=MaintenanceWindow(
                starts_at=NOW + timedelta(days=7, hours=1),
                ends_at=NOW + timedelta(days=7, hours=2),
                services=["web"],
                summary="Patch",
            )
        )
    with (
        time_machine.travel(second.starts_at - timedelta(hours=23), tick=False),
        tenant_context(org),
    ):
        trust_notices_send(organization=org)
        trust_notices_send(organization=org)
    assert sum(notices(org, "trust_maintenance_reminder").values()) == 2
