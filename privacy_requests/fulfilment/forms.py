"""Forms of the fulfilment page. Each has a prefix: several share the page, ids stay unique."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class PrepareForm(forms.Form):
    prefix = "package"


class FulfilForm(forms.Form):
    prefix = "fulfil"
    message = forms.CharField(
        label=_("Message to the requester (optional)"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": "3"}),
        help_text=_("Added to the answer the requester sees in their portal."),
    )
    # vendors: a deletion request with open vendor tasks closes only with a reason
    open_vendor_tasks_reason = forms.CharField(
        label=_("Why close while vendor tasks are open (only if some are)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": "2"}),
    )


class DeletionForm(forms.Form):
    prefix = "deletion"
    confirm = forms.BooleanField(
        label=_("I reviewed what is removed and what is kept"),
        error_messages={"required": _("Confirm that you reviewed the list before deleting.")},
    )


class CorrectionForm(forms.Form):
    prefix = "correction"
    record = forms.CharField(
        label=_("Record that was corrected"),
        max_length=200,
        help_text=_("Which system and record, e.g. “SIS student record”."),
    )
    field = forms.RegexField(
        label=_("Field"),
        max_length=64,
        regex=r"^[A-Za-z][A-Za-z0-9_ .-]{0,63}$",
        error_messages={
            "invalid": _("Give the field's name (letters, digits, spaces, _ . -), not its value.")
        },
        help_text=_("The field's name only, e.g. “home address”. It goes in the audit log."),
    )
    before = forms.CharField(
        label=_("Value before"), max_length=4000, widget=forms.Textarea(attrs={"rows": "2"})
    )
    after = forms.CharField(
        label=_("Value after"), max_length=4000, widget=forms.Textarea(attrs={"rows": "2"})
    )
    # the values are kept only in an encrypted internal note, never in the audit log

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("before") is not None and data.get("before") == data.get("after"):
            self.add_error("after", _("The value after the correction is the same as before."))
        return data


class EvidenceForm(forms.Form):
    prefix = "evidence"
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "PDF, CSV, Excel (.xlsx), Word (.docx) or an image, at most 10 MB. Redact it first: "
            "it is shared exactly as uploaded."
        ),
        error_messages={"required": _("Choose the file to add.")},
    )
    description = forms.CharField(
        label=_("Description (optional)"),
        required=False,
        max_length=500,
        help_text=_("Shown to the requester next to the file, e.g. “Attendance, 2025-26”."),
    )


class EvidenceRemoveForm(forms.Form):
    prefix = "evidence_remove"
    evidence = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
