"""Ops staff's read-only view of every organization's audit events and the platform events,
and of the chains' signed checkpoints.

Runs in the admin's all-tenants context (k12cloud.admin_site). Nothing here may add, change or
delete an event (the database refuses too). Built for millions of rows: no full COUNT(*), no
filter that scans for distinct values, exact-match search on indexed-or-narrow columns.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

from audit.checkpoints import signature_valid, trusted_public_keys
from audit.labels import action_choices
from audit.models import AuditCheckpoint, AuditEvent


class CappedCountPaginator(Paginator):
    """Counts at most CAP rows: a changelist over millions of events must not count them all."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        events: Any = self.object_list
        return int(events[: self.CAP + 1].count())


class ActionFilter(admin.SimpleListFilter):
    """The catalogue's actions (the default filter would scan the table for distinct values)."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            (value, f"{group}: {label}")
            for group, items in action_choices()
            for value, label in items
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[AuditEvent]
    ) -> QuerySet[AuditEvent]:
        value = self.value()
        return queryset.filter(action=value) if value else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = (
        "occurred_at",
        "organization",
        "action",
        "actor_kind",
        "actor_user_id",
        "actor_api_key_id",
        "target_type",
        "target_id",
        "ip_address",
        "request_id",
    )
    list_filter = ("organization", ActionFilter, "actor_kind", "occurred_at")
    # exact matches only: a request id or a target id typed in full
    search_fields = ("=request_id", "=target_id")
    search_help_text = "Exact request id or target id."
    list_select_related = ("organization",)
    ordering = ("-occurred_at", "-id")
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(admin.ModelAdmin):
    """The signed checkpoints of each chain (audit.checkpoints), read-only like the events."""

    list_display = ("signed_at", "chain", "sequence", "key_id", "signature_verifies")
    list_filter = ("key_id",)
    list_select_related = ("organization",)
    ordering = ("-signed_at", "-id")
    fields = ("organization", "sequence", "hash", "signed_at", "key_id", "signature")
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description="chain")
    def chain(self, checkpoint: AuditCheckpoint) -> str:
        return str(checkpoint.organization) if checkpoint.organization else "platform"

    @admin.display(description="signature verifies", boolean=True)
    def signature_verifies(self, checkpoint: AuditCheckpoint) -> bool:
        return signature_valid(checkpoint, trusted_public_keys())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
