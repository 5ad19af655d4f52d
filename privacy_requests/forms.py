"""Forms of the staff request pages: intake and the actions of the request page.

Each action form has a `prefix`, so that several forms on the request page never share an
element id and each field's error is tied to it (aria-describedby) when the page re-renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from privacy_requests.labels import REQUEST_TYPE_CHOICES
from privacy_requests.labels import REQUEST_TYPE_LABELS as REQUEST_TYPE_LABELS  # re-exported
from privacy_requests.models import PrivacyRequest, RequestMessage
from privacy_requests.received_time import received_at_problem
from privacy_requests.routing import DeadlineDecision
from privacy_requests.status import UNVERIFIED_STATUSES, Status, can_move

V = PrivacyRequest.VerificationMethod
STAFF_METHOD_CHOICES = [
    (m.value, m.label)
    for m in (V.IN_PERSON_ID, V.RECORDS_MATCH, V.SIGNED_DECLARATION, V.AGENT_PROOF)
]
STAFF_CHANNELS = [
    (c.value, c.label)
    for c in (
        PrivacyRequest.Channel.PHONE,
        PrivacyRequest.Channel.MAIL,
        PrivacyRequest.Channel.IN_PERSON,
        PrivacyRequest.Channel.EMAIL,
    )
]


def _text(
    label: Any, *, required: bool = False, rows: int = 0, help_text: Any = "", **attrs: str
) -> forms.CharField:
    widget: forms.Widget = (
        forms.Textarea(attrs={"rows": str(rows), **attrs}) if rows else forms.TextInput(attrs=attrs)
    )
    return forms.CharField(
        label=label, required=required, max_length=4000, widget=widget, help_text=help_text
    )


class IntakeForm(forms.Form):
    """A phone, mail or in-person request entered by staff."""

    channel = forms.ChoiceField(label=_("How did the request arrive?"), choices=STAFF_CHANNELS)
    request_type = forms.ChoiceField(
        label=_("What is asked for?"),
        choices=REQUEST_TYPE_CHOICES,
    )
    received_at = forms.DateTimeField(
        label=_("Received at"),
        required=False,
        help_text=_("In the organization's time zone. Leave empty for now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    requester_name = _text(_("Requester's name"), required=True, autocomplete="off")
    requester_email = forms.EmailField(
        label=_("Requester's email address"),
        required=False,
        help_text=_("Needed to send secure messages; used to spot duplicate requests."),
    )
    requester_phone = _text(_("Requester's phone number"))
    requester_address = _text(_("Requester's postal address"), rows=3)
    relationship = forms.ChoiceField(
        label=_("Requester's relationship to the person"),
        choices=PrivacyRequest.Relationship.choices,
    )
    subject_name = _text(_("Name of the person the data is about"))
    subject_school = _text(_("Their school"))
    subject_birth_date = forms.DateField(
        label=_("Their date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    details = _text(_("Details of the request"), rows=4)
    verification_method = forms.ChoiceField(
        label=_("How was identity checked?"),
        required=False,
        choices=[("", _("Not checked yet")), *STAFF_METHOD_CHOICES],
    )
    verification_evidence = _text(
        _("What was checked"),
        rows=3,
        help_text=_(
            "For example: the kind of ID seen and its last digits, the records matched. "
            "Kept encrypted."
        ),
    )

    def __init__(self, *args: Any, time_zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone = ZoneInfo(time_zone)

    def clean_received_at(self) -> datetime | None:
        value: datetime | None = self.cleaned_data.get("received_at")
        if value is None:
            return None
        # the field parsed it in the server's zone; the person typed the organization's time
        local = timezone.make_aware(value.replace(tzinfo=None), self.time_zone)
        problem = received_at_problem(local)
        if problem is not None:
            raise ValidationError(problem)
        return local

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if cleaned.get("verification_method") and not cleaned.get("verification_evidence"):
            self.add_error(
                "verification_evidence", _("Describe what was checked to verify identity.")
            )
        if cleaned.get("verification_evidence") and not cleaned.get("verification_method"):
            self.add_error("verification_method", _("Choose how identity was checked."))
        return cleaned


class VerifyForm(forms.Form):
    prefix = "verify"
    method = forms.ChoiceField(label=_("How was identity checked?"), choices=STAFF_METHOD_CHOICES)
    evidence = _text(
        _("What was checked"),
        required=True,
        rows=3,
        help_text=_("For example: the kind of ID seen, the records matched. Kept encrypted."),
    )


class AcknowledgeForm(forms.Form):
    prefix = "acknowledge"
    message = _text(_("Message to the requester"), rows=8)


class AssignForm(forms.Form):
    prefix = "assign"
    assignee = forms.TypedChoiceField(label=_("Assign to"), coerce=int, empty_value=None)

    def __init__(self, *args: Any, choices: list[tuple[Any, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("Nobody")), *choices]
        field.required = False


class ExtendForm(forms.Form):
    prefix = "extend"
    reason = _text(
        _("Reason for the extension"),
        required=True,
        rows=3,
        help_text=_("Told to the requester in the notice shown above."),
    )


class CloseForm(forms.Form):
    prefix = "close"
    outcome = forms.ChoiceField(label=_("Outcome"), choices=PrivacyRequest.Outcome.choices)
    reason = _text(_("Reason (told to the requester)"), rows=3)
    # vendors: a deletion request with open vendor tasks closes as fulfilled only with a reason
    open_vendor_tasks_reason = _text(
        _("Why close while vendor tasks are open (only if some are)"), rows=2
    )

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        outcome = cleaned.get("outcome")
        if outcome and outcome != PrivacyRequest.Outcome.FULFILLED and not cleaned.get("reason"):
            self.add_error("reason", _("Give the reason; the requester is told it."))
        return cleaned


TRANSITION_CHOICES = [
    (Status.IN_PROGRESS.value, _("Start work (in progress)")),
    (Status.ON_HOLD.value, _("Put on hold")),
    (Status.AWAITING_VERIFICATION.value, _("Awaiting verification")),
    (Status.CLOSED_UNVERIFIED.value, _("Close as unverified")),
    (Status.WITHDRAWN.value, _("Withdrawn by the requester")),
]


def transition_choices(request: PrivacyRequest, *, pausing_allowed: bool) -> list[tuple[str, Any]]:
    """The status menu's moves that are legal for this request now: allowed from its status
    (privacy_requests.status) and passing the guards the services apply (verified before work
    starts; nothing "unverified" once identity is verified; on hold only where the binding rule
    allows pausing)."""
    verified = request.verified_at is not None
    choices = []
    for value, label in TRANSITION_CHOICES:
        target = Status(value)
        if not can_move(request.status, target):
            continue
        if target == Status.IN_PROGRESS and not verified:
            continue
        if target in UNVERIFIED_STATUSES and verified:
            continue
        if target == Status.ON_HOLD and not pausing_allowed:
            continue
        choices.append((value, label))
    return choices


class TransitionForm(forms.Form):
    """The status menu. Rendered with `choices=transition_choices(...)`; a POST is checked
    against every menu entry and the service refuses an illegal move with a clear message."""

    prefix = "status"
    to_status = forms.ChoiceField(label=_("New status"), choices=TRANSITION_CHOICES)
    reason = _text(_("Reason"), rows=2)

    def __init__(
        self, *args: Any, choices: Sequence[tuple[str, Any]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if choices is not None:
            self.fields["to_status"].choices = list(choices)  # type: ignore[attr-defined]


class DuplicateForm(forms.Form):
    prefix = "duplicate"
    original = _text(_("Reference of the original request"), required=True)

    def clean_original(self) -> str:
        value: str = self.cleaned_data["original"].strip().upper()
        if not value:
            raise ValidationError(_("Enter the original request's reference."))
        return value


class MessageForm(forms.Form):
    prefix = "message"
    direction = forms.ChoiceField(label=_("Kind"), choices=RequestMessage.Direction.choices)
    body = _text(_("Text"), required=True, rows=5)


class DescribedForm(forms.Form):
    """Ties each field's help text and error to its widget (aria-describedby, aria-invalid)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs["aria-describedby"] = f"{self[name].auto_id}_helptext"

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name not in self.fields:
                continue
            attrs = self.fields[name].widget.attrs
            described = [attrs["aria-describedby"]] if "aria-describedby" in attrs else []
            attrs["aria-describedby"] = " ".join([*described, f"{self[name].auto_id}_error"])
            attrs["aria-invalid"] = "true"


# --- the request page: routing and the review of flagged dates ------------------------------


class RouteForm(DescribedForm):
    prefix = "route"
    to_organization = forms.TypedChoiceField(
        label=_("Organization that holds the data"),
        coerce=int,
        error_messages={"required": _("Choose the organization to route the request to.")},
    )
    note = forms.CharField(
        label=_("Note for the organization (optional)"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": "3"}),
        help_text=_("Kept as an internal note on both requests; the requester does not see it."),
    )

    def __init__(self, *args: Any, targets: Sequence[Organization], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.targets = {o.pk: o for o in targets}
        self.fields["to_organization"].choices = [  # type: ignore[attr-defined]
            ("", _("Choose an organization")),
            *((o.pk, f"{o.name} ({o.get_kind_display()})") for o in targets),
        ]

    def clean_to_organization(self) -> Organization:
        return self.targets[self.cleaned_data["to_organization"]]


class DeadlineReviewForm(DescribedForm):
    prefix = "review"
    decision = forms.ChoiceField(
        label=_("Which dates apply?"),
        choices=[
            (DeadlineDecision.APPLY, _("Apply the recomputed dates")),
            (DeadlineDecision.KEEP, _("Keep the original dates")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose whether to apply or keep the dates.")},
    )


# --- the organization's privacy contact (privacy_requests.contact) ---------------------------


class PrivacyContactForm(DescribedForm):
    email = forms.EmailField(
        label=_("Privacy contact email"),
        required=False,
        max_length=254,
        help_text=_(
            "The privacy office's mailbox, for example privacy@your-district.org. Emails to "
            "requesters carry it as the reply address. Leave it empty for no reply address."
        ),
    )
