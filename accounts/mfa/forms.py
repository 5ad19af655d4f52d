from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization


class EnrolForm(forms.Form):
    code = forms.RegexField(
        label=_("Six-digit code from the app"),
        regex=r"^\s*\d{3}\s?\d{3}\s*$",
        error_messages={
            "required": _("Enter the six-digit code your authenticator app shows."),
            "invalid": _("The code is six digits, for example 123456."),
        },
    )


class VerifyForm(forms.Form):
    code = forms.CharField(
        label=_("Authentication code"),
        max_length=32,
        error_messages={
            "required": _("Enter the code from your authenticator app, or a recovery code."),
        },
    )


class MfaPolicyForm(forms.Form):
    mfa_policy = forms.ChoiceField(
        label=_("Who must use a second factor"),
        choices=Organization.MfaPolicy.choices,
        widget=forms.RadioSelect,
    )
