from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from exports.models import OrganizationExport


class ExportSerializer(serializers.ModelSerializer[OrganizationExport]):
    requested_by = serializers.SerializerMethodField(help_text="Who asked (null: ops staff)")
    percent = serializers.IntegerField(read_only=True)
    download_url = serializers.SerializerMethodField(
        help_text="POST here for the ZIP while the export can be downloaded; null otherwise"
    )

    class Meta:
        model = OrganizationExport
        fields = [
            "id",
            "status",
            "via",
            "requested_by",
            "rows_done",
            "rows_total",
            "percent",
            "size",
            "sha256",
            "created_at",
            "started_at",
            "finished_at",
            "expires_at",
            "download_count",
            "download_url",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.EmailField(allow_null=True))
    def get_requested_by(self, export: OrganizationExport) -> str | None:
        return export.requested_by.email if export.requested_by else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_download_url(self, export: OrganizationExport) -> str | None:
        if not export.is_downloadable():
            return None
        slug: Any = self.context["org_slug"]
        return reverse(
            "accounts_api:export_download", kwargs={"org_slug": slug, "export_id": export.pk}
        )


class ExportRefusalSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()
    code = serializers.CharField()
