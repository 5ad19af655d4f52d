"""The ops view of the trust center: draft and publish versions, schedule maintenance, read
acceptances and objections. Publishing and scheduling go through trust.services (audited, the
rules enforced); a published version is read-only here (and in the database: migration 0002).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from trust.models import (
    DocumentObjection,
    DocumentVersion,
    DpaAcceptance,
    HealthCheck,
    MaintenanceWindow,
    Service,
)
from trust.rules import format_duration
from trust.services import (
    TrustActionRefused,
    document_version_check_editable,
    document_version_publish,
    document_version_save,
    maintenance_budget_remaining,
    maintenance_window_cancel,
    maintenance_window_problems,
    maintenance_window_schedule,
)


def _refusal_text(refused: TrustActionRefused) -> str:
    return " ".join(refused.messages)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)


class DocumentVersionForm(forms.ModelForm):
    class Meta:
        model = DocumentVersion
        fields = ("document", "body", "summary", "material", "effective_on")

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if self.instance.pk is not None:
            stored = DocumentVersion.objects.filter(pk=self.instance.pk).first()
            if stored is not None:
                try:
                    document_version_check_editable(stored)
                except TrustActionRefused as refused:
                    raise forms.ValidationError(refused.messages) from None
        return cleaned


@admin.register(DocumentVersion)
class DocumentVersionAdmin(admin.ModelAdmin):
    form = DocumentVersionForm
    list_display = (
        "__str__",
        "document",
        "status",
        "material",
        "effective_on",
        "published_at",
        "short_hash",
    )
    list_filter = ("document", "material")
    actions = ("publish",)

    @admin.display(description="status")
    def status(self, obj: DocumentVersion) -> str:
        return "published" if obj.is_published else "draft"

    @admin.display(description="SHA-256")
    def short_hash(self, obj: DocumentVersion) -> str:
        return obj.content_hash[:12]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.is_published:
            return (
                "document",
                "number",
                "body",
                "summary",
                "material",
                "effective_on",
                "published_at",
                "content_hash",
            )
        return ("number", "published_at", "content_hash")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_published:
            return False  # shown read-only: a published version is superseded, never edited
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_published:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(
        self, request: HttpRequest, obj: DocumentVersion, form: Any, change: bool
    ) -> None:
        document_version_save(version=obj)

    @admin.action(description="Publish the selected drafts (notices go to every organization)")
    def publish(self, request: HttpRequest, queryset: QuerySet[DocumentVersion]) -> None:
        for version in queryset.order_by("pk"):
            try:
                published, now = document_version_publish(version_id=version.pk)
            except TrustActionRefused as refused:
                self.message_user(
                    request, f"{version}: not published. {_refusal_text(refused)}", messages.ERROR
                )
                continue
            if now:
                self.message_user(
                    request,
                    f"Published {published} (effective {published.effective_on}, UTC); "
                    "notices are on their way.",
                    messages.SUCCESS,
                )
            else:
                self.message_user(request, f"{published} was already published.", messages.INFO)


class MaintenanceWindowForm(forms.ModelForm):
    services = forms.MultipleChoiceField(
        choices=Service.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = MaintenanceWindow
        fields = ("kind", "starts_at", "ends_at", "services", "summary", "reason")

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if self.errors:
            return cleaned
        candidate = MaintenanceWindow(pk=self.instance.pk, **cleaned)
        moved = self.instance.pk is None or (
            self.instance.starts_at != cleaned.get("starts_at")
            or self.instance.ends_at != cleaned.get("ends_at")
        )
        if moved:
            problems = maintenance_window_problems(candidate, timezone.now())
            for field, errors in problems.items():
                for error in errors:
                    self.add_error(field if field in self.fields else None, error)
        return cleaned


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    form = MaintenanceWindowForm
    list_display = ("__str__", "kind", "starts_at", "ends_at", "status", "revision")
    list_filter = ("kind", "status")
    actions = ("cancel",)
    readonly_fields = ("budget",)

    @admin.display(description="planned downtime budget left (this year and next, UTC)")
    def budget(self, obj: Any = None) -> str:
        year = datetime.now(UTC).year
        excluding = getattr(obj, "pk", None)
        return ", ".join(
            f"{y}: {format_duration(maintenance_budget_remaining(y, excluding=excluding))}"
            for y in (year, year + 1)
        )

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("budget", "kind", "starts_at", "ends_at", "services", "summary", "reason")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # cancel instead: the history stays

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.status == MaintenanceWindow.Status.CANCELLED:
            return False
        return super().has_change_permission(request, obj)

    def save_model(
        self, request: HttpRequest, obj: MaintenanceWindow, form: Any, change: bool
    ) -> None:
        maintenance_window_schedule(window=obj)

    @admin.action(description="Cancel the selected windows (everyone affected is told)")
    def cancel(self, request: HttpRequest, queryset: QuerySet[MaintenanceWindow]) -> None:
        for window in queryset.order_by("pk"):
            try:
                maintenance_window_cancel(window_id=window.pk)
            except TrustActionRefused as refused:
                self.message_user(request, f"{window}: {_refusal_text(refused)}", messages.ERROR)
                continue
            self.message_user(request, f"Cancelled {window}.", messages.SUCCESS)


@admin.register(DpaAcceptance)
class DpaAcceptanceAdmin(ReadOnlyAdmin):
    list_display = ("receipt_number", "organization", "version", "accepted_at", "ip_address")
    list_select_related = ("organization", "version")


@admin.register(DocumentObjection)
class DocumentObjectionAdmin(ReadOnlyAdmin):
    list_display = ("pk", "organization", "version", "created_at")
    list_select_related = ("organization", "version")
    fields = ("organization", "version", "user", "created_at", "text")


@admin.register(HealthCheck)
class HealthCheckAdmin(ReadOnlyAdmin):
    list_display = ("minute", "web", "database", "redis", "worker", "beat", "email")
    date_hierarchy = "minute"
