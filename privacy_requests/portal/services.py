"""Writes of the requester portal: email a magic link, use it once, record a reply.

The link is a `RequesterToken` of purpose PORTAL (only its hash is stored), issued by
`privacy_requests.intake.services.requester_token_issue`; it is valid for 24 hours and once.
Sending a new one retires the request's older unused portal links ("re-sendable": only the
latest email works).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.actions import Action
from audit.services import record
from k12cloud.notifications.services import email_enqueue
from privacy_requests.contact import requester_reply_to
from privacy_requests.intake.services import (
    TokenUnusable,
    requester_token_issue,
    token_unusable_reason,
)
from privacy_requests.models import PrivacyRequest, RequesterToken, RequestMessage
from privacy_requests.services import request_message_add

if TYPE_CHECKING:
    from accounts.models import Organization

PORTAL_LINK_VALID_FOR = timedelta(hours=24)


def portal_link_issue(*, request: PrivacyRequest, reason: str = "") -> tuple[str, RequesterToken]:
    """A fresh single-use portal token for the request; older unused ones stop working.

    Call inside `tenant_context(request.organization)` and a transaction. Audited as
    REQUEST_PORTAL_LINK_SENT (`reason` names why, when it is not the requester asking).
    Returns the token (to build the link from) and its row.
    """
    now = timezone.now()
    retired = (
        RequesterToken.objects.for_organization(request.organization)
        .filter(
            request=request,
            purpose=RequesterToken.Purpose.PORTAL,
            used_at__isnull=True,
            expires_at__gt=now,
        )
        .update(expires_at=now)
    )
    token = requester_token_issue(
        request=request,
        purpose=RequesterToken.Purpose.PORTAL,
        valid_for=PORTAL_LINK_VALID_FOR,
    )
    row = RequesterToken.objects.for_organization(request.organization).get(
        token_hash=RequesterToken.hash_token(token)
    )
    changes: dict[str, object] = {
        "token_id": row.pk,
        "valid_hours": int(PORTAL_LINK_VALID_FOR.total_seconds() // 3600),
        "older_links_retired": retired,
    }
    if reason:
        changes["with"] = reason
    record(
        Action.REQUEST_PORTAL_LINK_SENT,
        organization=request.organization,
        target=request,
        changes=changes,
    )
    return token, row


def portal_link_send(
    *, request: PrivacyRequest, portal_url_for: Callable[[str], str]
) -> RequesterToken:
    """Issue a portal link for the request and email it to the requester after commit.

    Call inside `tenant_context(request.organization)`, only for a request the visitor named by
    its email and reference (`selectors.portal_request_for`). Older unused portal links of the
    request stop working. `portal_url_for(token)` builds the absolute link.
    """
    with transaction.atomic():
        token, row = portal_link_issue(request=request)
        link = portal_url_for(token)
        # into the outbox, in this transaction: sent after commit (k12cloud.notifications)
        _send_portal_link_email(request.organization, request, link)
    return row


def _send_portal_link_email(organization: Organization, request: PrivacyRequest, link: str) -> None:
    language = request.language
    context = {
        "organization_name": organization.name,
        "reference": request.reference,
        "link": link,
        "valid_hours": int(PORTAL_LINK_VALID_FOR.total_seconds() // 3600),
        "LANGUAGE_CODE": language,
    }
    with translation.override(language):
        # the organization and the reference only: no one's personal data in the subject
        subject = _("Your link to follow privacy request %(reference)s at %(organization)s") % {
            "reference": request.reference,
            "organization": organization.name,
        }
    email_enqueue(
        organization=organization,
        to=request.requester_email,
        template="privacy_requests/intake/portal/email/link",
        subject=subject,
        context=context,
        target=request,
        language=language,
        reply_to=requester_reply_to(organization),
    )


def portal_token_use(*, token_row: RequesterToken) -> PrivacyRequest:
    """Use a portal link once: mark it used and audit the opening. Returns its request.

    Call inside `tenant_context(token_row.organization)`. Raises TokenUnusable when the link
    was used meanwhile (the row is locked), was retired by a newer one, or has expired.
    """
    with transaction.atomic():
        row = (
            RequesterToken.objects.for_organization(token_row.organization)
            .select_for_update()
            .select_related("request__organization")
            .get(pk=token_row.pk, purpose=RequesterToken.Purpose.PORTAL)
        )
        reason = token_unusable_reason(row)
        if reason is not None:
            raise TokenUnusable(reason)
        row.used_at = timezone.now()
        row.save(update_fields=["used_at"])
        record(
            Action.REQUEST_PORTAL_OPENED,
            organization=row.organization,
            target=row.request,
            changes={"token_id": row.pk},
        )
        return row.request


def portal_reply_add(*, request: PrivacyRequest, body: str) -> RequestMessage:
    """The requester's own reply, from the portal: a FROM_REQUESTER message without a staff
    author (`request_message_add` records the timeline event and the audit event)."""
    return request_message_add(
        request=request,
        actor=None,
        direction=RequestMessage.Direction.FROM_REQUESTER,
        body=body,
    )
