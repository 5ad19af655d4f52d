"""Forms of the deadline rule settings page.

Each form has a `prefix`, so that several forms on one page never share an element id and
each field's error is tied to it (aria-describedby) when the page re-renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.validators import MinValueValidator
from django.utils.translation import gettext_lazy as _

from privacy_requests.forms import REQUEST_TYPE_LABELS, DescribedForm
from privacy_requests.rules.models import UNIT_CHOICES

REQUEST_TYPE_CHOICES = [(str(t), label) for t, label in REQUEST_TYPE_LABELS.items()]


class RuleSelectionForm(DescribedForm):
    prefix = "rules"
    rule_ids = forms.MultipleChoiceField(
        label=_("Jurisdiction rules that apply to your organization's requests"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one rule.")},
    )

    def __init__(self, *args: Any, rules: Sequence[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rule_ids"].choices = list(rules)  # type: ignore[attr-defined]


class ContractRuleForm(DescribedForm):
    """Create a contract rule, or edit the one with the same short name (slug)."""

    prefix = "contract"
    slug = forms.SlugField(
        label=_("Short name"),
        max_length=64,
        help_text=_(
            "Letters, digits and hyphens, e.g. dpa-delete. Saving an existing one edits it."
        ),
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    source = forms.CharField(label=_("Source"), max_length=300, help_text=_("e.g. District DPA §9"))
    request_types = forms.MultipleChoiceField(
        label=_("Request types it governs"),
        choices=REQUEST_TYPE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one request type.")},
    )
    acknowledge_amount = forms.IntegerField(
        label=_("Acknowledge within (optional)"),
        required=False,
        validators=[MinValueValidator(1)],
        min_value=1,
    )
    acknowledge_unit = forms.ChoiceField(
        label=_("Unit of the acknowledgement period"),
        required=False,
        choices=[("", _("No acknowledgement period")), *UNIT_CHOICES],
    )
    respond_amount = forms.IntegerField(label=_("Respond within"), min_value=1)
    respond_unit = forms.ChoiceField(label=_("Unit of the response period"), choices=UNIT_CHOICES)
    enabled = forms.BooleanField(label=_("In force"), required=False, initial=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        amount, unit = data.get("acknowledge_amount"), data.get("acknowledge_unit")
        if amount is not None and not unit:
            self.add_error("acknowledge_unit", _("Choose the unit of the acknowledgement period."))
        if unit and amount is None:
            self.add_error("acknowledge_amount", _("Give the acknowledgement period."))
        return data


class ClosureAddForm(DescribedForm):
    prefix = "closure"
    date = forms.DateField(
        label=_("Closed on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Moves internal targets only, never a legal deadline."),
    )
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=200,
        help_text=_("e.g. Winter break"),
    )


class ClosureRemoveForm(forms.Form):
    date = forms.DateField(error_messages={"required": _("Choose the closed day to remove.")})
