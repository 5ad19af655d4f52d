"""Reads of the requester portal: find a request by email and reference, its public thread."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone

from k12cloud.encryption.envelope import NO_MATCH, blind_index
from privacy_requests.models import PrivacyRequest, RequestMessage

if TYPE_CHECKING:
    from accounts.models import Organization

# A closed request stays reachable this long, to read the answer and download the response.
RECENTLY_CLOSED = timedelta(days=90)


def portal_request_for(
    *, organization: Organization, email: str, reference: str
) -> PrivacyRequest | None:
    """The open or recently closed request with this reference and requester email, or None.

    Call inside `tenant_context(organization)`. The email is compared by its blind index only.
    """
    index = blind_index(organization.pk, email, kind="email")
    if index == NO_MATCH or not email.strip() or not reference.strip():
        return None
    recent = timezone.now() - RECENTLY_CLOSED
    return (
        PrivacyRequest.objects.for_organization(organization)
        .filter(reference=reference.strip().upper(), requester_email_index=index)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=recent))
        .first()
    )


def portal_request_get(*, organization: Organization, request_id: int) -> PrivacyRequest | None:
    """The request a portal session names, while it is still reachable; else None."""
    recent = timezone.now() - RECENTLY_CLOSED
    return (
        PrivacyRequest.objects.for_organization(organization)
        .filter(pk=request_id)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=recent))
        .first()
    )


def portal_messages(*, organization: Organization, request: PrivacyRequest) -> list[RequestMessage]:
    """Messages to and from the requester, oldest first. Internal notes are left out in the
    query itself, so no template or view can show them by mistake."""
    return list(
        RequestMessage.objects.for_organization(organization)
        .filter(request=request)
        .exclude(direction=RequestMessage.Direction.INTERNAL)
        .order_by("created_at", "pk")
    )
