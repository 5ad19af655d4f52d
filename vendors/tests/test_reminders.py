"""Reminders before a vendor's due date and escalation after it: once each, whatever reruns."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from accounts.models import Organization
from audit.actions import Action
from k12cloud.notifications.models import Notification, OutboundEmail
from k12cloud.tenancy import tenant_context
from vendors.models import VendorTask
from vendors.reminders import SweepResult, vendor_tasks_sweep
from vendors.tasks import sweep_organization
from vendors.tests.factories import district_request, events, scene

pytestmark = pytest.mark.django_db

FORWARDED = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # Monday 09:00 in Los Angeles


def _sweep(org: Organization, when: datetime) -> SweepResult:
    with time_machine.travel(when, tick=False), tenant_context(org):
        return vendor_tasks_sweep(organization=org)


def test_reminders_go_three_days_before_once_by_link_or_by_notice() -> None:
    s = scene()
    pr = district_request(s.district, respond_by=date(2026, 6, 30))
    with time_machine.travel(FORWARDED, tick=False):
        portal_task, email_task = s.forward(pr, vendors=[s.on_portal, s.off_portal])
    # QuizCraft's terms: 30 days (1 April); BrightPath's: 45 days (16 April)
    assert (email_task.due_on, portal_task.due_on) == (date(2026, 4, 1), date(2026, 4, 16))
    early = _sweep(s.district, datetime(2026, 3, 28, 17, 0, tzinfo=UTC))
    assert (early.reminded, early.escalated) == (0, 0)
    first = _sweep(s.district, datetime(2026, 3, 29, 17, 0, tzinfo=UTC))
    again = _sweep(s.district, datetime(2026, 3, 29, 18, 0, tzinfo=UTC))
    assert (first.reminded, again.reminded) == (1, 0)
    with tenant_context(s.district):
        reminder = OutboundEmail.objects.get(template="vendors/email/task_reminder")
        old_hash = VendorTask.objects.get(pk=email_task.pk).link_token_hash
    assert reminder.to == "dpo@quizcraft.example"
    assert old_hash != email_task.link_token_hash  # a fresh link; the first one stops working
    _sweep(s.district, datetime(2026, 4, 13, 17, 0, tzinfo=UTC))
    with tenant_context(s.vendor_org):
        [notice] = Notification.objects.filter(kind="vendor_task_reminder")
    assert notice.recipient_id == s.vendor_staff.pk
    reminded = events(s.district, Action.VENDOR_TASK_REMINDED)
    assert [e.changes["with"] for e in reminded] == ["email", "notice"]


def test_an_overdue_task_is_escalated_to_the_district_once() -> None:
    s = scene()
    pr = district_request(s.district, respond_by=date(2026, 6, 30))
    with time_machine.travel(FORWARDED, tick=False):
        s.forward(pr, vendors=[s.off_portal])
    on_due_day = _sweep(s.district, datetime(2026, 4, 1, 20, 0, tzinfo=UTC))
    assert on_due_day.escalated == 0
    with time_machine.travel(datetime(2026, 4, 2, 17, 0, tzinfo=UTC), tick=False):
        assert sweep_organization(s.district.pk) == {"reminded": 0, "escalated": 1}
        assert sweep_organization(s.district.pk) == {"reminded": 0, "escalated": 0}
    [escalated] = events(s.district, Action.VENDOR_TASK_ESCALATED)
    assert escalated.changes["overdue_days"] == 1
    assert escalated.changes["recipients"] == 1  # the district's admin (no officer here)
    with tenant_context(s.district):
        assert Notification.objects.filter(kind="vendor_task_overdue").count() == 1


def test_answered_and_skipped_tasks_are_neither_reminded_nor_escalated() -> None:
    from vendors.services import vendor_task_skip

    s = scene()
    pr = district_request(s.district, respond_by=date(2026, 6, 30))
    with time_machine.travel(FORWARDED, tick=False):
        [task] = s.forward(pr, vendors=[s.off_portal])
    with tenant_context(s.district):
        vendor_task_skip(organization=s.district, actor=None, task=task, reason="Not needed")
    result = _sweep(s.district, datetime(2026, 4, 10, 17, 0, tzinfo=UTC))
    assert (result.reminded, result.escalated) == (0, 0)
