"""The portal's forms: ask for a link (email + reference), and the requester's reply."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

# references look like R-7KQ2-M9XD; people type them with spaces or lower case
_REFERENCE = re.compile(r"^[A-Z0-9-]{4,16}$")


class PortalLinkForm(forms.Form):
    email = forms.EmailField(
        label=_("Your email address"),
        help_text=_("The address you gave when you sent the request."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": _("Enter your email address."),
            "invalid": _("Enter an email address like name@example.com."),
        },
    )
    reference = forms.CharField(
        label=_("Request reference"),
        help_text=_("It is in the email we sent you, for example R-7KQ2-M9XD."),
        max_length=32,
        error_messages={"required": _("Enter the reference of your request.")},
    )

    def clean_reference(self) -> str:
        value = re.sub(r"\s+", "", self.cleaned_data["reference"]).upper()
        if not _REFERENCE.match(value):
            raise forms.ValidationError(
                _("Enter the reference as it is in the email, for example R-7KQ2-M9XD.")
            )
        return value


class PortalReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("Write your message.")},
    )

    def clean_body(self) -> Any:
        value = self.cleaned_data["body"].strip()
        if not value:
            raise forms.ValidationError(_("Write your message."))
        return value
