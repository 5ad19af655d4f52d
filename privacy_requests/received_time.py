"""The range a request's time of receipt may take: not before RECEIVED_AT_FLOOR, not in the future.

A receipt time is day zero of every deadline, so absurd values do harm far from where they are
typed: year 1 overflowed the conversion to the organization's time zone (a 500), and each such
request cost every queue render the business days between then and now. `request_receive`
enforces the range (privacy_requests.services); the staff form and the API serializer
ask the same function so that the error stands next to the field with the others.

The floor is fixed, not the organization's creation: districts enter older requests on paper
into their register when they start using the portal (CCPA keeps 24 months of records).
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

RECEIVED_AT_FLOOR = datetime(1990, 1, 1, tzinfo=UTC)


def received_at_problem(value: datetime, *, now: datetime | None = None) -> str | None:
    """Why `value` (aware) cannot be a time of receipt, or None when it can."""
    now = now or timezone.now()
    if value > now:
        return _("The date and time of receipt cannot be in the future.")
    if value < RECEIVED_AT_FLOOR:
        return _("The date and time of receipt cannot be before %(floor)s.") % {
            "floor": date_format(RECEIVED_AT_FLOOR.date(), "DATE_FORMAT")
        }
    return None
