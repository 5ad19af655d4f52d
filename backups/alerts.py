"""Email ops staff (active users with is_staff) through the platform organization's outbox."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Model

from accounts.models import Organization
from k12cloud.notifications.services import email_enqueue
from k12cloud.tenancy import tenant_context

logger = logging.getLogger(__name__)


def ops_staff_addresses() -> list[str]:
    return list(
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .order_by("pk")
        .values_list("email", flat=True)
    )


def alert_ops(*, subject: str, body: str, target: Model | None = None) -> int:
    """Queue one email per ops staff member, in the caller's transaction; how many.

    The outbox sends them after commit (and resends them if the process dies first). Without a
    platform organization (a bare database) there is no outbox to use: the mail goes directly.
    """
    recipients = ops_staff_addresses()
    if not recipients:
        logger.error("backups: no ops staff to email about: %s", subject)
        return 0
    platform = Organization.objects.filter(kind=Organization.Kind.PLATFORM).order_by("pk").first()
    if platform is None:
        send_mail(subject=subject, message=body, from_email=None, recipient_list=recipients)
        return len(recipients)
    with tenant_context(platform):
        for address in recipients:
            email_enqueue(
                organization=platform,
                to=address,
                template="notifications/email/ops_alert",
                subject=subject,
                context={"body": body},
                target=target,
            )
    return len(recipients)
