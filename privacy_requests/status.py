"""The request status machine, as data: which status may follow which.

Guards that depend on the request (verified before work starts, one extension before the
original deadline, pausing only where a rule allows it) live in the services; this table only
says which moves exist at all. A move not listed here is refused with a clear message.

Acknowledgement and identity verification are facts with their own timestamps
(`acknowledged_at`, `verified_at`) as well as statuses, because either may come first: the law
requires confirming receipt within 10 business days whether or not identity is settled.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    RECEIVED = "received", _("Received")
    AWAITING_VERIFICATION = "awaiting_verification", _("Awaiting verification")
    VERIFIED = "verified", _("Verified")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    IN_PROGRESS = "in_progress", _("In progress")
    ON_HOLD = "on_hold", _("On hold")
    EXTENDED = "extended", _("Extended")
    FULFILLED = "fulfilled", _("Fulfilled")
    DENIED = "denied", _("Denied")
    CLOSED_UNVERIFIED = "closed_unverified", _("Closed as unverified")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    DUPLICATE = "duplicate", _("Duplicate")
    # sent to the platform organization about data another organization controls: moved there
    ROUTED = "routed", _("Routed to the responsible organization")


S = Status
CLOSED_STATUSES = frozenset(
    {S.FULFILLED, S.DENIED, S.CLOSED_UNVERIFIED, S.WITHDRAWN, S.DUPLICATE, S.ROUTED}
)
OPEN_STATUSES = frozenset(Status) - CLOSED_STATUSES
_ENDINGS = {S.WITHDRAWN, S.DUPLICATE, S.ROUTED}
# statuses that say identity is not (yet) verified: refused once it is (services guard)
UNVERIFIED_STATUSES = frozenset({S.AWAITING_VERIFICATION, S.CLOSED_UNVERIFIED})

TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.RECEIVED: frozenset(
        {S.AWAITING_VERIFICATION, S.VERIFIED, S.ACKNOWLEDGED, S.DENIED, S.CLOSED_UNVERIFIED}
        | _ENDINGS
    ),
    S.AWAITING_VERIFICATION: frozenset(
        {S.VERIFIED, S.ACKNOWLEDGED, S.DENIED, S.CLOSED_UNVERIFIED} | _ENDINGS
    ),
    S.VERIFIED: frozenset({S.ACKNOWLEDGED, S.IN_PROGRESS, S.DENIED} | _ENDINGS),
    S.ACKNOWLEDGED: frozenset(
        {S.VERIFIED, S.IN_PROGRESS, S.DENIED, S.CLOSED_UNVERIFIED} | _ENDINGS
    ),
    S.IN_PROGRESS: frozenset({S.ON_HOLD, S.EXTENDED, S.FULFILLED, S.DENIED} | _ENDINGS),
    S.ON_HOLD: frozenset({S.IN_PROGRESS, S.EXTENDED, S.DENIED} | _ENDINGS),
    S.EXTENDED: frozenset({S.ON_HOLD, S.FULFILLED, S.DENIED} | _ENDINGS),
    **{closed: frozenset() for closed in CLOSED_STATUSES},
}


def can_move(current: str, target: str) -> bool:
    return Status(target) in TRANSITIONS[Status(current)]
