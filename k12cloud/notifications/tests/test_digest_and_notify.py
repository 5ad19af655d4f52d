"""notify(): bell notices and email by preference; digest_send(): one email, once a day."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from k12cloud.notifications.digest import DigestItem, DigestSection, digest_send
from k12cloud.notifications.models import Notification, OutboundEmail
from k12cloud.notifications.services import notification_preference_set, notify
from k12cloud.tenancy import tenant_context

pytestmark = pytest.mark.django_db
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


@pytest.fixture
def org(db: None) -> Organization:
    return OrganizationFactory.create(name="Lincoln USD", time_zone="America/Los_Angeles")


@pytest.fixture
def officer(org: Organization) -> User:
    return member(org, Role.PRIVACY_OFFICER, email="officer@lincoln.example")


def tell(org: Organization, user: User, title: str, *, commit: Any, **fields: Any) -> None:
    with tenant_context(org), commit(execute=True):
        notify(
            organization=org,
            recipients=[user],
            kind="reminder",
            title=title,
            url="https://portal.example/o/lincoln-usd/requests/1/",
            email_template="notifications/email/notice",
            **fields,
        )


def test_immediate_members_get_a_notice_and_an_email(
    org: Organization, officer: User, django_capture_on_commit_callbacks: Any
) -> None:
    tell(org, officer, "PR-7 is due Friday", commit=django_capture_on_commit_callbacks)
    [message] = mail.outbox
    assert message.subject == "PR-7 is due Friday"
    assert message.to == ["officer@lincoln.example"]
    with tenant_context(org):
        [notice] = Notification.objects.all()
    assert notice.digest_sent_at is not None  # emailed already: not for the digest


def test_a_dedupe_key_notifies_once(
    org: Organization, officer: User, django_capture_on_commit_callbacks: Any
) -> None:
    for _ in range(3):
        tell(
            org,
            officer,
            "PR-7 is due Friday",
            commit=django_capture_on_commit_callbacks,
            dedupe_key="ack:7:2026-12-04",
        )
    assert len(mail.outbox) == 1
    with tenant_context(org):
        assert Notification.objects.count() == 1


def test_digest_members_get_one_digest_with_their_notices_and_the_sections(
    org: Organization, officer: User, django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_context(org):
        notification_preference_set(organization=org, user=officer, delivery="digest")
    tell(org, officer, "PR-7 is due Friday", commit=django_capture_on_commit_callbacks)
    tell(org, officer, "PR-8 was assigned to you", commit=django_capture_on_commit_callbacks)
    tell(
        org,
        officer,
        "PR-9 is overdue",
        commit=django_capture_on_commit_callbacks,
        urgent=True,  # escalations are emailed at once, and stay in the digest
    )
    assert [m.subject for m in mail.outbox] == ["PR-9 is overdue"]
    mail.outbox.clear()
    # 7:00 in Los Angeles on Monday 7 December 2026 is 15:00 UTC
    morning = datetime(2026, 12, 7, 7, 0, tzinfo=LOS_ANGELES)
    sections = [
        DigestSection(
            title="Due this week",
            items=[DigestItem(text="PR-3: respond by Thu 10 Dec", url="https://portal.example/3")],
        ),
        DigestSection(title="Nothing here", items=[]),
    ]
    with time_machine.travel(morning, tick=False):
        with tenant_context(org), django_capture_on_commit_callbacks(execute=True):
            email = digest_send(organization=org, user=officer, extra_sections=sections)
        with tenant_context(org), django_capture_on_commit_callbacks(execute=True):
            again = digest_send(organization=org, user=officer, extra_sections=sections)
    assert email is not None and again is None
    [message] = mail.outbox
    assert message.subject == "Your k12cloud digest for Lincoln USD, 2026-12-07"
    for text in ("PR-7 is due Friday", "PR-8 was assigned to you", "PR-9 is overdue"):
        assert text in message.body
    assert "Due this week" in message.body and "PR-3: respond by Thu 10 Dec" in message.body
    assert "Nothing here" not in message.body
    with tenant_context(org):
        assert not Notification.objects.filter(digest_sent_at__isnull=True).exists()
        assert OutboundEmail.objects.filter(template="notifications/email/digest").count() == 1


def test_nothing_to_say_sends_no_digest(org: Organization, officer: User) -> None:
    with tenant_context(org):
        assert digest_send(organization=org, user=officer) is None
        assert (
            digest_send(
                organization=org, user=officer, extra_sections=[DigestSection("Due this week")]
            )
            is None
        )
    assert mail.outbox == []
