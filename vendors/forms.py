"""Forms of the vendor pages: they parse input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from vendors.models import (
    DEFAULT_ACCESS_RESPONSE_DAYS,
    DEFAULT_DISPOSAL_DAYS,
    SHAREABLE_IDENTIFIERS,
    AnswerKind,
    TaskKind,
    Vendor,
)
from vendors.services import MAX_FILES, IncomingFile


def _textarea(label: Any, *, required: bool = False, rows: int = 3, help_text: Any = "") -> Any:
    return forms.CharField(
        label=label,
        required=required,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": str(rows)}),
        help_text=help_text,
    )


class DateInput(forms.DateInput):
    input_type = "date"


class VendorForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    services = _textarea(_("Services"), help_text=_("What the vendor provides to your schools."))
    data_categories = forms.CharField(
        label=_("Data categories"),
        required=False,
        max_length=1000,
        help_text=_("Separated by commas, e.g. name, grades, assessment results."),
    )
    contact_emails = _textarea(
        _("Contact email addresses"),
        rows=2,
        help_text=_("One a line. Vendors not on k-12.cloud are emailed at the first one."),
    )
    dpa_signed_on = forms.DateField(label=_("DPA signed on"), required=False, widget=DateInput)
    dpa_expires_on = forms.DateField(label=_("DPA expires on"), required=False, widget=DateInput)
    access_response_days = forms.IntegerField(
        label=_("Days to answer an access request"),
        initial=DEFAULT_ACCESS_RESPONSE_DAYS,
        min_value=1,
        max_value=365,
        help_text=_("Calendar days; 45 in the National Data Privacy Agreement."),
    )
    disposal_days = forms.IntegerField(
        label=_("Days to dispose of data"),
        initial=DEFAULT_DISPOSAL_DAYS,
        min_value=1,
        max_value=365,
        help_text=_("Calendar days; 60 in the National Data Privacy Agreement."),
    )
    portal_organization = forms.ModelChoiceField(
        label=_("The vendor's organization on k-12.cloud"),
        queryset=Organization.objects.none(),
        required=False,
        empty_label=_("Not on k-12.cloud (email a link)"),
        help_text=_("Tasks then go to the vendor's own queue here instead of by email."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["portal_organization"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = (
            Organization.objects.filter(status=Organization.Status.ACTIVE)
            .exclude(kind=Organization.Kind.PLATFORM)
            .exclude(pk=organization.pk)
            .order_by("name")
        )

    @staticmethod
    def initial_for(vendor: Vendor) -> dict[str, Any]:
        return {
            "name": vendor.name,
            "services": vendor.services,
            "data_categories": ", ".join(vendor.data_categories),
            "contact_emails": vendor.contact_emails,
            "dpa_signed_on": vendor.dpa_signed_on,
            "dpa_expires_on": vendor.dpa_expires_on,
            "access_response_days": vendor.access_response_days,
            "disposal_days": vendor.disposal_days,
            "portal_organization": vendor.portal_organization_id,
            "is_active": vendor.is_active,
        }


class PolicyForm(forms.Form):
    margin_business_days = forms.IntegerField(
        label=_("Margin before our own deadline (business days)"),
        min_value=0,
        max_value=30,
        help_text=_(
            "A vendor's task is due at least this many business days before we must answer."
        ),
    )


class ForwardForm(forms.Form):
    vendors = forms.ModelMultipleChoiceField(
        label=_("Vendors"),
        queryset=Vendor._base_manager.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    kind = forms.ChoiceField(label=_("What the vendor should do"), choices=TaskKind.choices)
    identifiers = forms.MultipleChoiceField(
        label=_("Identifiers to share"),
        choices=list(SHAREABLE_IDENTIFIERS.items()),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only what you tick is shared; share the least the vendor needs."),
    )
    student_id = forms.CharField(
        label=_("Student ID (if shared)"),
        required=False,
        max_length=100,
        help_text=_("The student number the vendor knows the student by."),
    )
    instructions = _textarea(_("Instructions to the vendor"))

    def __init__(self, *args: Any, vendors: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["vendors"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = vendors


class SkipForm(forms.Form):
    reason = _textarea(_("Why skip this vendor"), required=True, rows=2)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class AnswerForm(forms.Form):
    answer_kind = forms.ChoiceField(label=_("Your answer"), choices=AnswerKind.choices)
    attachments = MultipleFileField(
        label=_("Files (the export, or the certificate of disposition)"),
        required=False,
        help_text=_("Up to %(n)d files, 20 MB each. Stored encrypted.") % {"n": MAX_FILES},
    )
    note = _textarea(_("Note (the reason, for “no records”)"), rows=2)

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from vendors.models import ANSWERS_FOR_KIND

        field = self.fields["answer_kind"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(k, AnswerKind(k).label) for k in ANSWERS_FOR_KIND[kind]]

    def incoming_files(self) -> list[IncomingFile]:
        return [
            IncomingFile(
                name=upload.name or "file",
                content_type=upload.content_type or "application/octet-stream",
                data=upload.read(),
            )
            for upload in self.cleaned_data.get("attachments") or []
        ]


class LinkAnswerForm(AnswerForm):
    responder_name = forms.CharField(label=_("Your name"), max_length=200)
    responder_email = forms.EmailField(label=_("Your email address"))


class CodeRequestForm(forms.Form):
    reference = forms.CharField(label=_("Task reference"), max_length=16)
    email = forms.EmailField(label=_("Your email address"))


class CodeForm(forms.Form):
    reference = forms.CharField(label=_("Task reference"), max_length=16)
    code = forms.CharField(label=_("Code"), max_length=12)
