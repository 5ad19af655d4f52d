"""The ops view (Django admin): backups with their status, and the restore drills' history.

Read-only: backups are made by `manage.py backup` and the beat, pruned by retention, and
drills run by `manage.py restore_drill` and the beat (docs/backups.md).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html, format_html_join

from backups.models import Backup, RestoreDrill


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _duration(start: Any, end: Any) -> str:
    if start is None or end is None:
        return "-"
    return f"{(end - start).total_seconds():.1f} s"


@admin.register(Backup)
class BackupAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "started_at",
        "status",
        "trigger",
        "size",
        "took",
        "short_sha256",
        "server_version",
        "error",
    )
    list_filter = ("status", "trigger")
    ordering = ("-started_at", "-pk")
    show_full_result_count = False
    fields = (
        "started_at",
        "finished_at",
        "status",
        "trigger",
        "storage_name",
        "size_bytes",
        "sha256",
        "key_fingerprint",
        "server_version",
        "error",
        "migrations_applied",
        "row_counts",
    )

    @admin.display(description="size")
    def size(self, obj: Backup) -> str:
        return filesizeformat(obj.size_bytes) if obj.size_bytes is not None else "-"

    @admin.display(description="took")
    def took(self, obj: Backup) -> str:
        return _duration(obj.started_at, obj.finished_at)

    @admin.display(description="SHA-256")
    def short_sha256(self, obj: Backup) -> str:
        return obj.sha256[:12]

    @admin.display(description="applied migrations")
    def migrations_applied(self, obj: Backup) -> str:
        return str(len(obj.manifest.get("migrations", [])))

    @admin.display(description="row counts")
    def row_counts(self, obj: Backup) -> str:
        return json.dumps(obj.manifest.get("row_counts", {}), indent=1, sort_keys=True)


@admin.register(RestoreDrill)
class RestoreDrillAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "started_at",
        "status",
        "trigger",
        "backup_label",
        "failed_step",
        "short_reason",
        "recovery_time",
        "recovery_point",
    )
    list_filter = ("status", "trigger")
    ordering = ("-started_at", "-pk")
    show_full_result_count = False
    fields = (
        "started_at",
        "finished_at",
        "status",
        "trigger",
        "backup",
        "backup_label",
        "scratch_database",
        "failed_step",
        "reason",
        "step_table",
        "recovery_point_seconds",
        "recovery_time_seconds",
    )

    @admin.display(description="reason")
    def short_reason(self, obj: RestoreDrill) -> str:
        return obj.reason[:120]

    @admin.display(description="recovery time")
    def recovery_time(self, obj: RestoreDrill) -> str:
        seconds = obj.recovery_time_seconds
        return "-" if seconds is None else f"{seconds:.1f} s"

    @admin.display(description="recovery point (backup age)")
    def recovery_point(self, obj: RestoreDrill) -> str:
        seconds = obj.recovery_point_seconds
        return "-" if seconds is None else f"{seconds / 3600:.1f} h"

    @admin.display(description="steps")
    def step_table(self, obj: RestoreDrill) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{} s</td><td>{}</td></tr>",
            (
                (step["step"], "ok" if step["ok"] else "FAILED", step["seconds"], step["detail"])
                for step in obj.steps
            ),
        )
        return format_html(
            "<table><thead><tr><th scope='col'>step</th><th scope='col'>result</th>"
            "<th scope='col'>time</th><th scope='col'>detail</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )
