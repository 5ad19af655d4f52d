from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Membership, Organization
from accounts.permissions import Role


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = [
            "slug",
            "name",
            "kind",
            "time_zone",
            "country",
            "subdivision",
            "data_region",
            "status",
        ]
        read_only_fields = fields


class CallerSerializer(serializers.Serializer):
    """Who is calling: an organization API key or a signed-in member, and with which role."""

    authenticated_by = serializers.ChoiceField(
        choices=[("api_key", "An organization API key"), ("session", "A signed-in member")],
        read_only=True,
    )
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)
    key_prefix = serializers.CharField(
        read_only=True, allow_null=True, help_text="The key's public prefix (null for a member)."
    )
    key_name = serializers.CharField(read_only=True, allow_null=True)
    key_expires_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="null: the key does not expire (or a member)."
    )


class OrganizationWithCallerSerializer(OrganizationSerializer):
    """The organization and the caller (`context["caller"]`: what CallerSerializer reads)."""

    caller = serializers.SerializerMethodField()

    class Meta(OrganizationSerializer.Meta):
        fields = [*OrganizationSerializer.Meta.fields, "caller"]
        read_only_fields = fields

    @extend_schema_field(CallerSerializer)
    def get_caller(self, organization: Organization) -> dict[str, Any]:
        return dict(CallerSerializer(self.context["caller"]).data)


class MyMembershipSerializer(serializers.ModelSerializer):
    organization = OrganizationSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "organization", "role"]
        read_only_fields = fields


class MembershipSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    full_name = serializers.CharField(source="user.full_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "full_name", "role", "is_active", "created_at"]
        read_only_fields = fields
