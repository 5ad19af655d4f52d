"""Periodic audit work (k12cloud.celery beat schedule): seal new events into their chains
every few seconds, sign chain heads hourly, verify nightly.

Platform-wide sweeps, not per-organization fan-outs: a checkpoint run is one small query per
chain, and verification must see every chain, the platform's included.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.mail import send_mail

from accounts.models import Organization
from audit.checkpoints import checkpoint_chains
from audit.sealing import seal_chains
from audit.verification import verify_chains
from k12cloud.notifications.sending import outbound_email_attempt
from k12cloud.notifications.services import email_enqueue
from k12cloud.tenancy import tenant_context

logger = logging.getLogger(__name__)


@shared_task(name="audit.seal_audit_chains", soft_time_limit=50, time_limit=60)
def seal_audit_chains() -> int:
    """Give the events recorded since the last run their place in their chains (audit.sealing)."""
    return seal_chains()


@shared_task(name="audit.checkpoint_audit_chains", soft_time_limit=540, time_limit=600)
def checkpoint_audit_chains() -> int:
    return checkpoint_chains()


@shared_task(name="audit.verify_audit_chains", soft_time_limit=5 * 3600, time_limit=6 * 3600)
def verify_audit_chains() -> bool:
    """Verify every chain; on failure log an error and email ops staff. True when intact."""
    report = verify_chains()
    if report.intact:
        logger.info("audit chains intact: %d events in %d chains", report.events, report.chains)
        return True
    lines = [str(problem) for problem in report.problems]
    logger.error("audit chain verification FAILED: %s", "; ".join(lines))
    recipients = list(
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .order_by("pk")
        .values_list("email", flat=True)
    )
    if recipients:
        _alert_ops(
            recipients,
            subject="[k12cloud] Audit log verification failed",
            body=(
                "The nightly audit chain verification found evidence of tampering:\n\n"
                + "\n".join(lines)
                + f"\n\n{report.events} events checked in {report.chains} chains. "
                "Run `python manage.py audit_verify` to reproduce."
            ),
        )
    else:
        logger.error("audit chain verification failed and no ops staff can be emailed")
    return False


def _alert_ops(recipients: list[str], *, subject: str, body: str) -> None:
    """Email ops staff through the platform organization's outbox, and send it right away.

    The rows commit first (a record, and the relay's to resend); the send follows at once
    because this already runs in a worker and the alert is urgent. The after-commit enqueue
    that the outbox adds is a harmless duplicate (sending a row is idempotent).
    """
    platform = Organization.objects.filter(kind=Organization.Kind.PLATFORM).order_by("pk").first()
    if platform is None:  # no platform tenant (a bare test database): send directly
        send_mail(subject=subject, message=body, from_email=None, recipient_list=recipients)
        return
    with tenant_context(platform):
        email_ids = [
            email.pk
            for address in recipients
            if (
                email := email_enqueue(
                    organization=platform,
                    to=address,
                    template="notifications/email/ops_alert",
                    subject=subject,
                    context={"body": body},
                )
            )
            is not None
        ]
    for email_id in email_ids:
        with tenant_context(platform):
            outbound_email_attempt(email_id=email_id)
