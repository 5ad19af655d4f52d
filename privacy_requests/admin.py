"""Ops staff edit the deadline rules table here (the admin runs in an all-tenants context).

Saving goes through `services.jurisdiction_rule_save`, which validates the row together with
the other rows of its rule id and bumps the rule's version, so that open requests computed
with the old version are flagged for review. Rows are disabled, never deleted: a deleted row
would leave stored versions pointing at nothing, and a row re-created under the same rule id
could reuse a version number.

The tenant-owned models (rule selections, contract rules, closures) are not registered:
organizations manage them through the services.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from privacy_requests.models import REQUEST_TYPE_CHOICES
from privacy_requests.rules import services
from privacy_requests.rules.models import JurisdictionRule


class JurisdictionRuleForm(forms.ModelForm):
    request_types = forms.MultipleChoiceField(
        choices=REQUEST_TYPE_CHOICES, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = JurisdictionRule
        fields = [
            f.name for f in JurisdictionRule._meta.concrete_fields if f.editable and f.name != "id"
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            # the instance holds the cleaned values once _post_clean ran; validate it as the
            # service will, so errors show on the form instead of as a server error
            candidate = JurisdictionRule(
                pk=self.instance.pk,
                **{
                    f.name: cleaned.get(f.name, getattr(self.instance, f.name))
                    for f in JurisdictionRule._meta.concrete_fields
                    if f.name not in ("id", "version", "updated_at")
                },
            )
            services.jurisdiction_rule_validate(candidate)
        return cleaned


def _period(amount: int | None, unit: str) -> str:
    return "" if amount is None else f"{amount} {unit.replace('_', ' ')}"


@admin.register(JurisdictionRule)
class JurisdictionRuleAdmin(admin.ModelAdmin):
    form = JurisdictionRuleForm
    list_display = (
        "rule_id",
        "types",
        "acknowledge",
        "respond",
        "extension",
        "confidence",
        "enabled",
        "version",
        "updated_at",
    )
    list_filter = ("enabled", "confidence", "rule_id")
    search_fields = ("rule_id", "jurisdiction", "source", "notes")
    readonly_fields = ("version", "updated_at")
    fieldsets = (
        (None, {"fields": ("rule_id", "jurisdiction", "request_types", "enabled")}),
        (
            "Periods",
            {
                "fields": (
                    ("acknowledge_amount", "acknowledge_unit"),
                    ("respond_amount", "respond_unit"),
                    ("extension_amount", "extension_unit"),
                    "extension_notice",
                    ("extension_notice_amount", "extension_notice_unit"),
                )
            },
        ),
        (
            "Counting (shared by every row of the rule id)",
            {
                "fields": (
                    ("calendar_country", "calendar_subdivision"),
                    "roll_forward",
                    "pausing_allowed",
                )
            },
        ),
        (
            "Source",
            {"fields": ("source", "confidence", "notes", ("effective_from", "effective_to"))},
        ),
        ("Version", {"fields": ("version", "updated_at")}),
    )

    @admin.display(description="request types")
    def types(self, obj: JurisdictionRule) -> str:
        return ", ".join(obj.request_types)

    @admin.display(description="acknowledge")
    def acknowledge(self, obj: JurisdictionRule) -> str:
        return _period(obj.acknowledge_amount, obj.acknowledge_unit)

    @admin.display(description="respond")
    def respond(self, obj: JurisdictionRule) -> str:
        return _period(obj.respond_amount, obj.respond_unit)

    @admin.display(description="extension")
    def extension(self, obj: JurisdictionRule) -> str:
        return _period(obj.extension_amount, obj.extension_unit)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.jurisdiction_rule_save(actor=request.user, rule=obj)  # type: ignore[arg-type]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # disable a row instead; see the module docstring
