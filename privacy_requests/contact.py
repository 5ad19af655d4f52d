"""The organization's privacy contact: where requesters' replies go.

Every email to a requester is sent from the portal's sending address, which nobody reads. It
carries a Reply-To of the organization's privacy contact (`Organization.privacy_contact_email`,
set by admins and privacy officers on the privacy contact page), so that "reply to this email"
reaches the privacy office's own mailbox. There is no inbound mail processing: a reply does not
land on the request's thread; staff add it there ("a message from the requester") when it
matters. Without a contact the emails carry no Reply-To (never a guessed one), and the
requester pages point to the portal's reply form instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from accounts.models import Organization
from audit.actions import Action
from audit.services import record

if TYPE_CHECKING:
    from accounts.models import User
    from privacy_requests.models import PrivacyRequest


def requester_reply_to(organization: Organization) -> str:
    """The Reply-To of emails to the organization's requesters ("" for none)."""
    return organization.privacy_contact_email or ""


def requester_status_link(request: PrivacyRequest) -> str:
    """The absolute address of the request's status page (where the requester asks for a
    portal link and can then write to the privacy team), in the request's language."""
    path = reverse("privacy_intake:portal_link", kwargs={"org_slug": request.organization.slug})
    query = urlencode({"lang": request.language or settings.LANGUAGE_CODE})
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}{path}?{query}"


@transaction.atomic
def organization_privacy_contact_set(
    *, organization: Organization, actor: User | None, email: str
) -> bool:
    """Set (or, with "", clear) the privacy contact address. False: nothing changed.

    Audited as PRIVACY_CONTACT_CHANGED with the domains only: the address may be a person's.
    """
    email = email.strip().lower()
    current = Organization.objects.select_for_update().get(pk=organization.pk)
    before = current.privacy_contact_email
    if before == email:
        return False
    current.privacy_contact_email = email
    current.save(update_fields=["privacy_contact_email", "updated_at"])
    organization.privacy_contact_email = email

    def domain(address: str) -> str | None:
        return address.rpartition("@")[2] if address else None

    record(
        Action.PRIVACY_CONTACT_CHANGED,
        organization=organization,
        target=organization,
        changes={"from_domain": domain(before), "to_domain": domain(email)},
    )
    return True
