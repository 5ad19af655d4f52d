"""The morning digest: one email per privacy member of what is due this week, at about 07:00
in the organization's time zone, with their notifications that waited for a digest.

Beat runs `digest_send_due` hourly for every organization; it does nothing unless the
organization's local hour is in the digest window. Delivery is the notification system's
`digest_send` (k12cloud/notifications/digest.py): it adds the member's un-emailed notices and
enforces one digest per member and local day (dedupe key `digest:<user id>:<local date>`), so
a day gets at most one digest however often this runs. This module decides who gets one and
writes the "due this week" sections: references, types and dates, never a requester.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.permissions import Role
from k12cloud.notifications.digest import DigestItem, DigestSection, digest_send
from privacy_requests.deadlines.calendars import business_days_between
from privacy_requests.models import PrivacyRequest
from privacy_requests.rules.selectors import organization_calendar
from privacy_requests.tracking.selectors import (
    open_requests_due_by,
    privacy_memberships,
    response_due_on,
)
from privacy_requests.tracking.services import local_now, portal_url, request_page_path

if TYPE_CHECKING:
    from accounts.models import Organization, User
    from privacy_requests.deadlines.calendars import CalendarSpec

DIGEST_HOUR = 7
# A beat that was down at 07:00 still sends the day's digest at its first run before noon;
# after that the day is skipped rather than a "morning" digest arriving at night.
DIGEST_LAST_HOUR = 11
DIGEST_DAYS_AHEAD = 7


@dataclass
class MemberDigest:
    user: User
    assigned: list[DigestItem] = field(default_factory=list)
    unassigned: list[DigestItem] = field(default_factory=list)

    def sections(self) -> list[DigestSection]:
        return [
            DigestSection(_("Assigned to you, due within 7 days"), self.assigned),
            DigestSection(_("Unassigned, due within 7 days"), self.unassigned),
        ]


def _open_deadline(request: PrivacyRequest) -> tuple[str, date | None]:
    if request.acknowledged_at is None and request.acknowledge_by is not None:
        return "acknowledge", request.acknowledge_by
    return "respond", response_due_on(request)


def digest_line(
    request: PrivacyRequest, *, today: date, calendar: CalendarSpec
) -> tuple[str, date] | None:
    """ "R-7KQ2-M9XD (access): acknowledge by Mon 30 Nov 2026, 3 business days left"."""
    deadline, due_on = _open_deadline(request)
    if due_on is None:
        return None
    values = {
        "reference": request.reference,
        "type": request.request_type,
        "date": due_on.strftime("%a %d %b %Y"),
    }
    if deadline == "acknowledge":
        text = _("%(reference)s (%(type)s): acknowledge by %(date)s") % values
    else:
        text = _("%(reference)s (%(type)s): respond by %(date)s") % values
    left = business_days_between(today, due_on, calendar)
    if due_on < today:
        late = max(1, -left)
        text += ", " + ngettext(
            "overdue by %(days)s business day", "overdue by %(days)s business days", late
        ) % {"days": late}
    else:
        text += ", " + ngettext(
            "%(days)s business day left", "%(days)s business days left", left
        ) % {"days": left}
    return text, due_on


def digests_build(*, organization: Organization, today: date) -> list[MemberDigest]:
    """Each privacy member's sections: their assigned requests with a deadline on or before a
    week from today (overdue included, earliest first) and, for privacy officers, the
    unassigned ones. Two queries (members, requests)."""
    memberships = privacy_memberships(organization=organization)
    if not memberships:
        return []
    requests = open_requests_due_by(
        organization=organization, last_day=today + timedelta(days=DIGEST_DAYS_AHEAD)
    )
    calendar = organization_calendar(organization)
    lines: list[tuple[PrivacyRequest, DigestItem]] = []
    for request in requests:
        line = digest_line(request, today=today, calendar=calendar)
        if line is not None:
            url = portal_url(request_page_path(organization, request))
            lines.append((request, DigestItem(text=line[0], url=url)))
    digests = []
    for membership in memberships:
        digest = MemberDigest(user=membership.user)
        for request, item in lines:
            if request.assignee_id == membership.user_id:
                digest.assigned.append(item)
            elif request.assignee_id is None and membership.role == Role.PRIVACY_OFFICER:
                digest.unassigned.append(item)
        digests.append(digest)
    return digests


def digest_send_due(*, organization: Organization) -> int:
    """Send today's digests if the organization's local time is the digest hour (or a little
    after it, see DIGEST_LAST_HOUR) and they were not sent yet. A member with nothing due and
    no waiting notices gets none. Returns the emails written."""
    now = local_now(organization)
    if not DIGEST_HOUR <= now.hour <= DIGEST_LAST_HOUR:
        return 0
    sent = 0
    for digest in digests_build(organization=organization, today=now.date()):
        email = digest_send(
            organization=organization, user=digest.user, extra_sections=digest.sections()
        )
        sent += email is not None
    return sent
