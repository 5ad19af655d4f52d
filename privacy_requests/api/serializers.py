"""Serializers of the privacy requests API: input validation and response shapes.

Responses come in one shape for every caller; the requester's personal data sits in
`personal` (and messages in `messages`), which are null for roles that read no personal data
(viewers, viewer API keys). Which value a role reads is the field-level rule of
`privacy_requests.visibility` (context "access"); a value it may not read is null.
Inputs are validated here (400 naming the field); business rules stay in the services.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from privacy_requests.forms import STAFF_METHOD_CHOICES, TRANSITION_CHOICES
from privacy_requests.models import REQUEST_TYPE_CHOICES, PrivacyRequest, RequestMessage
from privacy_requests.queue.forms import MAX_DUE_WITHIN_DAYS
from privacy_requests.queue.selectors import STATUS_ALL, STATUS_CLOSED, STATUS_OPEN
from privacy_requests.received_time import received_at_problem
from privacy_requests.status import Status
from privacy_requests.visibility import RequestAccess, visible_request

TEXT_MAX = 4000
FILTER_STATUS_CHOICES = [STATUS_OPEN, STATUS_CLOSED, STATUS_ALL, *Status.values]


# --- errors (documented shapes) -------------------------------------------------------------


class RequestRefusalSerializer(serializers.Serializer):
    """A refused action (409): the service's message and a stable code."""

    detail = serializers.CharField()
    code = serializers.CharField(help_text=_("e.g. transition_forbidden, already_acknowledged"))


class RequestValidationErrorSerializer(serializers.Serializer):
    """Invalid input (400): one key per invalid field, each with its messages."""

    # the metaclass takes declared fields off the class, so these names shadow nothing
    field_name = serializers.ListField(  # type: ignore[assignment]
        child=serializers.CharField(),
        required=False,
        help_text=_("Stands for each invalid field's name (e.g. requester_email)."),
    )
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)


class ErrorDetailSerializer(serializers.Serializer):
    """Not signed in, not allowed (403) or not found (404)."""

    detail = serializers.CharField()


# --- responses ------------------------------------------------------------------------------


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()


class RequestPersonalSerializer(serializers.Serializer):
    """The requester's personal data in the queue, for roles that read it; a value the role may
    not read is null (privacy_requests.visibility)."""

    requester_name = serializers.CharField(allow_null=True)
    requester_email = serializers.CharField(allow_null=True)
    relationship = serializers.CharField(allow_null=True)


class RequestPersonalDetailSerializer(RequestPersonalSerializer):
    """All personal data of one request (decrypted): for roles that work requests."""

    requester_phone = serializers.CharField(allow_null=True)
    requester_address = serializers.CharField(allow_null=True)
    subject_name = serializers.CharField(allow_null=True)
    subject_school = serializers.CharField(allow_null=True)
    subject_birth_date = serializers.CharField(allow_null=True, help_text=_("ISO date or empty"))
    details = serializers.CharField(allow_null=True)
    verification_evidence = serializers.CharField(allow_null=True)
    extension_reason = serializers.CharField(allow_null=True)
    closure_reason = serializers.CharField(allow_null=True)


class RequestRegisterSerializer(serializers.ModelSerializer):
    """A request in the queue: the register's fields (no personal data) and `personal`."""

    binding_rule = serializers.SerializerMethodField()
    assignee = serializers.SerializerMethodField()
    personal = serializers.SerializerMethodField()
    # empty until the request is verified / closed: documented as the enum or ""
    verification_method = serializers.ChoiceField(
        choices=PrivacyRequest.VerificationMethod.choices, allow_blank=True, read_only=True
    )
    outcome = serializers.ChoiceField(
        choices=PrivacyRequest.Outcome.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = PrivacyRequest
        fields = [
            "id",
            "reference",
            "request_type",
            "status",
            "channel",
            "language",
            "gpc_signal",
            "received_at",
            "acknowledge_by",
            "respond_by",
            "extended_respond_by",
            "next_due_on",
            "binding_rule",
            "acknowledged_at",
            "email_confirmed_at",
            "verified_at",
            "verification_method",
            "extended_at",
            "assignee",
            "outcome",
            "closed_at",
            "duplicate_of",
            "personal",
        ]
        read_only_fields = fields

    personal_serializer: type[serializers.Serializer] = RequestPersonalSerializer

    @extend_schema_field(serializers.CharField())
    def get_binding_rule(self, obj: PrivacyRequest) -> str:
        return str((obj.deadlines or {}).get("binding_rule", ""))

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_assignee(self, obj: PrivacyRequest) -> PersonSerializer | None:
        if not obj.assignee:
            return None
        return _plain(self._nested("_person_fields", PersonSerializer), obj.assignee)  # type: ignore[return-value]

    @extend_schema_field(RequestPersonalSerializer(allow_null=True))
    def get_personal(self, obj: PrivacyRequest) -> RequestPersonalSerializer | None:
        access: RequestAccess | None = self.context.get("access")
        if access is None or not access.personal:
            return None
        fields = self._nested("_personal_fields", self.personal_serializer)
        return _plain(fields, visible_request(obj, access))  # type: ignore[return-value]

    def _nested(
        self, name: str, serializer_class: type[serializers.Serializer]
    ) -> dict[str, serializers.Field]:
        """The fields of a nested serializer, bound once per serializer (a page's rows share
        its one child serializer), instead of a new serializer, with deep-copied fields, for
        each row: most of a page's serialization time."""
        fields: dict[str, serializers.Field] | None = getattr(self, name, None)
        if fields is None:
            fields = dict(serializer_class().fields)
            setattr(self, name, fields)
        return fields


def _plain(fields: dict[str, serializers.Field], instance: Any) -> dict[str, Any]:
    """`Serializer(instance).data` of a serializer whose fields read plain attributes of the
    same name: each value through its field's `to_representation`, None as None."""
    data: dict[str, Any] = {}
    for name, field in fields.items():
        value = getattr(instance, name)
        data[name] = None if value is None else field.to_representation(value)
    return data


@cache
def register_columns() -> tuple[str, ...]:
    """The request's columns RequestRegisterSerializer reads (the list reads only these):
    its model fields, the deadlines (binding_rule), the organization (whose key decrypts),
    the personal values and the assignee's."""
    model_fields = {f.name for f in PrivacyRequest._meta.concrete_fields}
    return (
        "organization",
        "deadlines",
        *(name for name in RequestRegisterSerializer.Meta.fields if name in model_fields),
        *RequestPersonalSerializer().fields,
        *(f"assignee__{name}" for name in PersonSerializer().fields if name != "id"),
    )


class DeadlineSummarySerializer(serializers.Serializer):
    binding_rule = serializers.CharField()
    binding_rule_label = serializers.CharField(
        help_text=_(
            "The binding rule's plain name and period, to show people, e.g. “California "
            "Consumer Privacy Act — 45 days, one 45-day extension”"
        )
    )
    jurisdiction = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # a declared field
    pausing_allowed = serializers.BooleanField()
    acknowledge_by = serializers.DateField(allow_null=True)
    respond_by = serializers.DateField(allow_null=True)
    respond_by_extended = serializers.DateField(
        allow_null=True, help_text=_("What an extension would give (null: not allowed)")
    )
    extended_respond_by = serializers.DateField(allow_null=True)
    due_on = serializers.DateField(allow_null=True, help_text=_("The response date in force"))
    business_days_left = serializers.IntegerField(
        allow_null=True, help_text=_("Negative when overdue; null when closed")
    )
    overdue_by = serializers.IntegerField()
    today = serializers.DateField()


class RequestEventSerializer(serializers.Serializer):
    """A timeline entry; its data holds ids, flags and statuses, never personal values."""

    id = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    kind = serializers.CharField()
    actor_id = serializers.IntegerField(allow_null=True)
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    data = serializers.DictField()  # type: ignore[assignment]  # a declared field


class RequestMessageSerializer(serializers.ModelSerializer):
    author_id = serializers.IntegerField(allow_null=True, read_only=True)

    class Meta:
        model = RequestMessage
        fields = ["id", "direction", "author_id", "body", "created_at"]
        read_only_fields = fields
        # null: the role may not read this message's body (privacy_requests.visibility)
        extra_kwargs: ClassVar[dict[str, Any]] = {"body": {"allow_null": True}}


class RequestDetailSerializer(RequestRegisterSerializer):
    """One request: register fields, deadlines, timeline; personal data and messages only
    for roles that work requests (null otherwise)."""

    personal_serializer = RequestPersonalDetailSerializer
    deadline_summary = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()
    messages = serializers.SerializerMethodField()

    class Meta(RequestRegisterSerializer.Meta):
        fields = [
            *RequestRegisterSerializer.Meta.fields,
            "deadline_summary",
            "timeline",
            "messages",
        ]
        read_only_fields = fields

    @extend_schema_field(RequestPersonalDetailSerializer(allow_null=True))
    def get_personal(self, obj: PrivacyRequest) -> RequestPersonalDetailSerializer | None:
        return super().get_personal(obj)  # type: ignore[return-value]

    @extend_schema_field(DeadlineSummarySerializer)
    def get_deadline_summary(self, obj: PrivacyRequest) -> DeadlineSummarySerializer:
        summary = self.context["deadline_summary"]
        data = DeadlineSummarySerializer(summary).data
        return {**data, "overdue_by": summary.overdue_by}  # type: ignore[return-value]

    @extend_schema_field(RequestEventSerializer(many=True))
    def get_timeline(self, obj: PrivacyRequest) -> RequestEventSerializer:
        return RequestEventSerializer(self.context["timeline"], many=True).data  # type: ignore[return-value]

    @extend_schema_field(RequestMessageSerializer(many=True, allow_null=True))
    def get_messages(self, obj: PrivacyRequest) -> RequestMessageSerializer | None:
        access: RequestAccess | None = self.context.get("access")
        if access is None or not access.reads_messages:
            return None
        return RequestMessageSerializer(self.context["messages"], many=True).data  # type: ignore[return-value]


@extend_schema_serializer(many=False)  # the list action answers one page object, not an array
class RequestPageSerializer(serializers.Serializer):
    """A page of the queue. `next` is the URL of the following page (null on the last)."""

    next = serializers.URLField(allow_null=True)
    results = RequestRegisterSerializer(many=True)


# --- inputs ---------------------------------------------------------------------------------


class RequestListQuerySerializer(serializers.Serializer):
    """The queue's filters and page, as query parameters."""

    status = serializers.ChoiceField(
        choices=FILTER_STATUS_CHOICES,
        required=False,
        help_text=_("open (default), closed, all, or one status"),
    )
    type = serializers.ChoiceField(choices=REQUEST_TYPE_CHOICES, required=False)
    assignee = serializers.RegexField(
        r"^(unassigned|[0-9]{1,18})$",
        required=False,
        help_text=_("A user id, or 'unassigned'"),
    )
    overdue = serializers.BooleanField(required=False, default=False)
    due_within_days = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_DUE_WITHIN_DAYS
    )
    requester_email = serializers.EmailField(
        required=False, help_text=_("The exact address (compared by blind index)")
    )
    cursor = serializers.CharField(required=False, help_text=_("`next` of the previous page"))
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)


class RequestIntakeSerializer(serializers.Serializer):
    """A request sent by another system (channel "api")."""

    request_type = serializers.ChoiceField(choices=REQUEST_TYPE_CHOICES)
    relationship = serializers.ChoiceField(choices=PrivacyRequest.Relationship.choices)
    requester_name = serializers.CharField(max_length=TEXT_MAX)
    requester_email = serializers.EmailField(required=False, default="")
    requester_phone = serializers.CharField(
        max_length=TEXT_MAX, required=False, default="", allow_blank=True
    )
    requester_address = serializers.CharField(
        max_length=TEXT_MAX, required=False, default="", allow_blank=True
    )
    subject_name = serializers.CharField(
        max_length=TEXT_MAX, required=False, default="", allow_blank=True
    )
    subject_school = serializers.CharField(
        max_length=TEXT_MAX, required=False, default="", allow_blank=True
    )
    subject_birth_date = serializers.DateField(required=False, allow_null=True, default=None)
    details = serializers.CharField(
        max_length=TEXT_MAX, required=False, default="", allow_blank=True
    )
    language = serializers.RegexField(
        r"^[a-z]{2}(-[A-Za-z]{2})?$", max_length=8, required=False, default="en"
    )
    received_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_(
            "When the request reached your system (default: now); from 1990-01-01 up to now"
        ),
    )
    # omitted: not verified at receipt; "" is not a method (the view fills in the default)
    verification_method = serializers.ChoiceField(choices=STAFF_METHOD_CHOICES, required=False)
    verification_evidence = serializers.CharField(
        max_length=TEXT_MAX, required=False, default="", allow_blank=True
    )

    def validate_received_at(self, value: Any) -> Any:
        problem = received_at_problem(value) if value is not None else None
        if problem is not None:
            raise serializers.ValidationError(problem)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("verification_method") and not attrs.get("verification_evidence"):
            raise serializers.ValidationError(
                {"verification_evidence": _("Describe what was checked to verify identity.")}
            )
        if attrs.get("verification_evidence") and not attrs.get("verification_method"):
            raise serializers.ValidationError(
                {"verification_method": _("Choose how identity was checked.")}
            )
        return attrs


class AcknowledgeSerializer(serializers.Serializer):
    message = serializers.CharField(
        max_length=TEXT_MAX,
        required=False,
        default="",
        allow_blank=True,
        help_text=_("Sent to the requester by email after commit (optional)"),
    )


class VerifySerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=STAFF_METHOD_CHOICES)
    evidence = serializers.CharField(max_length=TEXT_MAX)


class AssignSerializer(serializers.Serializer):
    assignee = serializers.IntegerField(
        allow_null=True, help_text=_("A user id of a member who works requests; null: nobody")
    )


class ExtendSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=TEXT_MAX)


class CloseSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=PrivacyRequest.Outcome.choices)
    reason = serializers.CharField(
        max_length=TEXT_MAX,
        required=False,
        default="",
        allow_blank=True,
        help_text=_("Required unless fulfilled; the requester is told it"),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["outcome"] != PrivacyRequest.Outcome.FULFILLED and not attrs["reason"].strip():
            raise serializers.ValidationError(
                {"reason": _("Give the reason; the requester is told it.")}
            )
        return attrs


class TransitionSerializer(serializers.Serializer):
    to_status = serializers.ChoiceField(
        choices=[value for value, _label in TRANSITION_CHOICES],
        help_text=_("Extend, close and duplicate have their own actions"),
    )
    reason = serializers.CharField(
        max_length=TEXT_MAX, required=False, default="", allow_blank=True
    )


class DuplicateSerializer(serializers.Serializer):
    original = serializers.IntegerField(help_text=_("Id of the original request"))


class MessageCreateSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(choices=RequestMessage.Direction.choices)
    body = serializers.CharField(max_length=TEXT_MAX)
