"""Terminating an organization, and the customer's written deletion request.

    organization_terminate(...)                  ops staff (or billing, for non-payment)
    organization_deletion_request_record(...)    ops staff record a written request

Termination records `terminated_at` (status "terminated"), which stops every member's access
at once: the portal and the API read memberships of active organizations only
(accounts.selectors.membership_list_for_user), and the organization's API keys are revoked.
The organization's admins are emailed the de-identification date and told how to ask for a
final full export before it. The data is de-identified `TERMINATED_CUSTOMER_DAYS` after
termination, or `WRITTEN_REQUEST_DAYS` after a written request when that is sooner
(`deidentification_due_on`); the daily sweep (retention.sweep) does it.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiKey, Membership, Organization, User
from accounts.permissions import Role
from audit.actions import Action
from audit.services import record
from k12cloud.notifications.services import email_enqueue
from k12cloud.tenancy import tenant_context
from retention.policy import TERMINATED_CUSTOMER_DAYS, WRITTEN_REQUEST_DAYS


def _local_date(organization: Organization, moment: datetime) -> date:
    return timezone.localtime(moment, timezone=_zone(organization)).date()


def _zone(organization: Organization) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(organization.time_zone)


def deidentification_due_on(organization: Organization) -> date | None:
    """The date the terminated organization's data is de-identified (None while active).

    90 days after termination, or 30 days after a written deletion request if sooner; in the
    organization's own time zone.
    """
    if organization.terminated_at is None:
        return None
    due = _local_date(organization, organization.terminated_at) + timedelta(
        days=TERMINATED_CUSTOMER_DAYS
    )
    if organization.deletion_requested_at is not None:
        requested = _local_date(organization, organization.deletion_requested_at) + timedelta(
            days=WRITTEN_REQUEST_DAYS
        )
        due = min(due, requested)
    return due


def _admin_emails(organization: Organization) -> list[tuple[int, str]]:
    return list(
        Membership.objects.for_organization(organization)
        .filter(role=Role.ORG_ADMIN, is_active=True, user__is_active=True)
        .order_by("user_id")
        .values_list("user_id", "user__email")
    )


def _notify_admins(organization: Organization, *, template: str, subject: str, key: str) -> int:
    due = deidentification_due_on(organization)
    # admins of a terminated organization may still export it until de-identification (exports/)
    export_path = reverse("accounts:export_list", kwargs={"org_slug": organization.slug})
    export_url = f"{settings.PORTAL_BASE_URL.rstrip('/')}{export_path}"
    sent = 0
    for user_id, email in _admin_emails(organization):
        written = email_enqueue(
            organization=organization,
            to=email,
            template=template,
            subject=subject,
            context={
                "due_on": due,
                "organization_slug": organization.slug,
                "export_url": export_url,
            },
            target=organization,
            dedupe_key=f"{key}:{due}:{user_id}",
        )
        sent += written is not None
    return sent


def organization_terminate(
    *, organization: Organization, actor: User | None, reason: str = ""
) -> Organization:
    """Terminate the organization: members lose access now; data is de-identified later.

    Idempotent: terminating a terminated organization changes nothing and sends nothing.
    `reason` is a short, non-personal phrase for the audit event (e.g. "non-payment").
    """
    with tenant_context(organization):
        locked = Organization.objects.select_for_update().get(pk=organization.pk)
        if locked.status == Organization.Status.TERMINATED:
            return locked
        now = timezone.now()
        locked.status, locked.terminated_at = Organization.Status.TERMINATED, now
        locked.save(update_fields=["status", "terminated_at", "updated_at"])
        revoked = (
            ApiKey.objects.for_organization(locked)
            .filter(revoked_at__isnull=True)
            .update(revoked_at=now)
        )
        due = deidentification_due_on(locked)
        record(
            Action.ORGANIZATION_TERMINATED,
            organization=locked,
            target=locked,
            changes={
                "status": ["active", "terminated"],
                "deidentification_due_on": due.isoformat() if due else None,
                "api_keys_revoked": revoked,
                "reason": reason[:100],
            },
        )
        _notify_admins(
            locked,
            template="retention/email/terminated",
            subject=_("Your k-12.cloud organization was closed"),
            key="retention-terminated",
        )
    organization.status, organization.terminated_at = locked.status, locked.terminated_at
    return locked


def organization_deletion_request_record(
    *, organization: Organization, actor: User | None, received_at: datetime | None = None
) -> Organization:
    """Record the customer's written request to delete its data: de-identification moves to
    within 30 days of the request (never later than the 90-day date).

    Only for a terminated organization (terminate it first). The earliest request counts;
    recording another changes nothing.
    """
    received_at = received_at or timezone.now()
    if received_at > timezone.now():
        raise ValidationError({"received_at": _("The request cannot be received in the future.")})
    with tenant_context(organization):
        locked = Organization.objects.select_for_update().get(pk=organization.pk)
        if locked.status != Organization.Status.TERMINATED:
            raise ValidationError(
                {"organization": _("Terminate the organization before recording its request.")}
            )
        if locked.deletion_requested_at is not None and locked.deletion_requested_at <= received_at:
            return locked
        before = deidentification_due_on(locked)
        locked.deletion_requested_at = received_at
        locked.save(update_fields=["deletion_requested_at", "updated_at"])
        due = deidentification_due_on(locked)
        record(
            Action.DELETION_REQUEST_RECORDED,
            organization=locked,
            target=locked,
            changes={
                "deidentification_due_on": [
                    before.isoformat() if before else None,
                    due.isoformat() if due else None,
                ]
            },
        )
        _notify_admins(
            locked,
            template="retention/email/deletion_scheduled",
            subject=_("Your deletion request was recorded"),
            key="retention-deletion-request",
        )
    organization.deletion_requested_at = locked.deletion_requested_at
    return locked
