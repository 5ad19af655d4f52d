from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from k12cloud.notifications.models import NotificationPreference


class NotificationPreferenceForm(forms.Form):
    delivery = forms.ChoiceField(
        label=_("How do you want to hear about notifications?"),
        choices=NotificationPreference.Delivery.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose how you want to be emailed.")},
    )


class NotificationReadForm(forms.Form):
    """Mark one notification read (and optionally open it), or all of them."""

    notification = forms.IntegerField(required=False, min_value=1)
    all = forms.BooleanField(required=False)
    open = forms.BooleanField(required=False)

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if not cleaned.get("all") and not cleaned.get("notification"):
            raise forms.ValidationError(_("Choose a notification to mark as read."))
        return cleaned
