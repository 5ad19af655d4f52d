"""The written notice of an extension: the reason and the new date, in the request's language.

`request_extend` records it as a message to the requester (emailed after commit when there is
an address); the request page shows the same text, with a placeholder for the reason, in the
extend form before staff submit it. One function renders both, so the preview is what is sent.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from privacy_requests.models import PrivacyRequest

TEMPLATE = "privacy_requests/email/extension_notice.txt"


def extension_notice_text(
    *,
    privacy_request: PrivacyRequest,
    organization_name: str,
    extended_respond_by: date,
    reason: str | None,
) -> str:
    """The notice in the request's language; `reason` None gives the preview's placeholder."""
    with translation.override(privacy_request.language or None):
        return render_to_string(
            TEMPLATE,
            {
                "organization_name": organization_name,
                "reference": privacy_request.reference,
                "respond_by": privacy_request.respond_by,
                "extended_respond_by": extended_respond_by,
                "reason": _("[the reason you give]") if reason is None else reason,
            },
        ).strip()
