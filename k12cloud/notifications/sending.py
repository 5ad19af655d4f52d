"""Sending one outbox row: lock it, send it, mark it, in one transaction (idempotent).

Guarantee (docs/notifications.md): exactly once in our record, at least once at the SMTP
boundary. The row is locked while the message is handed to the mail server and marked sent in
the same transaction, so two workers never both send it and a redelivered task does nothing.
A process killed after the server accepted the message but before the commit leaves the row
pending, and the relay sends it again: with the same Message-ID (stored on the row when it was
written), by which the receiving side recognises the repeat.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from k12cloud.notifications.models import OutboundEmail

logger = logging.getLogger(__name__)

# Failures worth another attempt later: the mail server or the network, not our data.
TRANSIENT_SEND_ERRORS: tuple[type[BaseException], ...] = (smtplib.SMTPException, OSError)


class OutboundEmailNotSent(Exception):
    """The mail server refused or could not be reached; the row records the attempt.

    Raised by the send task (outside the tenant transaction) to make Celery retry."""


RETRY_BACKOFF_SECONDS = 30
RETRY_BACKOFF_MAX_SECONDS = 30 * 60


def retry_delay(attempts: int) -> timedelta:
    """How long after the `attempts`-th failure the relay may try again (doubling, capped).

    The send task's own Celery retries use the same base and cap, with full jitter."""
    return timedelta(
        seconds=min(RETRY_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), RETRY_BACKOFF_MAX_SECONDS)
    )


def _describe(error: BaseException) -> str:
    """Class and SMTP code only: server replies can quote the recipient's address."""
    code = getattr(error, "smtp_code", None)
    return f"{type(error).__name__}" + (f" (SMTP {code})" if code else "")


def _message(email: OutboundEmail) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        reply_to=[email.reply_to] if email.reply_to else None,
        headers={"Message-ID": email.message_id},
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    return message


@dataclass(frozen=True)
class SendOutcome:
    sent: bool  # this call handed the message to the mail server
    retry: bool = False  # a transient failure, recorded on the row; try again later
    error: str = ""


def outbound_email_attempt(*, email_id: int) -> SendOutcome:
    """Send the row if it is still pending, and say what happened.

    Call inside the row's tenant context. A row being sent by another worker (locked), already
    sent, or failed for good is left alone. A transient failure is recorded on the row
    (`attempts`, `last_error`, `next_attempt_at`; FAILED after NOTIFICATIONS_MAX_ATTEMPTS) and
    is not raised, so that the record commits; the caller decides whether to retry.
    """
    with transaction.atomic():
        email = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id, status=OutboundEmail.Status.PENDING)
            .first()
        )
        if email is None:
            return SendOutcome(sent=False)
        if not email.message_id:  # rows written before message ids were stored up front
            email.message_id = OutboundEmail.new_message_id()
        email.attempts += 1
        try:
            _message(email).send()
        except TRANSIENT_SEND_ERRORS as error:
            email.last_error = _describe(error)[:500]
            email.next_attempt_at = timezone.now() + retry_delay(email.attempts)
            if email.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
                email.status = OutboundEmail.Status.FAILED
                logger.error(
                    "email %s (%s) FAILED after %d attempts: %s",
                    email.pk,
                    email.template,
                    email.attempts,
                    email.last_error,
                )
            email.save(
                update_fields=["message_id", "attempts", "last_error", "status", "next_attempt_at"]
            )
            retry = email.status == OutboundEmail.Status.PENDING
            return SendOutcome(sent=False, retry=retry, error=email.last_error)
        email.status = OutboundEmail.Status.SENT
        email.sent_at = timezone.now()
        email.last_error = ""
        email.save(update_fields=["message_id", "status", "sent_at", "attempts", "last_error"])
    return SendOutcome(sent=True)


def outbound_email_send(*, email_id: int) -> bool:
    """Send the row if it is still pending; True when this call sent it (see the attempt)."""
    return outbound_email_attempt(email_id=email_id).sent
