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
    mfa_require_passkey_for_admins = forms.BooleanField(
        label=_("Organization admins and privacy officers must sign in with a passkey"),
        help_text=_(
            "A passkey or security key cannot be phished: it works only on this portal's "
            "address. An authenticator app's code is then not enough for these roles."
        ),
        required=False,
        widget=forms.CheckboxInput(
            attrs={"aria-describedby": "id_mfa_require_passkey_for_admins_hint"}
        ),
    )
    passkey_sign_in_allowed = forms.BooleanField(
        label=_("Members may sign in with a passkey alone, without a password"),
        help_text=_(
            "The passkey's PIN or fingerprint check stands in for the password. Applies to "
            "people whose every organization allows it."
        ),
        required=False,
        widget=forms.CheckboxInput(attrs={"aria-describedby": "id_passkey_sign_in_allowed_hint"}),
    )


class PasskeyRegisterForm(forms.Form):
    name = forms.CharField(
        label=_("Name this passkey"),
        max_length=64,
        help_text=_("For example: YubiKey on my keyring, or Work laptop."),
        error_messages={"required": _("Give the passkey a name, so you can tell it apart.")},
    )
    credential = forms.CharField(
        widget=forms.HiddenInput,
        max_length=64 * 1024,
        error_messages={
            "required": _(
                "Your browser did not create a passkey. Press the button and follow your "
                "browser's prompts."
            )
        },
    )


class PasskeyAssertionForm(forms.Form):
    credential = forms.CharField(
        widget=forms.HiddenInput,
        max_length=64 * 1024,
        error_messages={
            "required": _("Your browser did not use a passkey. Press the button and try again.")
        },
    )
