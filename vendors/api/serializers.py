"""Serializers of the vendors API: they parse and present; the services decide."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from vendors.models import SHAREABLE_IDENTIFIERS, AnswerKind, TaskKind, Vendor, VendorFile


class RefusalSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


class VendorSerializer(serializers.ModelSerializer):
    contact_emails = serializers.SerializerMethodField()
    portal_organization: Any = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )

    class Meta:
        model = Vendor
        fields = [
            "id",
            "name",
            "services",
            "data_categories",
            "contact_emails",
            "dpa_signed_on",
            "dpa_expires_on",
            "access_response_days",
            "disposal_days",
            "portal_organization",
            "is_active",
        ]

    def get_contact_emails(self, vendor: Vendor) -> list[str]:
        return vendor.contact_email_list


class VendorWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    services = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    data_categories = serializers.ListField(
        child=serializers.CharField(max_length=80), required=False, default=list, max_length=50
    )
    contact_emails = serializers.ListField(
        child=serializers.EmailField(), required=False, default=list, max_length=20
    )
    dpa_signed_on = serializers.DateField(required=False, allow_null=True, default=None)
    dpa_expires_on = serializers.DateField(required=False, allow_null=True, default=None)
    access_response_days = serializers.IntegerField(
        required=False, default=45, min_value=1, max_value=365
    )
    disposal_days = serializers.IntegerField(required=False, default=60, min_value=1, max_value=365)
    portal_organization = serializers.SlugField(
        required=False, allow_null=True, default=None, help_text="The vendor's organization slug"
    )
    is_active = serializers.BooleanField(required=False, default=True)

    @staticmethod
    def values_of(vendor: Vendor) -> dict[str, Any]:
        return {
            "name": vendor.name,
            "services": vendor.services,
            "data_categories": list(vendor.data_categories),
            "contact_emails": vendor.contact_email_list,
            "dpa_signed_on": vendor.dpa_signed_on,
            "dpa_expires_on": vendor.dpa_expires_on,
            "access_response_days": vendor.access_response_days,
            "disposal_days": vendor.disposal_days,
            "portal_organization": vendor.portal_organization.slug
            if vendor.portal_organization
            else None,
            "is_active": vendor.is_active,
        }


class FileSerializer(serializers.ModelSerializer):
    class Meta:
        model = VendorFile
        fields = ["id", "purpose", "name", "content_type", "size", "sha256", "uploaded_at"]


class _TaskFields(serializers.Serializer):
    kind = serializers.CharField()
    status = serializers.CharField()
    due_on = serializers.DateField()
    identifiers = serializers.SerializerMethodField()
    instructions = serializers.CharField()
    answered_at = serializers.DateTimeField(allow_null=True)
    answer_kind = serializers.CharField()
    answer_note = serializers.CharField()
    responder_name = serializers.CharField()
    responder_email = serializers.CharField()
    files = serializers.SerializerMethodField()

    def get_identifiers(self, row: Any) -> list[dict[str, str]]:
        return [{"label": label, "value": value} for label, value in row.identifier_items]

    def get_files(self, row: Any) -> list[dict[str, Any]]:
        files = self.context.get("files")
        if files is None:
            return []
        chosen = files.get(row.pk, []) if isinstance(files, dict) else files
        return list(FileSerializer(chosen, many=True).data)


class VendorTaskSerializer(_TaskFields):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    vendor = serializers.CharField(source="vendor.name")
    request = serializers.IntegerField(source="request_id")
    delivery = serializers.CharField()
    forwarded_at = serializers.DateTimeField()
    terms_due_on = serializers.DateField()
    skip_reason = serializers.CharField()
    closed_open_reason = serializers.CharField()


class ReceiptSerializer(_TaskFields):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    from_organization = serializers.CharField(source="from_organization_name")
    received_at = serializers.DateTimeField()


class ForwardSerializer(serializers.Serializer):
    request = serializers.IntegerField(min_value=1)
    vendors = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=50
    )
    kind = serializers.ChoiceField(choices=TaskKind.choices)
    identifiers = serializers.ListField(
        child=serializers.ChoiceField(choices=list(SHAREABLE_IDENTIFIERS)),
        min_length=1,
        max_length=len(SHAREABLE_IDENTIFIERS),
    )
    student_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    instructions = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=4000
    )


class SkipSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=4000)


class AnswerSerializer(serializers.Serializer):
    answer_kind = serializers.ChoiceField(choices=AnswerKind.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    files = serializers.ListField(
        child=serializers.FileField(), required=False, default=list, max_length=5
    )
