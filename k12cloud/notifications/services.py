"""The notification call points: `notify()` for members, `email_enqueue()` for any address
(`deferred.notify_after_commit()`: `notify()` made by a worker after commit, for hot paths).

Both only write rows in the caller's transaction. Delivery happens after commit
(`transaction.on_commit` enqueues the send task) and, should the process die between the commit
and the enqueue, the relay task finds the pending row and sends it (docs/notifications.md).
A `dedupe_key` makes a call idempotent: the second call with the same key writes nothing, which
is how a reminder is sent once per deadline however often the sweep runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.models import Organization, User
from audit.services import target_reference
from k12cloud.notifications.models import Notification, NotificationPreference, OutboundEmail
from k12cloud.tenancy import tenant_context

logger = logging.getLogger(__name__)


def email_enqueue(
    *,
    organization: Organization,
    to: str,
    template: str,
    subject: str,
    context: Mapping[str, Any] | None = None,
    target: Model | tuple[str, object] | None = None,
    dedupe_key: str = "",
    language: str | None = None,
    reply_to: str = "",
) -> OutboundEmail | None:
    """Render `<template>.txt` (and `<template>.html` when it exists) and put it in the outbox.

    Call inside the organization's tenant context and the caller's transaction: the row commits
    or rolls back with the work that caused it, and is sent after commit. The subject is the
    caller's, already translated; it must not carry a requester's personal data. The templates
    get `organization_name` and `organization_time_zone` (use `{% timezone %}` for times).
    Returns None when `dedupe_key` was used before (nothing is written). `reply_to`: the
    Reply-To header (kept, encrypted, on the row); emails to requesters pass their
    organization's privacy contact (privacy_requests.contact).
    """
    with translation.override(language or translation.get_language()):
        full_context = {
            "organization_name": organization.name,
            "organization_time_zone": organization.time_zone,
            # for <html lang>: rendered without a request, so no context processor sets it
            "LANGUAGE_CODE": translation.get_language(),
            **(context or {}),
        }
        text: str = render_to_string(f"{template}.txt", full_context)
        html: str
        try:
            html = render_to_string(f"{template}.html", full_context)
        except TemplateDoesNotExist:  # a text-only email
            html = ""
    target_type, target_id = target_reference(target)
    email = OutboundEmail(
        organization=organization,
        to=to,
        reply_to=reply_to or None,
        template=template,
        subject=subject,
        body_text=text,
        body_html=html,
        target_type=target_type,
        target_id=target_id,
        dedupe_key=dedupe_key,
        message_id=OutboundEmail.new_message_id(),
    )
    if dedupe_key:
        try:
            with transaction.atomic():
                email.save()
        except IntegrityError:
            return None
    else:
        email.save()
    organization_id, email_id = organization.pk, email.pk
    transaction.on_commit(lambda: _enqueue_send(organization_id, email_id))
    return email


def _enqueue_send(organization_id: int, email_id: int) -> None:
    """After commit: hand the row to a worker (or, in tests, send it here and now)."""
    if settings.NOTIFICATIONS_DELIVERY == "in_process":
        from k12cloud.notifications.sending import outbound_email_attempt

        try:
            with tenant_context(organization_id):
                outbound_email_attempt(email_id=email_id)
        except Exception as error:  # the row stays pending: the relay sends it later
            # the class only: messages (SMTP replies, database errors) can quote addresses
            logger.warning(
                "email %s: in-process send failed (%s); the relay will retry",
                email_id,
                type(error).__name__,
            )
        return
    from k12cloud.notifications.tasks import send_outbound_email

    try:
        send_outbound_email.delay(organization_id, email_id)
    except Exception:  # the broker is down: the relay sends it later
        logger.warning("email %s: could not enqueue; the relay will send it", email_id)


def digest_members(organization: Organization, users: Iterable[User]) -> set[int]:
    """Ids of those users who chose the digest here (one query; everyone else: immediate)."""
    return set(
        NotificationPreference.objects.for_organization(organization)
        .filter(
            user__in=[user.pk for user in users], delivery=NotificationPreference.Delivery.DIGEST
        )
        .values_list("user_id", flat=True)
    )


def notify(
    *,
    organization: Organization,
    recipients: Iterable[User],
    kind: str,
    title: str,
    url: str = "",
    target: Model | tuple[str, object] | None = None,
    email_template: str | None = None,
    email_context: Mapping[str, Any] | None = None,
    dedupe_key: str = "",
    urgent: bool = False,
) -> list[Notification]:
    """Tell members something: a bell notice each and, by their preference, an email.

    `title` names references and dates, never a requester. With `dedupe_key`, a recipient who
    already had this notice gets nothing again. `urgent` emails even members who chose the
    digest (escalations of missed deadlines).
    """
    target_type, target_id = target_reference(target)
    recipients = list(recipients)
    digest = digest_members(organization, recipients) if email_template and not urgent else set()
    created: list[Notification] = []
    for user in recipients:
        emailed = bool(email_template) and (urgent or user.pk not in digest)
        notice = Notification(
            organization=organization,
            recipient=user,
            kind=kind,
            title=title,
            url=url,
            target_type=target_type,
            target_id=target_id,
            dedupe_key=dedupe_key,
        )
        if emailed and not urgent:
            notice.digest_sent_at = notice.created_at  # emailed now: not for the digest
        if dedupe_key:
            try:
                with transaction.atomic():
                    notice.save()
            except IntegrityError:
                continue
        else:
            notice.save()
        created.append(notice)
        if emailed:
            assert email_template is not None
            email_enqueue(
                organization=organization,
                to=user.email,
                template=email_template,
                subject=title,
                # `title` for the generic notice template; callers may pass an absolute `link`
                context={"title": title, **(email_context or {}), "recipient": user, "url": url},
                target=target,
                dedupe_key=f"{dedupe_key}:{user.pk}" if dedupe_key else "",
            )
    return created


def notification_mark_read(*, organization: Organization, user: User, notification_id: int) -> int:
    """Mark one of the member's notifications read; 0 when it is not theirs (or unknown)."""
    return (
        Notification.objects.for_organization(organization)
        .filter(pk=notification_id, recipient=user, read_at__isnull=True)
        .update(read_at=timezone.now())
    )


def notifications_mark_all_read(*, organization: Organization, user: User) -> int:
    """Mark every unread notification of the member read; returns how many."""
    return (
        Notification.objects.for_organization(organization)
        .filter(recipient=user, read_at__isnull=True)
        .update(read_at=timezone.now())
    )


def notification_preference_set(*, organization: Organization, user: User, delivery: str) -> str:
    """Choose an email per notification or one digest each morning (the member's own choice)."""
    delivery = NotificationPreference.Delivery(delivery)
    NotificationPreference.objects.update_or_create(
        organization=organization, user=user, defaults={"delivery": delivery}
    )
    return delivery
