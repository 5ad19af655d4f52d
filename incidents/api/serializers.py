from __future__ import annotations

from datetime import datetime
from typing import Any

from rest_framework import serializers

from incidents.models import DATA_CATEGORIES, IncidentStatus


class LegSerializer(serializers.Serializer):
    regime = serializers.CharField()
    leg = serializers.CharField()
    part = serializers.CharField()
    recipient = serializers.CharField()
    recipient_label = serializers.CharField()
    start_event = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    no_numeric_deadline = serializers.SerializerMethodField()
    status = serializers.CharField()
    binding = serializers.BooleanField()
    reason = serializers.CharField()
    citation = serializers.CharField()
    confidence = serializers.CharField()
    rule_version = serializers.IntegerField()
    met_at = serializers.DateTimeField(allow_null=True)

    def get_no_numeric_deadline(self, leg: Any) -> bool:
        return bool(leg.status == "no_numeric_deadline")


class IncidentSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    reference = serializers.CharField()
    title = serializers.CharField()
    status = serializers.CharField()
    discovered_at = serializers.DateTimeField()
    determined_at = serializers.DateTimeField(allow_null=True)
    notice_received_at = serializers.DateTimeField(allow_null=True)
    individuals_notified_at = serializers.DateTimeField(allow_null=True)
    data_categories = serializers.ListField(child=serializers.CharField())
    affected_total = serializers.IntegerField(allow_null=True)
    residents = serializers.DictField(child=serializers.IntegerField())
    proposed_regimes = serializers.ListField(child=serializers.CharField())
    regimes = serializers.ListField(child=serializers.CharField())
    source_organization_name = serializers.CharField()
    source_reference = serializers.CharField()
    source_leg_due_at = serializers.DateTimeField(allow_null=True)
    source_leg_met = serializers.BooleanField(allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)


class IncidentDetailSerializer(IncidentSerializer):
    description = serializers.CharField()
    systems = serializers.CharField()
    not_breach_reasoning = serializers.CharField()
    legs = serializers.SerializerMethodField()

    def get_legs(self, incident: Any) -> list[dict[str, Any]]:
        return LegSerializer(self.context.get("legs", []), many=True).data  # type: ignore[return-value]


class IncidentWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField()
    systems = serializers.CharField(required=False, allow_blank=True, default="")
    data_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=DATA_CATEGORIES), required=False, default=list
    )
    discovered_at = serializers.DateTimeField(
        help_text="ISO 8601 with a UTC offset", default_timezone=None
    )
    affected_total = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    residents = serializers.DictField(
        child=serializers.IntegerField(min_value=0), required=False, default=dict
    )

    def validate_discovered_at(self, value: Any) -> Any:
        # DRF would read a time without an offset in the server's zone: refuse it instead
        raw = str(self.initial_data.get("discovered_at", ""))
        try:
            given = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            given = None
        if given is None or given.tzinfo is None:
            raise serializers.ValidationError("Give the time with its UTC offset (e.g. -05:00).")
        return value


class StatusWriteSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=IncidentStatus.choices)
    reasoning = serializers.CharField(required=False, allow_blank=True, default="")


class RegimesWriteSerializer(serializers.Serializer):
    regimes = serializers.ListField(child=serializers.CharField(max_length=32))


class DistrictsWriteSerializer(serializers.Serializer):
    districts = serializers.ListField(
        child=serializers.SlugField(), help_text="slugs of the districts to notify", min_length=1
    )


class CascadeSerializer(serializers.Serializer):
    district = serializers.CharField(source="district_name")
    district_reference = serializers.CharField()
    sent_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by = serializers.CharField(source="acknowledged_by_name")


class IncidentRefusalSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
