"""The audit log's filter form (the page and its export share it)."""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiKey, Membership
from audit.labels import action_choices
from audit.selectors import AuditFilter

_ACTOR = re.compile(r"^(member|key):(\d{1,18})$")


def actor_choices(memberships: list[Membership], keys: list[ApiKey]) -> list[tuple[Any, Any]]:
    """Members (deactivated ones too: their past actions stay in the log) and API keys."""
    members = [
        (
            f"member:{m.user_id}",
            f"{m.user.full_name or m.user.email} <{m.user.email}>"
            + ("" if m.is_active else f" ({_('deactivated')})"),
        )
        for m in memberships
    ]
    api_keys = [
        (
            f"key:{k.pk}",
            f"{k.name} ({k.prefix})" + ("" if k.revoked_at is None else f" ({_('revoked')})"),
        )
        for k in keys
    ]
    choices: list[tuple[Any, Any]] = [("", _("Anyone"))]
    if members:
        choices.append((_("Members"), members))
    if api_keys:
        choices.append((_("API keys"), api_keys))
    return choices


class AuditFilterForm(forms.Form):
    actor = forms.ChoiceField(label=_("Who"), required=False)
    action = forms.ChoiceField(label=_("Action"), required=False)
    target_type = forms.CharField(
        label=_("Target type"),
        required=False,
        max_length=64,
        help_text=_("For example accounts.membership or accounts.apikey."),
    )
    target_id = forms.CharField(
        label=_("Target id"),
        required=False,
        max_length=64,
        help_text=_("The id of the member, invitation, key or other record acted on."),
    )
    date_from = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("First day included, in the organization's time zone."),
    )
    date_to = forms.DateField(
        label=_("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Last day included, in the organization's time zone."),
    )

    def __init__(
        self, *args: Any, actors: list[tuple[Any, Any]], time_zone: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone = zoneinfo.ZoneInfo(time_zone)
        self.fields["actor"].choices = actors  # type: ignore[attr-defined]
        self.fields["action"].choices = [("", _("Any action")), *action_choices()]  # type: ignore[attr-defined]
        for name, bound_field in self.fields.items():
            if bound_field.help_text:
                bound_field.widget.attrs["aria-describedby"] = f"id_{name}_hint"

    def full_clean(self) -> None:
        super().full_clean()
        # tie each error to its field for screen readers (the template renders id_<name>_error)
        for name in self.errors if self.is_bound else ():
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = " ".join(
                    filter(None, [attrs.get("aria-describedby"), f"id_{name}_error"])
                )

    def clean_target_type(self) -> str:
        value: str = self.cleaned_data["target_type"].strip().lower()
        if value and not re.fullmatch(r"[a-z0-9_]+\.[a-z0-9_]+", value):
            raise ValidationError(_("Enter a type like accounts.membership (app.model)."))
        return value

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The last day must not be before the first day."))
        if cleaned.get("target_id") and not cleaned.get("target_type"):
            self.add_error("target_type", _("Choose the target type the id belongs to."))
        return cleaned

    def to_filter(self) -> AuditFilter:
        """The valid form as a selector filter; days are read in the organization's zone."""
        data = self.cleaned_data
        actor = _ACTOR.match(data.get("actor") or "")
        kind, identifier = (actor.group(1), int(actor.group(2))) if actor else ("", None)
        start, end = data.get("date_from"), data.get("date_to")
        return AuditFilter(
            actor_user_id=identifier if kind == "member" else None,
            actor_api_key_id=identifier if kind == "key" else None,
            action=data.get("action") or "",
            target_type=data.get("target_type") or "",
            target_id=(data.get("target_id") or "").strip(),
            occurred_from=datetime.combine(start, time.min, self.time_zone) if start else None,
            occurred_before=(
                datetime.combine(end + timedelta(days=1), time.min, self.time_zone) if end else None
            ),
        )

    def filter_values(self) -> list[tuple[str, str]]:
        """The submitted filters that are set, to carry them into the export and page links."""
        return [(name, str(self.data[name])) for name in self.fields if self.data.get(name)]


class AuditExportForm(AuditFilterForm):
    FORMATS = (("csv", "CSV"), ("json", "JSON"))
    format = forms.ChoiceField(label=_("Format"), choices=FORMATS)
