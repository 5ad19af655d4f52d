"""Writes of the public intake: receive a web request, issue and use requester links.

The request itself is recorded by `privacy_requests.services.request_receive` (one
audit event there); this module adds the single-use link that confirms the requester's email
and sends it, after commit, in the requester's language.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from k12cloud.encryption.keys import current_keys_pinned
from k12cloud.notifications.services import email_enqueue
from privacy_requests.contact import requester_reply_to
from privacy_requests.deadlines import RequestType
from privacy_requests.models import PrivacyRequest, RequesterToken
from privacy_requests.services import request_confirm_email, request_receive

if TYPE_CHECKING:
    from accounts.models import Organization

CONFIRM_LINK_VALID_FOR = timedelta(days=7)


@dataclass(frozen=True)
class WebSubmission:
    """What the public form collected (already validated)."""

    request_type: str
    relationship: str
    requester_name: str
    requester_email: str
    requester_phone: str = ""
    subject_name: str = ""
    subject_school: str = ""
    subject_birth_date: str = ""  # ISO date or empty
    details: str = ""


@dataclass(frozen=True)
class WebIntakeResult:
    request: PrivacyRequest
    # the opt-out recorded for a Global Privacy Control signal, when the form asked for more
    gpc_opt_out: PrivacyRequest | None


class TokenUnusable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # unknown, used, expired


def requester_token_issue(
    *, request: PrivacyRequest, purpose: str, valid_for: timedelta = CONFIRM_LINK_VALID_FOR
) -> str:
    """A new single-use link secret for the request; only its hash is stored. Returns it."""
    token = secrets.token_urlsafe(32)
    RequesterToken.objects.create(
        organization=request.organization,
        request=request,
        purpose=purpose,
        token_hash=RequesterToken.hash_token(token),
        expires_at=timezone.now() + valid_for,
    )
    return token


def web_request_receive(
    *,
    organization: Organization,
    submission: WebSubmission,
    language: str,
    gpc_signal: bool,
    gpc_means_opt_out: bool,
    confirm_url_for: Callable[[str], str],
) -> WebIntakeResult:
    """Record a request sent through the public form and email the confirmation link.

    `gpc_signal`: the browser sent `Sec-GPC: 1`; it is recorded on the request. Where the
    organization's rules include CCPA (`gpc_means_opt_out`), the signal is itself a valid
    request to opt out of sale and sharing: when the form asked for something else, a separate
    opt-out request is recorded too (CCPA does not allow verifying an opt-out, so it needs no
    confirmation). `confirm_url_for(token)` builds the absolute link for the email.
    """

    def receive(request_type: str, details: str) -> PrivacyRequest:
        return request_receive(
            organization=organization,
            request_type=request_type,
            channel=PrivacyRequest.Channel.WEB,
            relationship=submission.relationship,
            requester_name=submission.requester_name,
            requester_email=submission.requester_email,
            requester_phone=submission.requester_phone,
            subject_name=submission.subject_name,
            subject_school=submission.subject_school,
            subject_birth_date=submission.subject_birth_date,
            details=details,
            gpc_signal=gpc_signal,
            language=language,
            alert=False,  # the privacy team hears of it once the requester confirms the email
        )

    # the current keys read once for every sealed value and blind index of the request(s),
    # the link and the email, instead of once per value (one transaction's work)
    with transaction.atomic(), current_keys_pinned(organization.pk):
        request = receive(submission.request_type, submission.details)
        opt_out = None
        if gpc_signal and gpc_means_opt_out and submission.request_type != RequestType.OPT_OUT:
            opt_out = receive(RequestType.OPT_OUT, "")
        token = requester_token_issue(request=request, purpose=RequesterToken.Purpose.CONFIRM_EMAIL)
        link = confirm_url_for(token)
        references = [request.reference] + ([opt_out.reference] if opt_out else [])
        # into the outbox, in this transaction: sent after commit (k12cloud.notifications)
        _send_confirmation_email(organization, request, references, link, language)
    return WebIntakeResult(request, opt_out)


def _send_confirmation_email(
    organization: Organization,
    request: PrivacyRequest,
    references: list[str],
    link: str,
    language: str,
) -> None:
    context = {
        "organization_name": organization.name,
        "reference": request.reference,
        "gpc_reference": references[1] if len(references) > 1 else "",
        "link": link,
        "valid_days": CONFIRM_LINK_VALID_FOR.days,
        "LANGUAGE_CODE": language,
    }
    with translation.override(language):
        # the subject names the organization and the reference: no one's personal data
        subject = _("Confirm your privacy request %(reference)s to %(organization)s") % {
            "reference": request.reference,
            "organization": organization.name,
        }
    email_enqueue(
        organization=organization,
        to=request.requester_email,
        template="privacy_requests/intake/email/confirm",
        subject=subject,
        context=context,
        target=request,
        language=language,
        reply_to=requester_reply_to(organization),
    )


def requester_token_use(*, token_row: RequesterToken) -> PrivacyRequest:
    """Use a confirm-email link once: mark it used and confirm the request's email.

    Call inside `tenant_context(token_row.organization)`. Raises TokenUnusable when the link
    was used meanwhile (the row is locked) or has expired.
    """
    with transaction.atomic():
        row = (
            RequesterToken.objects.for_organization(token_row.organization)
            .select_for_update()
            .select_related("request__organization")
            .get(pk=token_row.pk)
        )
        reason = token_unusable_reason(row)
        if reason is not None:
            raise TokenUnusable(reason)
        row.used_at = timezone.now()
        row.save(update_fields=["used_at"])
        return request_confirm_email(request=row.request)


def token_unusable_reason(row: RequesterToken | None) -> str | None:
    if row is None:
        return "unknown"
    if row.used_at is not None:
        return "used"
    if timezone.now() >= row.expires_at:
        return "expired"
    return None
