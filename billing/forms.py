"""Billing portal forms: purchase orders, PO documents, attaching a PO, billing contacts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from billing.models import PurchaseOrder
from billing.services import PDF_MAGIC


def _read_pdf(upload: UploadedFile | None) -> bytes | None:
    if upload is None:
        return None
    if upload.size is not None and upload.size > PurchaseOrder.MAX_DOCUMENT_BYTES:
        raise forms.ValidationError(_("The document is larger than 5 MB. Upload a smaller PDF."))
    content = upload.read()
    if not content.startswith(PDF_MAGIC):
        raise forms.ValidationError(_("The document must be a PDF file."))
    return content


class PurchaseOrderForm(forms.Form):
    number = forms.CharField(label=_("PO number"), max_length=64)
    amount = forms.DecimalField(
        label=_("Amount (USD)"),
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        help_text=_("Optional: the amount the PO covers."),
    )
    valid_from = forms.DateField(
        label=_("Valid from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_until = forms.DateField(
        label=_("Valid until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    document = forms.FileField(
        label=_("PO document (PDF, up to 5 MB)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )

    def clean_document(self) -> bytes | None:
        return _read_pdf(self.cleaned_data.get("document"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("valid_from"), cleaned.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("The end date is before the start date."))
        return cleaned

    def amount_cents(self) -> int | None:
        amount = self.cleaned_data.get("amount")
        return None if amount is None else int(amount * 100)

    def document_name(self) -> str:
        upload = self.files.get("document")
        return str(getattr(upload, "name", "") or "")


class PurchaseOrderDocumentForm(forms.Form):
    document = forms.FileField(
        label=_("PO document (PDF, up to 5 MB)"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )

    def clean_document(self) -> bytes | None:
        return _read_pdf(self.cleaned_data.get("document"))

    def document_name(self) -> str:
        upload = self.files.get("document")
        return str(getattr(upload, "name", "") or "")


class AttachPurchaseOrderForm(forms.Form):
    purchase_order = forms.TypedChoiceField(label=_("Purchase order"), coerce=int)

    def __init__(self, *args: Any, purchase_orders: list[PurchaseOrder], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[Any, Any]] = [("", _("Choose a PO"))]
        choices += [(po.pk, po.number) for po in purchase_orders]
        field = self.fields["purchase_order"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = choices


class BillingContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("Email address"))
    address = forms.CharField(
        label=_("Billing address"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    tax_id = forms.CharField(
        label=_("Tax ID"),
        max_length=64,
        required=False,
        help_text=_("For example a US EIN or a Canadian GST/HST number."),
    )
