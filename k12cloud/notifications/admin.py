"""The ops view (Django admin): outbound emails, notifications, periodic task runs.

Read-only. Email bodies and addresses are never shown: ops staff see what was sent, when, and
whether it worked, not what it said.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from k12cloud.notifications.models import Notification, OutboundEmail, TaskRun


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "organization",
        "template",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    )
    list_filter = ("status", "template")
    list_select_related = ("organization",)
    ordering = ("-created_at",)
    # no address, no bodies, no subject line (it names request references)
    fields = (
        "organization",
        "template",
        "target_type",
        "target_id",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "created_at",
        "sent_at",
        "message_id",
        "dedupe_key",
    )
    show_full_result_count = False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("id", "organization", "kind", "created_at", "read_at", "digest_sent_at")
    list_filter = ("kind",)
    list_select_related = ("organization",)
    ordering = ("-created_at",)
    fields = ("organization", "kind", "target_type", "target_id", "created_at", "read_at")
    show_full_result_count = False


@admin.register(TaskRun)
class TaskRunAdmin(ReadOnlyAdmin):
    list_display = ("name", "started_at", "finished_at", "ok", "result", "error")
    list_filter = ("ok", "name")
    ordering = ("-started_at",)
    fields = list_display
