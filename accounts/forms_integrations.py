"""Forms of the integrations pages: API keys (and single sign-on connections)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import SsoConnection, validate_domain
from accounts.permissions import Role


class ApiKeyCreateForm(forms.Form):
    NEVER = "never"
    EXPIRY_CHOICES = [
        ("30", _("In 30 days")),
        ("90", _("In 90 days")),
        ("365", _("In one year")),
        (NEVER, _("Never")),
    ]

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What uses this key, e.g. “Student information system sync”."),
    )
    role = forms.ChoiceField(
        label=_("Role"),
        choices=Role.choices,
        initial=Role.VIEWER,
        help_text=_("The key may do what a member with this role may do. Choose the least."),
    )
    expires_in = forms.ChoiceField(label=_("Expires"), choices=EXPIRY_CHOICES, initial="365")
    # one per rendered form: a resubmission (reload, back button, double click) is recognised
    # and creates no second key (accounts.views_integrations.ApiKeyListView)
    submission = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4, required=False)

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Give the key a name."))
        return name

    def expires_at(self) -> datetime | None:
        value = self.cleaned_data["expires_in"]
        if value == self.NEVER:
            return None
        return timezone.now() + timedelta(days=int(value))


class SsoStartForm(forms.Form):
    email = forms.EmailField(label=_("Work email address"), max_length=254)


class SsoConnectionForm(forms.Form):
    provider = forms.ChoiceField(
        label=_("Identity provider"), choices=SsoConnection.Provider.choices
    )
    allowed_domain = forms.CharField(
        label=_("Allowed email domain"),
        max_length=253,
        help_text=_("Members whose address ends in @ and this domain sign in with it."),
    )
    client_id = forms.CharField(label=_("Client ID"), max_length=255)
    client_secret = forms.CharField(
        label=_("Client secret"),
        max_length=500,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to keep the stored secret."),
    )
    tenant_id = forms.CharField(
        label=_("Directory (tenant) ID"),
        max_length=64,
        required=False,
        help_text=_("Microsoft Entra ID only: the directory whose accounts may sign in."),
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    def __init__(self, *args: Any, has_secret: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.has_secret = has_secret

    def clean_allowed_domain(self) -> str:
        domain: str = self.cleaned_data["allowed_domain"].strip().lower().lstrip("@")
        validate_domain(domain)
        return domain

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (
            cleaned.get("provider") == SsoConnection.Provider.MICROSOFT
            and not cleaned.get("tenant_id", "").strip()
        ):
            self.add_error("tenant_id", _("Enter the directory (tenant) ID for Entra ID."))
        if not self.has_secret and not cleaned.get("client_secret"):
            self.add_error("client_secret", _("Enter the client secret."))
        cleaned["tenant_id"] = cleaned.get("tenant_id", "").strip()
        return cleaned
