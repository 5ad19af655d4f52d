"""The digest email: one email per member per day with what they would otherwise get one by one.

The tracking engineer's morning sweep decides who gets a digest and what else it says ("due
this week"); this module only delivers it:

    digest_send(
        organization=organization,
        user=member,
        extra_sections=[
            DigestSection(
                title=_("Due this week"),
                items=[DigestItem(text="PR-2026-0042: respond by Fri 4 Dec", url=absolute_url)],
            )
        ],
    )

It collects the member's notifications not yet emailed (`digest_sent_at` is null), renders
`notifications/email/digest.{txt,html}` with them and the sections, puts ONE email in the
outbox and marks those notifications as sent in a digest, all in one transaction. At most one
digest per member, organization and local day (a dedupe key), so a sweep that runs twice sends
nothing the second time. Nothing to say (no notices, no section items) sends nothing.

Call inside the organization's tenant context. Section titles and item texts name references
and dates, never a requester: they are not in the subject, but they are in the body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from k12cloud.notifications.models import Notification, OutboundEmail
from k12cloud.notifications.services import email_enqueue

DIGEST_TEMPLATE = "notifications/email/digest"


@dataclass(frozen=True)
class DigestItem:
    text: str
    url: str = ""


@dataclass(frozen=True)
class DigestSection:
    title: str
    items: Sequence[DigestItem] = field(default_factory=tuple)


def digest_send(
    *,
    organization: Organization,
    user: User,
    extra_sections: Sequence[DigestSection] = (),
    language: str | None = None,
) -> OutboundEmail | None:
    """Email the member one digest (see the module docstring). Returns the outbox row, or None
    when there was nothing to say or today's digest was already sent."""
    sections = [section for section in extra_sections if section.items]
    now = timezone.now()
    local_day = now.astimezone(ZoneInfo(organization.time_zone)).date()
    with transaction.atomic():
        notices = list(
            Notification.objects.for_organization(organization)
            .select_for_update()
            .filter(recipient=user, digest_sent_at__isnull=True)
            .order_by("pk")
        )
        if not notices and not sections:
            return None
        with translation.override(language or translation.get_language()):
            subject = _("Your k12cloud digest for %(organization)s, %(day)s") % {
                "organization": organization.name,
                "day": local_day.isoformat(),
            }
        email = email_enqueue(
            organization=organization,
            to=user.email,
            template=DIGEST_TEMPLATE,
            subject=subject,
            context={"recipient": user, "notices": notices, "sections": sections, "day": local_day},
            target=("accounts.user", user.pk),
            dedupe_key=f"digest:{user.pk}:{local_day.isoformat()}",
            language=language,
        )
        if email is None:
            return None
        Notification.objects.for_organization(organization).filter(
            pk__in=[notice.pk for notice in notices]
        ).update(digest_sent_at=now)
    return email
