"""The organization admins' legal hold form (retention page)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from retention.models import LegalHold
from retention.policy import Category


class LegalHoldForm(forms.Form):
    """Organization-wide or per-category holds from the portal; holds on one user or request
    are placed by ops staff (they name the person or request in the admin)."""

    scope = forms.ChoiceField(
        label=_("What the hold covers"),
        choices=[
            (LegalHold.Scope.ORGANIZATION.value, LegalHold.Scope.ORGANIZATION.label),
            (LegalHold.Scope.CATEGORY.value, LegalHold.Scope.CATEGORY.label),
        ],
    )
    category = forms.ChoiceField(
        label=_("Data category (for a category hold)"),
        choices=[("", _("—")), *Category.choices],
        required=False,
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("E.g. the case or request that needs the data kept."),
    )
    ends_on = forms.DateField(
        label=_("End date"),
        help_text=_("The hold lifts after this date unless you release it earlier."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class RetentionRuleForm(forms.Form):
    """Shorten one category's period (or give the policy's back)."""

    category = forms.ChoiceField(label=_("Data category"), choices=Category.choices)
    days = forms.IntegerField(
        label=_("Keep for (days)"),
        min_value=1,
        required=False,
        help_text=_("Shorter than the policy's maximum. Leave empty to use the policy's period."),
    )
