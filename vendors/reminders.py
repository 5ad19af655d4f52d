"""Reminders before a vendor task's due date, escalation to the district when it passes.

Run hourly by the beat (`vendors.tasks.sweep`), one task per organization (the district that
owns the tasks). Idempotent: each task is reminded once (`reminded_at`) and escalated once
(`escalated_at`), both set under a row lock in the transaction that sends, so a sweep that
runs twice, or is killed half way, leaves the same result as one clean run.

- Reminder, REMIND_DAYS_BEFORE calendar days before the due date (or later, while not yet
  due): an off-portal vendor gets a fresh single-use link by email (its older link stops
  working); a vendor organization here gets a notice in its members' bells (and email by their
  preference), in its own tenant. Audited on the district's chain (VENDOR_TASK_REMINDED).
- Escalation, the day after the due date: the district's privacy officers and admins are
  notified (urgent: emailed even to digest readers). VENDOR_TASK_ESCALATED.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization, User
from accounts.permissions import Role
from audit.actions import Action
from audit.services import record
from k12cloud.notifications.models import Notification
from k12cloud.notifications.services import notify
from k12cloud.tenancy import tenant_context
from vendors.models import TaskStatus, VendorTask, VendorTaskReceipt
from vendors.selectors import today_for
from vendors.services import vendor_task_link_send

REMIND_DAYS_BEFORE = 3
_ANSWERING_ROLES = (Role.ORG_ADMIN, Role.PRIVACY_OFFICER, Role.PRIVACY_STAFF)
_ESCALATION_ROLES = (Role.ORG_ADMIN, Role.PRIVACY_OFFICER)


@dataclass
class SweepResult:
    reminded: int = 0
    escalated: int = 0


def _members(organization: Organization, roles: tuple[Role, ...]) -> list[Membership]:
    return list(
        Membership.objects.for_organization(organization)
        .filter(is_active=True, user__is_active=True, role__in=[r.value for r in roles])
        .select_related("user")
        .order_by("user_id")
    )


def _absolute(path: str) -> str:
    from django.conf import settings

    return settings.PORTAL_BASE_URL.rstrip("/") + path


def vendor_tasks_sweep(*, organization: Organization) -> SweepResult:
    """Send the reminders and escalations due today (the organization's local date)."""
    today = today_for(organization)
    result = SweepResult()
    due_soon = list(
        VendorTask.objects.for_organization(organization)
        .filter(
            status=TaskStatus.OPEN,
            reminded_at__isnull=True,
            due_on__gte=today,
            due_on__lte=today + timedelta(days=REMIND_DAYS_BEFORE),
        )
        .values_list("pk", flat=True)
    )
    overdue = list(
        VendorTask.objects.for_organization(organization)
        .filter(status=TaskStatus.OPEN, escalated_at__isnull=True, due_on__lt=today)
        .values_list("pk", flat=True)
    )
    for task_id in due_soon:
        with transaction.atomic():
            task = _locked(organization, task_id)
            if task is None or task.reminded_at is not None:
                continue
            _remind(organization, task)
            result.reminded += 1
    if overdue:
        people = [m.user for m in _members(organization, _ESCALATION_ROLES)]
        for task_id in overdue:
            with transaction.atomic():
                task = _locked(organization, task_id)
                if task is None or task.escalated_at is not None:
                    continue
                _escalate(organization, task, people, today)
                result.escalated += 1
    return result


def _locked(organization: Organization, task_id: int) -> VendorTask | None:
    return (
        VendorTask.objects.for_organization(organization)
        .select_for_update()
        .select_related("vendor", "request")
        .filter(pk=task_id, status=TaskStatus.OPEN)
        .first()
    )


def _remind(organization: Organization, task: VendorTask) -> None:
    task.reminded_at = timezone.now()
    task.save(update_fields=["reminded_at"])
    if task.receipt_organization is None:
        vendor_task_link_send(organization=organization, task=task, reason="reminder")
        told = "email"
    else:
        vendor = task.receipt_organization
        with tenant_context(vendor):
            receipt = (
                VendorTaskReceipt.objects.for_organization(vendor)
                .filter(from_organization=organization, from_task_reference=task.reference)
                .first()
            )
            people = [m.user for m in _members(vendor, _ANSWERING_ROLES)]
            if receipt is not None and people:
                path = reverse(
                    "accounts:vendor_receipt",
                    kwargs={"org_slug": vendor.slug, "receipt_id": receipt.pk},
                )
                notify(
                    organization=vendor,
                    recipients=people,
                    kind="vendor_task_reminder",
                    title=_("Reminder: task %(reference)s from %(district)s is due by %(date)s")
                    % {
                        "reference": receipt.reference,
                        "district": organization.name,
                        "date": task.due_on.isoformat(),
                    },
                    url=path,
                    target=receipt,
                    dedupe_key=f"vendor-task-reminder:{receipt.pk}",
                )
        told = "notice"
    record(
        Action.VENDOR_TASK_REMINDED,
        organization=organization,
        target=task,
        changes={"vendor": task.vendor.name, "due_on": task.due_on.isoformat(), "with": told},
    )


def _escalate(
    organization: Organization, task: VendorTask, people: list[User], today: date
) -> None:
    task.escalated_at = timezone.now()
    task.save(update_fields=["escalated_at"])
    path = reverse(
        "accounts:request_vendor_tasks",
        kwargs={"org_slug": organization.slug, "request_id": task.request_id},
    )
    created: list[Notification] = []
    if people:
        created = notify(
            organization=organization,
            recipients=people,
            kind="vendor_task_overdue",
            title=_(
                "%(vendor)s has not answered task %(reference)s (request %(request)s), due %(date)s"
            )
            % {
                "vendor": task.vendor.name,
                "reference": task.reference,
                "request": task.request.reference,
                "date": task.due_on.isoformat(),
            },
            url=path,
            target=task,
            dedupe_key=f"vendor-task-overdue:{task.pk}",
            urgent=True,
        )
    record(
        Action.VENDOR_TASK_ESCALATED,
        organization=organization,
        target=task,
        changes={
            "vendor": task.vendor.name,
            "due_on": task.due_on.isoformat(),
            "overdue_days": (today - task.due_on).days,
            "recipients": len(created),
        },
    )
