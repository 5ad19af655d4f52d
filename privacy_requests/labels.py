"""How request types, statuses and timeline events read to people (pages, exports, packages).

Codes (`access`, `ferpa_inspect`, `package_prepared`) stay the stored values and the API's;
everything a person reads goes through these labels. An unknown code reads as words
("Some new kind"), never as `some_new_kind`.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from privacy_requests.deadlines import RequestType
from privacy_requests.status import Status

REQUEST_TYPE_LABELS: dict[str, Promise] = {
    RequestType.ACCESS: _("Access (a copy of the data)"),
    RequestType.DELETE: _("Deletion"),
    RequestType.CORRECT: _("Correction"),
    RequestType.PORTABILITY: _("Portability"),
    RequestType.OPT_OUT: _("Opt out of sale or sharing"),
    RequestType.LIMIT_SENSITIVE: _("Limit use of sensitive data"),
    RequestType.RESTRICT: _("Restrict processing"),
    RequestType.OBJECT: _("Object to processing"),
    RequestType.WITHDRAW_CONSENT: _("Withdraw consent"),
    RequestType.FERPA_INSPECT: _("Inspect education records (FERPA)"),
    RequestType.FERPA_AMEND: _("Amend education records (FERPA)"),
}
REQUEST_TYPE_CHOICES: list[tuple[str, Promise]] = [
    (str(t), label) for t, label in REQUEST_TYPE_LABELS.items()
]

EVENT_LABELS: dict[str, Promise] = {
    "received": _("Request received"),
    "email_confirmed": _("Email address confirmed"),
    "status_changed": _("Status changed"),
    "acknowledged": _("Receipt acknowledged"),
    "verified": _("Identity verified"),
    "assigned": _("Assigned"),
    "extended": _("Deadline extended"),
    "closed": _("Closed"),
    "withdrawn": _("Withdrawn"),
    "duplicate": _("Closed as a duplicate"),
    "message_added": _("Message added"),
    # routing (privacy_requests.routing)
    "routed_out": _("Routed to another organization"),
    "routed_in": _("Routed here from another organization"),
    "deadlines_reviewed": _("Deadlines reviewed after a rule change"),
    # fulfilment (privacy_requests.fulfilment)
    "evidence_added": _("Evidence file added to the package"),
    "evidence_removed": _("Evidence file removed"),
    "package_prepared": _("Package prepared"),
    "deletion_performed": _("Deletion carried out"),
    "correction_recorded": _("Correction recorded"),
    # tracking (privacy_requests.tracking)
    "confirmation_reminder_sent": _("Reminder to confirm the email address sent"),
}


def _words(code: str) -> str:
    return code.replace("_", " ").strip().capitalize()


def request_type_label(value: str) -> str:
    label = REQUEST_TYPE_LABELS.get(value)
    return str(label) if label is not None else _words(value)


def status_label(value: str) -> str:
    return str(Status(value).label) if value in Status.values else _words(value)


def event_label(kind: str) -> str:
    label = EVENT_LABELS.get(kind)
    return str(label) if label is not None else _words(kind)
