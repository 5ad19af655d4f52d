"""Writes of deadline tracking: reminders, escalations and the unconfirmed-request sweep.

Every service here is idempotent, because beat runs it every hour and a worker may run a task
twice: reminders carry a dedupe key naming the request and the deadline
(`ack-reminder:<request id>:<acknowledge_by>`), escalations also the local date, so the second
run in an hour (or a day) writes nothing, and a recomputed deadline gets a reminder of its own.
`notify()`/`email_enqueue()` (k12cloud.notifications) enforce the keys with unique constraints,
so even two sweeps running at once cannot both send.

Titles and subjects name the reference, the request type and the date, never the requester.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.permissions import Role
from audit.actions import Action
from audit.services import record
from k12cloud.notifications.services import email_enqueue, notify
from privacy_requests.contact import requester_reply_to
from privacy_requests.deadlines.calendars import business_days_between
from privacy_requests.intake.services import requester_token_issue
from privacy_requests.models import PrivacyRequest, RequesterToken, RequestEvent
from privacy_requests.services import request_transition
from privacy_requests.status import Status
from privacy_requests.tracking.selectors import (
    UNCONFIRMED_STATUSES,
    open_requests_due_by,
    privacy_memberships,
    request_calendar,
    response_due_on,
    rule_calendars,
    unconfirmed_web_requests,
)

if TYPE_CHECKING:
    from accounts.models import Membership, Organization, User

logger = logging.getLogger(__name__)

ACKNOWLEDGE_REMINDER_BUSINESS_DAYS = 3
RESPONSE_REMINDER_DAYS = 7
# How far ahead the one query looks. 3 business days span at most 7 calendar days in the
# calendars we ship (Ontario from 22 December, over Christmas and Boxing Day; checked for
# 2025-2029), the response reminder 7; 14 leaves a margin. Each row is then checked exactly
# against its own calendar.
_LOOKAHEAD_DAYS = 14

TEMPLATE_REMINDER = "privacy_requests/email/tracking/reminder"
TEMPLATE_ESCALATION = "privacy_requests/email/tracking/escalation"
TEMPLATE_CONFIRM_REMINDER = "privacy_requests/email/tracking/confirm_reminder"
TEMPLATE_UNVERIFIED_CLOSED = "privacy_requests/email/tracking/unverified_closed"

CONFIRMATION_REMINDER_AFTER = timedelta(hours=24)
UNVERIFIED_CLOSE_AFTER = timedelta(days=7)


def local_now(organization: Organization) -> datetime:
    return timezone.now().astimezone(ZoneInfo(organization.time_zone))


def portal_url(path: str) -> str:
    """An absolute link for an email (tasks have no request to build one from)."""
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}{path}"


def request_page_path(organization: Organization, request: PrivacyRequest) -> str:
    return reverse(
        "accounts:request_detail",
        kwargs={"org_slug": organization.slug, "request_id": request.pk},
    )


# --- reminders and escalations ---------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """One reminder or escalation the sweep decided on (before dedupe)."""

    request: PrivacyRequest
    deadline: str  # "acknowledge" or "respond"
    due_on: date
    escalation: bool
    dedupe_key: str


@dataclass
class TrackingResult:
    reminders: int = 0  # notifications written (one per recipient)
    escalations: int = 0


def deadline_notices_due(
    *, organization: Organization, requests: list[PrivacyRequest], today: date
) -> list[Notice]:
    """What is due today for these requests: a reminder 3 business days (of the binding rule's
    calendar) before an unmet acknowledgement date and 7 calendar days before the response
    date; an escalation each local day after either has passed. Pure: no query beyond one read
    of the binding rules' calendars."""
    calendars = rule_calendars({(r.deadlines or {}).get("binding_rule", "") for r in requests})
    notices: list[Notice] = []
    for request in requests:
        calendar = request_calendar(request, calendars=calendars, organization=organization)
        acknowledge_by = request.acknowledge_by
        if request.acknowledged_at is None and acknowledge_by is not None:
            if today > acknowledge_by:
                key = f"ack-overdue:{request.pk}:{acknowledge_by}:{today}"
                notices.append(Notice(request, "acknowledge", acknowledge_by, True, key))
            elif (
                business_days_between(today, acknowledge_by, calendar)
                <= ACKNOWLEDGE_REMINDER_BUSINESS_DAYS
            ):
                key = f"ack-reminder:{request.pk}:{acknowledge_by}"
                notices.append(Notice(request, "acknowledge", acknowledge_by, False, key))
        respond_by = response_due_on(request)
        if respond_by is not None:
            if today > respond_by:
                key = f"respond-overdue:{request.pk}:{respond_by}:{today}"
                notices.append(Notice(request, "respond", respond_by, True, key))
            elif (respond_by - today).days <= RESPONSE_REMINDER_DAYS:
                key = f"respond-reminder:{request.pk}:{respond_by}"
                notices.append(Notice(request, "respond", respond_by, False, key))
    return notices


def _title(notice: Notice) -> str:
    values = {
        "reference": notice.request.reference,
        "type": notice.request.request_type,
        "date": notice.due_on.isoformat(),
    }
    if notice.escalation:
        if notice.deadline == "acknowledge":
            return _("Overdue: acknowledge %(reference)s (%(type)s) was due %(date)s") % values
        return _("Overdue: respond to %(reference)s (%(type)s) was due %(date)s") % values
    if notice.deadline == "acknowledge":
        return _("Reminder: acknowledge %(reference)s (%(type)s) by %(date)s") % values
    return _("Reminder: respond to %(reference)s (%(type)s) by %(date)s") % values


def _recipients(notice: Notice, memberships: list[Membership]) -> list[User]:
    """Reminders: the assignee while an active privacy member, else the privacy officers
    (else the admins, so that a reminder always reaches someone). Escalations (a deadline has
    passed): the assignee while an active privacy member, the privacy officers and the
    organization admins (docs/notifications.md)."""
    officers = [m.user for m in memberships if m.role == Role.PRIVACY_OFFICER]
    admins = [m.user for m in memberships if m.role == Role.ORG_ADMIN]
    assignee_id = notice.request.assignee_id
    assignee = next((m.user for m in memberships if m.user_id == assignee_id), None)
    if notice.escalation:
        people = ([assignee] if assignee else []) + officers + admins
        return list({user.pk: user for user in people}.values())  # once each
    if assignee is not None:
        return [assignee]
    return officers or admins


def deadline_reminders_send(*, organization: Organization) -> TrackingResult:
    """The hourly deadline sweep of one organization: send the reminders and escalations due
    today (in the organization's time zone). Idempotent; see the module docstring.

    Three queries before any write: the open requests due within the look-ahead (overdue
    included), the privacy members, the binding rules' calendars.
    """
    today = local_now(organization).date()
    requests = open_requests_due_by(
        organization=organization, last_day=today + timedelta(days=_LOOKAHEAD_DAYS)
    )
    result = TrackingResult()
    if not requests:
        return result
    notices = deadline_notices_due(organization=organization, requests=requests, today=today)
    if not notices:
        return result
    memberships = privacy_memberships(organization=organization)
    for notice in notices:
        recipients = _recipients(notice, memberships)
        if not recipients:
            logger.warning(
                "organization %s: no one to tell about request %s",
                organization.pk,
                notice.request.pk,
            )
            continue
        url = request_page_path(organization, notice.request)
        with transaction.atomic():
            created = notify(
                organization=organization,
                recipients=recipients,
                kind="deadline_escalation" if notice.escalation else "deadline_reminder",
                title=_title(notice),
                url=url,
                target=notice.request,
                email_template=TEMPLATE_ESCALATION if notice.escalation else TEMPLATE_REMINDER,
                email_context={
                    "reference": notice.request.reference,
                    "request_type": notice.request.request_type,
                    "deadline": notice.deadline,
                    "due_on": notice.due_on,
                    "today": today,
                    "link": portal_url(url),
                },
                dedupe_key=notice.dedupe_key,
                urgent=notice.escalation,
            )
            if notice.escalation and created:
                # once per request, deadline and day: the record that a missed deadline was
                # raised with the people accountable for it
                record(
                    Action.REQUEST_DEADLINE_ESCALATED,
                    organization=organization,
                    target=notice.request,
                    changes={
                        "deadline": notice.deadline,
                        "due_on": notice.due_on.isoformat(),
                        "overdue_days": (today - notice.due_on).days,
                        "recipients": len(created),
                    },
                )
        if notice.escalation:
            result.escalations += len(created)
        else:
            result.reminders += len(created)
    return result


# --- requests whose email was never confirmed (#9) -------------------------------------------


@dataclass
class UnconfirmedResult:
    reminded: int = 0
    closed: int = 0


def confirm_link(organization: Organization, token: str, language: str) -> str:
    """The public confirmation link for `token`, as the intake emails it (with the language)."""
    path = reverse(
        "privacy_intake:confirm_email", kwargs={"org_slug": organization.slug, "token": token}
    )
    return portal_url(f"{path}?{urlencode({'lang': language})}")


def _locked_unconfirmed(organization: Organization, request_id: int) -> PrivacyRequest | None:
    """The request, locked, if it is still an open unconfirmed web request."""
    return (
        PrivacyRequest.objects.for_organization(organization)
        .select_for_update(of=("self",))  # the request's row only, not its organization's
        .select_related("organization")
        .filter(
            pk=request_id,
            channel=PrivacyRequest.Channel.WEB,
            email_confirmed_at__isnull=True,
            status__in=[s.value for s in UNCONFIRMED_STATUSES],
            closed_at__isnull=True,
        )
        .first()
    )


def confirmation_reminder_send(*, organization: Organization, request_id: int) -> bool:
    """Email the requester once more to confirm their address, with a fresh single-use link
    that expires when the request would close as unverified. Once per request
    (`confirmation_reminder_sent_at`); True when this call sent it."""
    with transaction.atomic():
        request = _locked_unconfirmed(organization, request_id)
        if request is None or request.confirmation_reminder_sent_at is not None:
            return False
        now = timezone.now()
        closes_at = request.received_at + UNVERIFIED_CLOSE_AFTER
        if now >= closes_at:
            return False
        request.confirmation_reminder_sent_at = now
        request.save(update_fields=["confirmation_reminder_sent_at", "updated_at"])
        RequestEvent.objects.create(
            organization=organization,
            request=request,
            kind="confirmation_reminder_sent",
            data={"emailed": bool(request.requester_email)},
        )
        record(
            Action.REQUEST_CONFIRMATION_REMINDED,
            organization=organization,
            target=request,
            changes={"emailed": bool(request.requester_email)},
        )
        if request.requester_email:
            token = requester_token_issue(
                request=request,
                purpose=RequesterToken.Purpose.CONFIRM_EMAIL,
                valid_for=closes_at - now,
            )
            with translation.override(request.language):
                # the reference and the organization: no one's personal data in the subject
                subject = _("Reminder: confirm your privacy request %(reference)s") % {
                    "reference": request.reference
                }
            email_enqueue(
                organization=organization,
                to=request.requester_email,
                template=TEMPLATE_CONFIRM_REMINDER,
                subject=subject,
                context={
                    "reference": request.reference,
                    "link": confirm_link(organization, token, request.language),
                    "closes_on": closes_at.astimezone(ZoneInfo(organization.time_zone)).date(),
                    "LANGUAGE_CODE": request.language,
                },
                target=request,
                dedupe_key=f"confirm-reminder:{request.pk}",
                language=request.language,
                reply_to=requester_reply_to(organization),
            )
    return True


def unconfirmed_request_close(*, organization: Organization, request_id: int) -> bool:
    """Close an unconfirmed web request as unverified (through the status machine, so the
    move is on the timeline and audited) and tell the requester why. The legal deadlines are
    untouched: they ran from receipt. True when this call closed it."""
    with transaction.atomic():
        request = _locked_unconfirmed(organization, request_id)
        if request is None or timezone.now() < request.received_at + UNVERIFIED_CLOSE_AFTER:
            return False
        days = UNVERIFIED_CLOSE_AFTER.days
        with translation.override(request.language):
            reason = _(
                "We closed this request because the email address was not confirmed within "
                "%(days)s days. You are welcome to send a new request at any time."
            ) % {"days": days}
            subject = _("Your privacy request %(reference)s was closed") % {
                "reference": request.reference
            }
        request = request_transition(
            request=request, to_status=Status.CLOSED_UNVERIFIED, actor=None, reason=reason
        )
        if request.requester_email:
            email_enqueue(
                organization=organization,
                to=request.requester_email,
                template=TEMPLATE_UNVERIFIED_CLOSED,
                subject=subject,
                context={
                    "reference": request.reference,
                    "reason": reason,
                    "intake_link": portal_url(
                        reverse("privacy_intake:form", kwargs={"org_slug": organization.slug})
                        + f"?{urlencode({'lang': request.language})}"
                    ),
                    "LANGUAGE_CODE": request.language,
                },
                target=request,
                dedupe_key=f"unverified-closed:{request.pk}",
                language=request.language,
                reply_to=requester_reply_to(organization),
            )
    return True


def unconfirmed_requests_process(*, organization: Organization) -> UnconfirmedResult:
    """The sweep of one organization's unconfirmed web requests: the reminder 24 hours after
    receipt, the closure as unverified after 7 days. One query finds the candidates; each is
    then handled in its own transaction on a locked, re-checked row (idempotent)."""
    now = timezone.now()
    result = UnconfirmedResult()
    candidates = unconfirmed_web_requests(
        organization=organization, received_before=now - CONFIRMATION_REMINDER_AFTER
    )
    for request in candidates:
        if now >= request.received_at + UNVERIFIED_CLOSE_AFTER:
            result.closed += unconfirmed_request_close(
                organization=organization, request_id=request.pk
            )
        elif request.confirmation_reminder_sent_at is None:
            result.reminded += confirmation_reminder_send(
                organization=organization, request_id=request.pk
            )
    return result
