"""Reads of the notification system that views share."""

from __future__ import annotations

from django.db.models import Model

from accounts.models import Organization, User
from audit.services import target_reference
from k12cloud.notifications.models import Notification, NotificationPreference, OutboundEmail

NOTIFICATION_PAGE_SIZE = 50


def emails_for(
    *, organization: Organization, target: Model | tuple[str, object]
) -> list[OutboundEmail]:
    """Every email about `target` (e.g. a privacy request), oldest first: one query.

    For the target's timeline: who it went to, which template, when, and its delivery status.
    """
    target_type, target_id = target_reference(target)
    return list(
        OutboundEmail.objects.for_organization(organization)
        .filter(target_type=target_type, target_id=target_id)
        .order_by("created_at", "pk")
        .only(
            "organization_id",
            "to",
            "template",
            "subject",
            "status",
            "attempts",
            "created_at",
            "sent_at",
            "target_type",
            "target_id",
        )
    )


def notification_list(*, organization: Organization, user: User) -> list[Notification]:
    """The member's latest notifications, newest first (one query)."""
    return list(
        Notification.objects.for_organization(organization)
        .filter(recipient=user)
        .order_by("-created_at", "-pk")[:NOTIFICATION_PAGE_SIZE]
    )


def notification_unread_count(*, organization: Organization, user: User) -> int:
    """How many of the member's notifications are unread (one query, on a partial index)."""
    return (
        Notification.objects.for_organization(organization)
        .filter(recipient=user, read_at__isnull=True)
        .count()
    )


def notification_preference_get(*, organization: Organization, user: User) -> str:
    preference = (
        NotificationPreference.objects.for_organization(organization).filter(user=user).first()
    )
    return preference.delivery if preference else NotificationPreference.Delivery.IMMEDIATE
