"""Serializers of the privacy requests API: input validation and response shapes.

Responses come in one shape for every caller; the requester's personal data sits in
`personal` (and messages in `messages`), which are null for roles that read no personal data
(viewers, viewer API keys). Which value a role reads is the field-level rule of
`privacy_requests.visibility` (context "access"); a value it may not read is null.
Inputs are validated here (400 naming the field); business rules stay in the services.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import fields as drf_fields
from rest_framework import relations, serializers
from rest_framework.utils.formatting import lazy_format
from rest_framework.utils.serializer_helpers import BindingDict

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


# --- serializing through fields bound once per process ---------------------------------------

# (name, field, method name): field None for a SerializerMethodField (called on the serializer
# at hand), else the bound field whose get_attribute / to_representation give the value
FieldTable = tuple[tuple[str, serializers.Field | None, str], ...]

# Field classes whose get_attribute and to_representation read only the instance, the value,
# their own construction arguments and process-wide or thread-local settings: never the
# context, the parent serializer's instance or context, nor the request (checked against DRF
# 3.18's source). CharField/EmailField: str(value). IntegerField: int(value); BigIntegerField:
# also api_settings.COERCE_BIGINT_TO_STRING. BooleanField: its class's value sets.
# DateField: api_settings.DATE_FORMAT. DateTimeField: api_settings.DATETIME_FORMAT and the
# current time zone (django.utils.timezone, per thread). ChoiceField: the choice map made
# when it was built. DictField: its child's to_representation (checked below: the unvalidated
# child returns the value as is). PrimaryKeyRelatedField: the related pk from the instance
# (PKOnlyObject), no queryset read. Field.get_attribute reads the parent only to name it in
# an error message, and a default only when there is one (refused below: a default may
# read the context). Exact types: a subclass may override either method.
SHARED_FIELD_TYPES: frozenset[type[serializers.Field]] = frozenset(
    {
        serializers.CharField,
        serializers.EmailField,
        serializers.IntegerField,
        serializers.BigIntegerField,
        serializers.BooleanField,
        serializers.DateField,
        serializers.DateTimeField,
        serializers.ChoiceField,
        serializers.DictField,
        relations.PrimaryKeyRelatedField,
    }
)

_field_tables: dict[type[serializers.Serializer], FieldTable] = {}
_field_tables_lock = threading.Lock()


def field_table(serializer_class: type[serializers.Serializer]) -> FieldTable:
    """The readable fields of `serializer_class`, bound once per process and shared by every
    serialization in every thread (gunicorn gthread runs several requests of a worker at
    once).

    DRF builds a serializer's fields on each instance (`.fields`: ModelSerializer.get_fields
    introspects the model, declared fields are deep-copied): about a tenth of an API
    intake's CPU went there for the answer alone. The fields of a class never change, so
    one throwaway instance builds them and the table keeps them.

    Sharing a bound field between threads is safe only when its get_attribute and
    to_representation read no per-call state; the table refuses any field class not vetted
    for that (SHARED_FIELD_TYPES) with a TypeError when it is built, so a field added later
    (a nested serializer, a HyperlinkedRelatedField reading the request) fails every test
    instead of mixing two callers' contexts. A SerializerMethodField is never called through
    the cached field (its to_representation calls a method of the throwaway parent): the
    table keeps its method name, which `represent` calls on the serializer at hand, with
    this call's context. The build runs under a lock, so each class's table is built once
    and a reader sees a table only when it is complete; `serializer.fields` is untouched
    (drf-spectacular's schema reads it)."""
    table = _field_tables.get(serializer_class)
    if table is None:
        with _field_tables_lock:
            table = _field_tables.get(serializer_class)
            if table is None:
                table = _build_field_table(serializer_class)
                _field_tables[serializer_class] = table
    return table


def _build_field_table(serializer_class: type[serializers.Serializer]) -> FieldTable:
    rows: list[tuple[str, serializers.Field | None, str]] = []
    for name, field in serializer_class().fields.items():
        if field.write_only:
            continue
        if isinstance(field, serializers.SerializerMethodField):
            rows.append((name, None, field.method_name))
            continue
        if type(field) not in SHARED_FIELD_TYPES:
            raise TypeError(
                f"{serializer_class.__name__}.{name}: {type(field).__name__} is not vetted for "
                "sharing between threads (privacy_requests.api.serializers.SHARED_FIELD_TYPES)"
            )
        if field.default is not drf_fields.empty:
            raise TypeError(f"{serializer_class.__name__}.{name}: a default may read the context")
        if isinstance(field, serializers.DictField) and (
            type(field.child) is not drf_fields._UnvalidatedField
        ):
            raise TypeError(f"{serializer_class.__name__}.{name}: a DictField's child")
        if isinstance(field, relations.PrimaryKeyRelatedField) and field.pk_field is not None:
            raise TypeError(f"{serializer_class.__name__}.{name}: a pk_field")
        rows.append((name, field, ""))
    return tuple(rows)


def represent(
    serializer_class: type[serializers.Serializer],
    instance: Any,
    serializer: serializers.Serializer | None = None,
) -> dict[str, Any]:
    """`serializer_class(instance).to_representation(instance)` through the class's shared
    field table: DRF's Serializer.to_representation step for step (a SkipField leaves the
    key out; None, or a PKOnlyObject whose pk is None, is None without to_representation).
    A SerializerMethodField's method is called on `serializer`, the instance serializing
    now (its context); a class with method fields needs one."""
    ret: dict[str, Any] = {}
    for name, field, method_name in field_table(serializer_class):
        if field is None:
            if serializer is None:
                raise TypeError(f"{serializer_class.__name__}.{name} needs the serializer")
            # DRF: the method field's attribute is the instance itself
            ret[name] = None if instance is None else getattr(serializer, method_name)(instance)
            continue
        try:
            attribute = field.get_attribute(instance)
        except drf_fields.SkipField:
            continue
        check_for_none = (
            attribute.pk if isinstance(attribute, relations.PKOnlyObject) else attribute
        )
        ret[name] = None if check_for_none is None else field.to_representation(attribute)
    return ret


# Serializes through the class's shared field table (`represent`) instead of the fields DRF
# builds for each instance; `.fields` (the schema, validation) is unchanged. Said here, not in
# a docstring: drf-spectacular describes a serializer without its own docstring by the first
# one of its bases, so a docstring here would land in the OpenAPI schema of PersonSerializer,
# DeadlineSummarySerializer and RequestMessageSerializer.
class SharedFieldsMixin:
    def to_representation(self, instance: Any) -> dict[str, Any]:
        return represent(type(self), instance, self)  # type: ignore[arg-type]


# --- validating through fields bound once per process ----------------------------------------

# Field classes whose validation (get_value, run_validation, to_internal_value, validators)
# reads only the data, its own construction arguments, process-wide settings and the current
# time zone (django.utils.timezone, per thread): never the context, the parent's instance or
# the request (checked against DRF 3.18's source). Field.get_value, validate_empty_values and
# get_default also read `root.partial`: the shared fields' root is the throwaway serializer
# that built them, never partial, and a partial serializer refuses them (below). Validators
# that need the field (`requires_context`) and callable defaults are refused when the fields
# are built. Exact types: a subclass may override any of these.
SHARED_INPUT_FIELD_TYPES: frozenset[type[serializers.Field]] = frozenset(
    {
        serializers.CharField,
        serializers.EmailField,
        serializers.RegexField,
        serializers.ChoiceField,
        serializers.BooleanField,
        serializers.IntegerField,
        serializers.DateField,
        serializers.DateTimeField,
    }
)

_input_fields: dict[type[serializers.Serializer], Any] = {}


def input_fields(serializer_class: type[serializers.Serializer]) -> Any:
    """The fields of an input serializer, built and bound once per process and shared by
    every validation in every thread, as `field_table` does for answers: DRF deep-copies a
    serializer's declared fields on every instance (an intake's validation took 306 µs with
    them, 54 µs without).
    Field classes not vetted for sharing (SHARED_INPUT_FIELD_TYPES) raise TypeError when the
    fields are built."""
    fields = _input_fields.get(serializer_class)
    if fields is None:
        with _field_tables_lock:
            fields = _input_fields.get(serializer_class)
            if fields is None:
                fields = _input_fields[serializer_class] = _build_input_fields(serializer_class)
    return fields


def _build_input_fields(serializer_class: type[serializers.Serializer]) -> Any:
    template = serializer_class()
    fields = BindingDict(template)  # what DRF's Serializer.fields builds
    for name, field in template.get_fields().items():
        fields[name] = field
        if type(field) not in SHARED_INPUT_FIELD_TYPES:
            raise TypeError(
                f"{serializer_class.__name__}.{name}: {type(field).__name__} is not vetted for "
                "sharing between threads (privacy_requests.api.serializers."
                "SHARED_INPUT_FIELD_TYPES)"
            )
        if field.default is not drf_fields.empty and callable(field.default):
            raise TypeError(f"{serializer_class.__name__}.{name}: a callable default")
        if any(getattr(v, "requires_context", False) for v in field.validators):
            raise TypeError(f"{serializer_class.__name__}.{name}: a validator needs the field")
        for validator in field.validators:
            # DRF formats a bound's message ("no more than 4000 characters") once and keeps
            # it: shared, the first caller's language would be every caller's
            message = getattr(validator, "message", None)
            if isinstance(message, lazy_format):
                validator.message = _FormattedPerCall(message)  # type: ignore[union-attr]
    return fields


class _FormattedPerCall:
    """DRF's `lazy_format` without its cache: formatted again on every use, in the language
    active then."""

    __slots__ = ("args", "format_string", "kwargs")

    def __init__(self, message: lazy_format) -> None:
        if message.format_string is None:
            raise TypeError("the message was formatted already: its language is fixed")
        self.format_string = message.format_string
        self.args, self.kwargs = message.args, message.kwargs

    def __str__(self) -> str:
        return str(self.format_string.format(*self.args, **self.kwargs))

    def __mod__(self, value: Any) -> str:
        return str(self) % value


# Validates through the class's shared fields (`input_fields`) instead of the fields DRF
# builds for each instance. Said here, not in a docstring: drf-spectacular describes a
# serializer without its own docstring by the first one of its bases.
class SharedInputFieldsMixin:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if getattr(self, "partial", False):
            raise TypeError("shared input fields are read for whole inputs, never partial ones")

    @property
    def fields(self) -> Any:
        return input_fields(type(self))  # type: ignore[arg-type]


# --- responses ------------------------------------------------------------------------------


class PersonSerializer(SharedFieldsMixin, serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()


class RequestPersonalSerializer(SharedFieldsMixin, serializers.Serializer):
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


class RequestRegisterSerializer(SharedFieldsMixin, serializers.ModelSerializer):
    """A request in the queue: the register's fields (no personal data) and `personal`."""

    # It and its nested serializers serialize through fields bound once per process
    # (SharedFieldsMixin, `represent`), not per instance: a page's rows, each request
    # answered. (A comment: this class's docstring is its description in the OpenAPI schema.)

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
        return represent(PersonSerializer, obj.assignee)  # type: ignore[return-value]

    @extend_schema_field(RequestPersonalSerializer(allow_null=True))
    def get_personal(self, obj: PrivacyRequest) -> RequestPersonalSerializer | None:
        access: RequestAccess | None = self.context.get("access")
        if access is None or not access.personal:
            return None
        return represent(self.personal_serializer, visible_request(obj, access))  # type: ignore[return-value]


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


class DeadlineSummarySerializer(SharedFieldsMixin, serializers.Serializer):
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


class RequestEventSerializer(SharedFieldsMixin, serializers.Serializer):
    """A timeline entry; its data holds ids, flags and statuses, never personal values."""

    id = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    kind = serializers.CharField()
    actor_id = serializers.IntegerField(allow_null=True)
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    data = serializers.DictField()  # type: ignore[assignment]  # a declared field


class RequestMessageSerializer(SharedFieldsMixin, serializers.ModelSerializer):
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
        data = represent(DeadlineSummarySerializer, summary)
        return {**data, "overdue_by": summary.overdue_by}  # type: ignore[return-value]

    @extend_schema_field(RequestEventSerializer(many=True))
    def get_timeline(self, obj: PrivacyRequest) -> RequestEventSerializer:
        return [represent(RequestEventSerializer, event) for event in self.context["timeline"]]  # type: ignore[return-value]

    @extend_schema_field(RequestMessageSerializer(many=True, allow_null=True))
    def get_messages(self, obj: PrivacyRequest) -> RequestMessageSerializer | None:
        access: RequestAccess | None = self.context.get("access")
        if access is None or not access.reads_messages:
            return None
        return [represent(RequestMessageSerializer, m) for m in self.context["messages"]]  # type: ignore[return-value]


@extend_schema_serializer(many=False)  # the list action answers one page object, not an array
class RequestPageSerializer(serializers.Serializer):
    """A page of the queue. `next` is the URL of the following page (null on the last)."""

    next = serializers.URLField(allow_null=True)
    results = RequestRegisterSerializer(many=True)


# --- inputs ---------------------------------------------------------------------------------


class RequestListQuerySerializer(SharedInputFieldsMixin, serializers.Serializer):
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


class RequestIntakeSerializer(SharedInputFieldsMixin, serializers.Serializer):
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
