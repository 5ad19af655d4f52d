"""Forms of the incident pages. Times are entered in the organization's local time."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from incidents.deadlines import zone_for
from incidents.models import DATA_CATEGORIES, IncidentStatus, RecipientList

_RESIDENTS = re.compile(r"^\s*([A-Za-z]{2})\s*=\s*(\d{1,9})\s*$")


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class LocalDateTimeField(forms.DateTimeField):
    """A datetime-local value read in the organization's time zone (set by the form)."""

    widget = LocalDateTimeInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"], **kwargs)


class _ZonedForm(forms.Form):
    def __init__(self, *args: Any, time_zone: str = "UTC", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone_for(time_zone)

    def _zoned(self, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=self.zone) if value.tzinfo is None else value

    def _clean_time(self, name: str) -> datetime | None:
        value = self.cleaned_data.get(name)
        if value is not None and value.tzinfo is not None:
            value = value.replace(tzinfo=None)  # the form's value is local wall-clock time
        return self._zoned(value)


class IncidentForm(_ZonedForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("What happened"), widget=forms.Textarea(attrs={"rows": "5"})
    )
    systems = forms.CharField(
        label=_("Systems involved"), required=False, widget=forms.Textarea(attrs={"rows": "2"})
    )
    data_categories = forms.MultipleChoiceField(
        label=_("Data involved"),
        choices=DATA_CATEGORIES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    discovered_at = LocalDateTimeField(
        label=_("Discovered at"), help_text=_("Your organization's local time.")
    )
    affected_total = forms.IntegerField(label=_("People affected"), min_value=0, required=False)
    residents = forms.CharField(
        label=_("Affected people by state or province"),
        required=False,
        help_text=_("Two-letter codes with counts, separated by commas: NY=120, CA=40"),
    )

    def clean_discovered_at(self) -> datetime | None:
        return self._clean_time("discovered_at")

    def clean_residents(self) -> dict[str, int]:
        text = self.cleaned_data.get("residents") or ""
        residents: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            match = _RESIDENTS.match(part)
            if not match:
                raise forms.ValidationError(_("Write each as ST=N, e.g. NY=120."))
            residents[match.group(1).upper()] = int(match.group(2))
        return residents


class StatusForm(_ZonedForm):
    status = forms.ChoiceField(label=_("New status"), choices=IncidentStatus.choices)
    reasoning = forms.CharField(
        label=_("Why this is not a breach"),
        required=False,
        widget=forms.Textarea(attrs={"rows": "3"}),
        help_text=_("Required for “not a breach”: regulators ask for this record."),
    )


class RegimesForm(forms.Form):
    regimes = forms.MultipleChoiceField(
        label=_("Regimes that apply"), widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["regimes"].choices = choices  # type: ignore[attr-defined]


class DelayForm(_ZonedForm):
    agency = forms.CharField(label=_("Agency"), max_length=200)
    requested_by = forms.CharField(label=_("Who asked"), max_length=200)
    requested_at = LocalDateTimeField(label=_("Asked at"))

    def clean_requested_at(self) -> datetime | None:
        return self._clean_time("requested_at")


class DelayEndForm(forms.Form):
    risk_ended_on = forms.DateField(
        label=_("Risk ended on"), widget=forms.DateInput(attrs={"type": "date"})
    )


class NotifyDistrictsForm(forms.Form):
    districts = forms.MultipleChoiceField(
        label=_("Districts affected"), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["districts"].choices = choices  # type: ignore[attr-defined]


class RecipientsForm(forms.Form):
    kind = forms.ChoiceField(label=_("Who is on the list"), choices=RecipientList.Kind.choices)
    file = forms.FileField(
        label=_("CSV file"), help_text=_("Columns: name, email, language (en or es).")
    )


class NoticeForm(forms.Form):
    subject_en = forms.CharField(label=_("Subject (English)"), max_length=200)
    body_en = forms.CharField(
        label=_("Notice (English)"), widget=forms.Textarea(attrs={"rows": "12"})
    )
    subject_es = forms.CharField(label=_("Subject (Spanish)"), max_length=200)
    body_es = forms.CharField(
        label=_("Notice (Spanish)"), widget=forms.Textarea(attrs={"rows": "12"})
    )
    recipient_lists = forms.MultipleChoiceField(
        label=_("Send to the uploaded lists"), required=False, widget=forms.CheckboxSelectMultiple
    )
    include_members = forms.BooleanField(
        label=_("Also send to this organization's members"), required=False
    )

    def __init__(self, *args: Any, list_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["recipient_lists"].choices = list_choices  # type: ignore[attr-defined]


class SubmissionForm(forms.Form):
    confirmation = forms.CharField(
        label=_("Confirmation (reference, email, form number)"), max_length=500, required=False
    )
