"""Notices of the trust center, per organization: idempotent, so the sweep may run any time.

For each organization (`trust_notices_send`, run by the task `trust.send_notices_for`):

- every published document version not yet in effect: a notice to the organization admins
  and billing contacts (bell + email, in English; the billing contacts on record in billing/
  who are not members get the email alone), and a reminder 7 days before it takes effect;
- every scheduled maintenance window ahead: a notice to every active member (bell + email,
  digest-respecting), again when it moves (a new revision), a reminder 24 hours ahead, and a
  notice when it is cancelled.

Each notice has a dedupe key per recipient (`trust:<what>:<id>:...`), so a retried publish, a
retried task or two sweeps at once write each recipient's notice once. The notification rows
are the record of who was notified when (ops read them in the admin).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization, User
from k12cloud.notifications.services import email_enqueue, notify
from k12cloud.tenancy import tenant_context
from trust.banners import NOTICE_ROLES
from trust.models import DocumentVersion, MaintenanceWindow
from trust.rules import DOCUMENT_REMINDER_DAYS, MAINTENANCE_REMINDER, utc_today


@dataclass
class NoticeCounts:
    notices: int = 0
    reminders: int = 0


def _members(organization: Organization, roles: frozenset[str] | None) -> list[User]:
    memberships = (
        Membership.objects.for_organization(organization)
        .filter(is_active=True, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    )
    if roles is not None:
        memberships = memberships.filter(role__in=roles)
    return [m.user for m in memberships]


def _absolute(path: str) -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def _version_url(version: DocumentVersion) -> str:
    return _absolute(
        reverse("trust:version", kwargs={"document": version.document, "number": version.number})
    )


def trust_notices_send(*, organization: Organization, now: datetime | None = None) -> NoticeCounts:
    now = now or timezone.now()
    counts = NoticeCounts()
    if not organization.is_active:
        return counts
    with translation.override("en"):  # the issue: notices in English
        _document_notices(organization, now, counts)
        _maintenance_notices(organization, now, counts)
    return counts


def trust_notices_send_everywhere(*, now: datetime | None = None) -> NoticeCounts:
    """Every active organization, one after the other, in this process (the in-process
    delivery of tests and development; production fans out one task per organization)."""
    total = NoticeCounts()
    for organization in Organization.objects.filter(status=Organization.Status.ACTIVE).order_by(
        "pk"
    ):
        with tenant_context(organization):
            counts = trust_notices_send(organization=organization, now=now)
        total.notices += counts.notices
        total.reminders += counts.reminders
    return total


def _document_notices(organization: Organization, now: datetime, counts: NoticeCounts) -> None:
    today = utc_today(now)
    versions = list(
        DocumentVersion.objects.filter(published_at__isnull=False, effective_on__gt=today).order_by(
            "effective_on", "pk"
        )
    )
    if not versions:
        return
    people = _members(organization, NOTICE_ROLES)
    for version in versions:
        url = _version_url(version)
        context = {"version": version, "url": url}
        label = version.get_document_display()
        created = notify(
            organization=organization,
            recipients=people,
            kind="trust_document_notice",
            title=_("%(document)s version %(number)s takes effect on %(date)s")
            % {"document": label, "number": version.number, "date": version.effective_on},
            url=url,
            target=version,
            email_template="trust/email/document_notice",
            email_context=context,
            dedupe_key=f"trust:version:{version.pk}:notice",
            urgent=version.material,  # a material change is emailed to everyone, digest or not
        )
        counts.notices += len(created)
        counts.notices += _email_billing_contacts(organization, version, context, people)
        if version.effective_on - timedelta(days=DOCUMENT_REMINDER_DAYS) <= today:
            created = notify(
                organization=organization,
                recipients=people,
                kind="trust_document_reminder",
                title=_("Reminder: %(document)s version %(number)s takes effect on %(date)s")
                % {"document": label, "number": version.number, "date": version.effective_on},
                url=url,
                target=version,
                email_template="trust/email/document_notice",
                email_context={**context, "reminder": True},
                dedupe_key=f"trust:version:{version.pk}:reminder",
            )
            counts.reminders += len(created)


def _email_billing_contacts(
    organization: Organization,
    version: DocumentVersion,
    context: dict[str, object],
    members: list[User],
) -> int:
    """The billing contacts on record (billing/, often not members): the notice by email.

    An address that is also a member's already had it through notify(); each contact gets it
    once (dedupe key per contact).
    """
    from billing.selectors import billing_contact_list

    told = {user.email.lower() for user in members}
    sent = 0
    for contact in billing_contact_list(organization=organization):
        address = contact.email.strip()
        if not address or address.lower() in told:
            continue
        told.add(address.lower())
        email = email_enqueue(
            organization=organization,
            to=address,
            template="trust/email/document_notice",
            subject=_("%(document)s version %(number)s takes effect on %(date)s")
            % {
                "document": version.get_document_display(),
                "number": version.number,
                "date": version.effective_on,
            },
            context=context,
            target=version,
            dedupe_key=f"trust:version:{version.pk}:notice:billing-contact:{contact.pk}",
            language="en",
        )
        sent += email is not None
    return sent


def _maintenance_notices(organization: Organization, now: datetime, counts: NoticeCounts) -> None:
    windows = list(MaintenanceWindow.objects.filter(ends_at__gt=now).order_by("starts_at"))
    if not windows:
        return
    people = _members(organization, None)
    if not people:
        return
    status_url = _absolute(reverse("trust:status"))
    for window in windows:
        context = {"window": window, "url": status_url}
        if window.status == MaintenanceWindow.Status.CANCELLED:
            created = notify(
                organization=organization,
                recipients=people,
                kind="trust_maintenance_cancelled",
                title=_("Maintenance cancelled"),
                url=status_url,
                target=window,
                email_template="trust/email/maintenance_notice",
                email_context={**context, "cancelled": True},
                dedupe_key=f"trust:maintenance:{window.pk}:cancelled",
            )
            counts.notices += len(created)
            continue
        if window.kind != "planned" or window.starts_at <= now:
            continue  # emergency work has no notice; a started window needs none
        created = notify(
            organization=organization,
            recipients=people,
            kind="trust_maintenance_notice",
            title=_("Planned maintenance scheduled")
            if window.revision == 1
            else _("Planned maintenance moved"),
            url=status_url,
            target=window,
            email_template="trust/email/maintenance_notice",
            email_context=context,
            dedupe_key=f"trust:maintenance:{window.pk}:r{window.revision}:notice",
        )
        counts.notices += len(created)
        if window.starts_at - MAINTENANCE_REMINDER <= now:
            created = notify(
                organization=organization,
                recipients=people,
                kind="trust_maintenance_reminder",
                title=_("Reminder: planned maintenance within 24 hours"),
                url=status_url,
                target=window,
                email_template="trust/email/maintenance_notice",
                email_context={**context, "reminder": True},
                dedupe_key=f"trust:maintenance:{window.pk}:r{window.revision}:reminder",
            )
            counts.reminders += len(created)
