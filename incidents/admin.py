"""Ops staff edit the breach rules table here; rows are disabled, never deleted."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from incidents import rules
from incidents.models import BreachRule


class BreachRuleForm(forms.ModelForm):
    class Meta:
        model = BreachRule
        fields = [f.name for f in BreachRule._meta.concrete_fields if f.editable and f.name != "id"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            candidate = BreachRule(
                pk=self.instance.pk,
                **{
                    f.name: cleaned.get(f.name, getattr(self.instance, f.name))
                    for f in BreachRule._meta.concrete_fields
                    if f.name not in ("id", "version", "updated_at")
                },
            )
            rules.breach_rule_validate(candidate)
        return cleaned


@admin.register(BreachRule)
class BreachRuleAdmin(admin.ModelAdmin):
    form = BreachRuleForm
    list_display = (
        "regime",
        "leg",
        "part",
        "recipient",
        "amount",
        "unit",
        "confidence",
        "enabled",
        "version",
        "updated_at",
    )
    list_filter = ("enabled", "confidence", "regime")
    search_fields = ("regime", "leg", "citation", "notes")
    readonly_fields = ("version", "updated_at")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        rules.breach_rule_save(actor=request.user, rule=obj)  # type: ignore[arg-type]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # disable a row instead: stored legs keep naming it
