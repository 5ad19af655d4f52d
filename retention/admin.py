"""The ops view: terminate organizations, record written deletion requests, follow runs,
see and release legal holds. Every change goes through the retention services (audited)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from retention.certificates import verify
from retention.models import (
    DeidentificationCertificate,
    LegalHold,
    OrganizationRetention,
    RetentionRule,
    RetentionRun,
)
from retention.services import legal_hold_release
from retention.termination import (
    deidentification_due_on,
    organization_deletion_request_record,
    organization_terminate,
)


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # the admin site lets signed-in staff only
    return request.user


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)


@admin.register(OrganizationRetention)
class OrganizationRetentionAdmin(ReadOnlyAdmin):
    list_display = (
        "slug",
        "name",
        "status",
        "terminated_at",
        "deletion_requested_at",
        "deidentification_date",
    )
    list_filter = ("status",)
    search_fields = ("slug", "name")
    actions = ("terminate", "record_written_deletion_request")

    @admin.display(description="de-identification date")
    def deidentification_date(self, obj: OrganizationRetention) -> Any:
        return deidentification_due_on(obj) or "—"

    @admin.action(description="Terminate: stop sign-ins, notify admins, schedule de-identification")
    def terminate(self, request: HttpRequest, queryset: QuerySet[OrganizationRetention]) -> None:
        for organization in queryset.order_by("pk"):
            organization_terminate(
                organization=organization,
                actor=_staff(request),
                reason="ops staff",
            )
        self.message_user(request, f"Terminated {queryset.count()} organization(s).")

    @admin.action(description="Record the customer's written deletion request (received today)")
    def record_written_deletion_request(
        self, request: HttpRequest, queryset: QuerySet[OrganizationRetention]
    ) -> None:
        for organization in queryset.order_by("pk"):
            try:
                organization_deletion_request_record(
                    organization=organization,
                    actor=request.user,  # type: ignore[arg-type]
                )
            except ValidationError as refused:
                self.message_user(
                    request, f"{organization.slug}: {'; '.join(refused.messages)}", messages.ERROR
                )
            else:
                self.message_user(
                    request,
                    f"{organization.slug}: de-identification on "
                    f"{deidentification_due_on(organization)}.",
                )


@admin.register(RetentionRun)
class RetentionRunAdmin(ReadOnlyAdmin):
    list_display = ("organization", "kind", "status", "due_on", "started_at", "finished_at")
    list_filter = ("status", "kind")
    readonly_fields = (
        "organization",
        "kind",
        "status",
        "rule",
        "due_on",
        "started_at",
        "finished_at",
        "attempts",
        "progress",
        "log",
        "log_sha256",
        "keys_destroyed_at",
    )


@admin.register(LegalHold)
class LegalHoldAdmin(ReadOnlyAdmin):
    list_display = ("organization", "scope", "category", "ends_on", "placed_at", "released_at")
    list_filter = ("scope", "released_at")
    exclude = ("reason",)  # encrypted; shown to the organization's admins on their page
    actions = ("release",)

    @admin.action(description="Release the selected holds")
    def release(self, request: HttpRequest, queryset: QuerySet[LegalHold]) -> None:
        for hold in queryset.select_related("organization").order_by("pk"):
            legal_hold_release(
                organization=hold.organization,
                actor=_staff(request),
                hold_id=hold.pk,
            )
        self.message_user(request, "Released.")


@admin.register(RetentionRule)
class RetentionRuleAdmin(ReadOnlyAdmin):
    list_display = ("organization", "category", "days", "updated_at")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True


@admin.register(DeidentificationCertificate)
class DeidentificationCertificateAdmin(ReadOnlyAdmin):
    list_display = ("organization", "run", "issued_at", "key_id", "signature_valid")
    readonly_fields = (
        "organization",
        "run",
        "issued_at",
        "document",
        "document_sha256",
        "key_id",
        "signature",
        "signature_valid",
    )

    @admin.display(boolean=True, description="signature verifies")
    def signature_valid(self, obj: DeidentificationCertificate) -> bool:
        return verify(obj.document, key=obj.key_id, signature=obj.signature)
