"""Forms of the SIS source pages: a source, a package upload, a student search."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sources.models import DataSource

MAX_PACKAGE_BYTES = 512 * 1024 * 1024  # a 50,000-student export is well under 100 MB


class DataSourceForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=DataSource.Kind.choices)
    name = forms.CharField(label=_("Name"), max_length=120)
    base_url = forms.URLField(
        assume_scheme="https",
        label=_("Base URL (REST)"),
        required=False,
        help_text=_("The server's address; the portal adds /ims/oneroster/rostering/v1p2."),
    )
    token_url = forms.URLField(label=_("Token URL (REST)"), required=False, assume_scheme="https")
    client_id = forms.CharField(label=_("Client id (REST)"), max_length=200, required=False)
    client_secret = forms.CharField(
        label=_("Client secret (REST)"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Stored encrypted. Leave empty to keep the stored secret."),
    )


class PackageUploadForm(forms.Form):
    package = forms.FileField(
        label=_("OneRoster CSV package (.zip)"),
        help_text=_("A bulk export with manifest.csv, users.csv and the other files."),
    )

    def clean_package(self) -> Any:
        upload = self.cleaned_data["package"]
        if upload.size > MAX_PACKAGE_BYTES:
            raise forms.ValidationError(_("The package is larger than 512 MB."))
        return upload


class StudentSearchForm(forms.Form):
    identifier = forms.CharField(
        label=_("Student number, SIS id or user id"), max_length=200, required=False
    )
    email = forms.EmailField(label=_("Student email"), required=False)
    given_name = forms.CharField(label=_("First name"), max_length=200, required=False)
    family_name = forms.CharField(label=_("Last name"), max_length=200, required=False)
    birth_date = forms.DateField(
        label=_("Birth date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Required with a name: a name alone matches other children."),
    )


class ConfirmForm(forms.Form):
    record = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class SisDeletionForm(forms.Form):
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": "2"}),
        help_text=_("e.g. who deleted the records in the SIS and when."),
    )
