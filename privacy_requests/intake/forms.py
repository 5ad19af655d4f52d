"""The public request form, in plain language (English and Spanish)."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from privacy_requests.deadlines import RequestType
from privacy_requests.models import PrivacyRequest

# One line each, as a parent would say it.
REQUEST_TYPE_LABELS: dict[str, Any] = {
    RequestType.ACCESS: _("See my information: get a copy of the personal information you hold"),
    RequestType.CORRECT: _("Correct my information: fix personal information that is wrong"),
    RequestType.DELETE: _("Delete my information: erase the personal information you hold"),
    RequestType.PORTABILITY: _(
        "Take my information elsewhere: get a copy in a file another service can read"
    ),
    RequestType.OPT_OUT: _("Stop selling or sharing: do not sell or share my personal information"),
    RequestType.WITHDRAW_CONSENT: _("Withdraw my consent: stop uses I agreed to before"),
    RequestType.FERPA_INSPECT: _(
        "Inspect education records: see a student's records kept by the school"
    ),
    RequestType.FERPA_AMEND: _(
        "Amend education records: ask the school to change a record that is wrong or misleading"
    ),
    RequestType.LIMIT_SENSITIVE: _(
        "Limit sensitive information: use sensitive personal information only where needed"
    ),
}

R = PrivacyRequest.Relationship
RELATIONSHIP_LABELS: dict[str, Any] = {
    R.SELF: _("I am asking about my own information"),
    R.PARENT: _("I am a parent or guardian asking about my child"),
    R.ELIGIBLE_STUDENT: _("I am a student aged 18 or older asking about my own records"),
    R.AGENT: _("I am an authorized agent acting for someone else"),
}
# the requester is not the person the data is about: tell us who is
ON_BEHALF = frozenset({R.PARENT, R.AGENT})


class IntakeForm(forms.Form):
    request_type = forms.ChoiceField(
        label=_("What would you like us to do?"), widget=forms.RadioSelect
    )
    relationship = forms.ChoiceField(
        label=_("Who is the information about?"),
        choices=list(RELATIONSHIP_LABELS.items()),
        widget=forms.RadioSelect,
    )
    requester_name = forms.CharField(
        label=_("Your full name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    requester_email = forms.EmailField(
        label=_("Your email address"),
        help_text=_("We send a link to this address. Open it to confirm your request."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    requester_phone = forms.CharField(
        label=_("Your phone number (optional)"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    subject_name = forms.CharField(label=_("Their full name"), max_length=200, required=False)
    subject_school = forms.CharField(
        label=_("Their school (optional)"), max_length=200, required=False
    )
    subject_birth_date = forms.DateField(
        label=_("Their date of birth"),
        required=False,
        help_text=_("For example 2012-09-30 (year-month-day)."),
        # typed as the hint says: a browser date picker shows its own order (mm/dd/yyyy in
        # US English), which contradicted the year-month-day hint
        widget=forms.DateInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "size": "10"}, format="%Y-%m-%d"
        ),
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _("Enter the date as year-month-day, for example 2012-09-30.")},
    )
    details = forms.CharField(
        label=_("Anything else we should know (optional)"),
        help_text=_("For example which information you mean, or how you use our services."),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    # the proof of work's answer, filled in by static/js/intake.js
    altcha = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, request_types: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["request_type"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(t, REQUEST_TYPE_LABELS[t]) for t in request_types]
        field.error_messages["required"] = _("Choose what you would like us to do.")
        self.fields["relationship"].error_messages["required"] = _(
            "Choose who the information is about."
        )
        self.fields["requester_name"].error_messages["required"] = _("Enter your full name.")
        self.fields["requester_email"].error_messages.update(
            {
                "required": _("Enter your email address."),
                "invalid": _("Enter an email address like name@example.com."),
            }
        )

    def clean_subject_birth_date(self) -> datetime.date | None:
        value: datetime.date | None = self.cleaned_data.get("subject_birth_date")
        if value is not None and value >= timezone.localdate():
            raise forms.ValidationError(_("The date of birth must be in the past."))
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("relationship") in ON_BEHALF:
            if not cleaned.get("subject_name", "").strip() and "subject_name" not in self.errors:
                self.add_error(
                    "subject_name",
                    _("Enter the name of the person the information is about."),
                )
            if (
                cleaned.get("subject_birth_date") is None
                and "subject_birth_date" not in self.errors
            ):
                self.add_error(
                    "subject_birth_date",
                    _("Enter their date of birth, so that we find the right records."),
                )
        return cleaned
