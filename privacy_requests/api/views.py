"""The privacy requests API (`/api/v1/orgs/<org_slug>/requests/...`).

Views parse input, call one selector or service, and answer. The organization, the caller's
role and the tenant context come from `OrganizationViewSet`; a request id of another
organization is 404. A refused action answers 409 `{"detail", "code"}` with the service's
message; a refusal about one input (the assignee, the method) answers 400 naming the field.
API-key callers have no user: the services get `actor=None` and the audit log records the key
(audit.context reads it from the request).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.exceptions import ValidationError as DrfValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.permissions import Permission
from k12cloud.api import OrganizationViewSet
from k12cloud.encryption.keys import current_keys_pinned, data_keys_preloaded
from privacy_requests.api import serializers as s
from privacy_requests.api.throttles import IntakeApiThrottle
from privacy_requests.deadlines import DeadlineError
from privacy_requests.models import PrivacyRequest
from privacy_requests.queue.selectors import (
    STATUS_OPEN,
    UNASSIGNED,
    QueueCursor,
    QueueFilter,
    QueuePage,
    organization_today,
    request_queue_page,
)
from privacy_requests.rules.selectors import RuleBook, organization_rules
from privacy_requests.selectors import (
    request_deadline_summary,
    request_get,
    request_timeline,
)
from privacy_requests.services import (
    RequestActionRefused,
    request_acknowledge,
    request_assign,
    request_close,
    request_extend,
    request_mark_duplicate,
    request_message_add,
    request_receive,
    request_transition,
    request_verify,
)
from privacy_requests.visibility import (
    EMAIL_SEARCH_REFUSED,
    RequestAccess,
    request_access,
    visible_messages,
    visible_timeline,
)

# refusal codes of the services that are about one input: 400 naming the field, not 409
REFUSAL_FIELDS = {
    "verification_method": "verification_method",
    "reason_required": "reason",
    "body_required": "body",
    "assignee": "assignee",
    "original": "original",
    "received_at": "received_at",
}

ERRORS = {
    400: OpenApiResponse(s.RequestValidationErrorSerializer, description="Invalid input"),
    403: OpenApiResponse(s.ErrorDetailSerializer, description="Not signed in or not allowed"),
    404: OpenApiResponse(s.ErrorDetailSerializer, description="No such organization or request"),
}
REFUSED = {409: OpenApiResponse(s.RequestRefusalSerializer, description="Action refused")}
REQUEST_ID = OpenApiParameter("request_id", OpenApiTypes.INT, OpenApiParameter.PATH)


def _refusal_response(refusal: RequestActionRefused, field: str | None = None) -> Response:
    message = str(refusal.messages[0])
    code = refusal.code or "refused"
    field = field or REFUSAL_FIELDS.get(code)
    if field:
        return Response({field: [message]}, status=status.HTTP_400_BAD_REQUEST)
    return Response({"detail": message, "code": code}, status=status.HTTP_409_CONFLICT)


class PrivacyRequestViewSet(OrganizationViewSet):
    """The queue, intake, one request, and each action on it (its own URL and permission)."""

    action_permissions: ClassVar[dict[str, Permission]] = {
        "list": Permission.REQUESTS_VIEW,
        "retrieve": Permission.REQUESTS_VIEW,
        "intake": Permission.REQUESTS_WORK,
        "acknowledge": Permission.REQUESTS_WORK,
        "verify": Permission.REQUESTS_WORK,
        # staff may take a request; request_assign checks who may be given what
        "assign": Permission.REQUESTS_ASSIGN_SELF,
        "extend": Permission.REQUESTS_WORK,
        "close": Permission.REQUESTS_WORK,
        "transition": Permission.REQUESTS_WORK,
        "duplicate": Permission.REQUESTS_WORK,
        "messages": Permission.REQUESTS_WORK,
    }
    serializer_class = s.RequestDetailSerializer
    pagination_class = None
    # for the schema generator only: every read goes through the selectors
    queryset = PrivacyRequest._base_manager.none()
    lookup_url_kwarg = "request_id"

    # --- helpers ---

    def get_throttles(self) -> list[Any]:
        if self.action == "intake":  # a rate per API key
            return [IntakeApiThrottle()]
        return list(super().get_throttles())

    def access(self) -> RequestAccess:
        """Which values of a request the caller's role (or key's role) may read: the field-level
        rule of privacy_requests.visibility. Viewers and viewer keys read the register only."""
        return request_access(self.role)

    def actor(self) -> User | None:
        user = self.request.user
        return user if isinstance(user, User) else None  # None: an API key

    def load(self) -> PrivacyRequest:
        try:
            return request_get(organization=self.organization, request_id=self.kwargs["request_id"])
        except PrivacyRequest.DoesNotExist:
            raise Http404("No such request.") from None

    def valid(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def request_response(
        self, privacy_request: PrivacyRequest, code: int = status.HTTP_200_OK
    ) -> Response:
        """The request as `retrieve` shows it, decrypted with the keys read once."""
        org = self.organization
        privacy_request = request_get(organization=org, request_id=privacy_request.pk)
        access = self.access()
        context: dict[str, Any] = {
            "access": access,
            "deadline_summary": request_deadline_summary(organization=org, request=privacy_request),
            "timeline": visible_timeline(
                request_timeline(organization=org, request=privacy_request), access
            ),
            "messages": (
                visible_messages(organization=org, request=privacy_request, access=access)
                if access.reads_messages
                else []
            ),
        }
        with data_keys_preloaded(org.pk):
            data = s.RequestDetailSerializer(privacy_request, context=context).data
        return Response(data, status=code)

    def act(
        self,
        serializer_class: type[serializers.Serializer],
        perform: Callable[[PrivacyRequest, dict[str, Any]], object],
    ) -> Response:
        """Find the request (404 first: another tenant's id learns nothing from a 400), check
        the input (400), run one service (a refusal is 409, or 400 for an input)."""
        privacy_request = self.load()
        data = self.valid(serializer_class)
        try:
            perform(privacy_request, data)
        except RequestActionRefused as refusal:
            return _refusal_response(refusal)
        return self.request_response(privacy_request)

    # --- the queue ---

    @extend_schema(
        operation_id="requests_list",
        summary="The queue: requests by earliest open deadline",
        description=(
            "Filters as in the portal's queue; keyset pages (no total count): follow `next`. "
            "`personal` is null for roles that read no personal data (viewers, viewer keys). "
            "Filtering by `requester_email` is a lookup of personal data: 403 for those roles."
        ),
        parameters=[s.RequestListQuerySerializer],
        responses={200: s.RequestPageSerializer, **ERRORS},
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = s.RequestListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        page, results = self.queue_page(params)
        next_url = None
        if page.next is not None:
            next_params = request.query_params.copy()
            next_params["cursor"] = page.next.encode()
            next_url = request.build_absolute_uri(f"{request.path}?{next_params.urlencode()}")
        return Response({"next": next_url, "results": results})

    def queue_page(self, params: dict[str, Any]) -> tuple[QueuePage, Any]:
        """One page of the queue for validated list/search parameters, and its rows as JSON."""
        after = None
        if params.get("cursor"):
            after = QueueCursor.decode(params["cursor"])
            if after is None:
                raise DrfValidationError({"cursor": [_("This is not a page cursor.")]})
        access = self.access()
        if params.get("requester_email") and not access.email_search:
            # a lookup of personal data: whether an address filed requests
            raise PermissionDenied(EMAIL_SEARCH_REFUSED)
        assignee = params.get("assignee", "")
        filters = QueueFilter(
            status=params.get("status") or STATUS_OPEN,
            request_type=params.get("type", ""),
            unassigned=assignee == UNASSIGNED,
            assignee_id=int(assignee) if assignee and assignee != UNASSIGNED else None,
            due_within_days=params.get("due_within_days"),
            overdue=params["overdue"],
            requester_email=params.get("requester_email", ""),
        )
        page = request_queue_page(
            organization=self.organization,
            filters=filters,
            after=after,
            size=params["page_size"],
            today=organization_today(self.organization),
            columns=s.register_columns(),
        )
        context = {"access": access}
        if access.personal:
            with data_keys_preloaded(self.organization.pk):
                results = s.RequestRegisterSerializer(
                    page.requests, many=True, context=context
                ).data
        else:
            results = s.RequestRegisterSerializer(page.requests, many=True, context=context).data
        return page, results

    # --- intake ---

    @extend_schema(
        operation_id="requests_intake",
        summary="Record a request received by another system",
        description=(
            'The channel is always "api". Deadlines are computed from `received_at` (default: '
            "now) in the organization's time zone. With `verification_method` and evidence the "
            "request is verified at receipt."
        ),
        request=s.RequestIntakeSerializer,
        responses={
            201: s.RequestDetailSerializer,
            **ERRORS,
            429: OpenApiResponse(
                s.ErrorDetailSerializer,
                description="Past the intake rate of the key (or user): see Retry-After",
            ),
        },
    )
    def intake(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.valid(s.RequestIntakeSerializer)
        data.setdefault("verification_method", "")  # omitted: not verified at receipt
        birth_date = data.pop("subject_birth_date")
        # the deadline rules read once (one statement) for the deadlines and the answer
        rules = organization_rules(organization=self.organization)
        try:
            # the current keys read once for every sealed value and blind index of the request
            # and its alert email, instead of once per value (one transaction's work)
            with current_keys_pinned(self.organization.pk):
                created = request_receive(
                    organization=self.organization,
                    channel=PrivacyRequest.Channel.API,
                    actor=self.actor(),
                    subject_birth_date=birth_date.isoformat() if birth_date else "",
                    rules=rules,
                    **data,
                )
        except DeadlineError:
            raise DrfValidationError(
                {
                    "request_type": [
                        _("None of the organization's deadline rules covers this type of request.")
                    ]
                }
            ) from None
        except RequestActionRefused as refusal:
            return _refusal_response(refusal)
        return self.received_response(created, rules.book)

    def received_response(self, created: PrivacyRequest, book: RuleBook) -> Response:
        """201 with the request just recorded, as `retrieve` shows it, from the instance in
        hand: its personal fields are still plaintext in memory (nothing to read back or
        decrypt), a request just received has no messages, and its timeline is the "received"
        event `request_receive` wrote (`received_timeline`). The deadline summary is worked
        out as `retrieve` does, with the rules read for the deadlines."""
        org = self.organization
        access = self.access()
        events = getattr(created, "received_timeline", None)
        if events is None:
            events = request_timeline(organization=org, request=created)
        context: dict[str, Any] = {
            "access": access,
            "deadline_summary": request_deadline_summary(
                organization=org, request=created, book=book
            ),
            "timeline": visible_timeline(events, access),
            "messages": [],
        }
        data = s.RequestDetailSerializer(created, context=context).data
        return Response(data, status=status.HTTP_201_CREATED)

    # --- one request ---

    @extend_schema(
        operation_id="requests_retrieve",
        summary="One request with its deadlines and timeline",
        description=(
            "`personal` and `messages` are null for roles that only view requests (viewers, "
            "viewer API keys)."
        ),
        parameters=[REQUEST_ID],
        responses={200: s.RequestDetailSerializer, **ERRORS},
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.request_response(self.load())

    # --- actions (POST) ---

    @extend_schema(
        operation_id="requests_acknowledge",
        summary="Acknowledge receipt (optionally emailing a message)",
        parameters=[REQUEST_ID],
        request=s.AcknowledgeSerializer,
        responses={200: s.RequestDetailSerializer, **ERRORS, **REFUSED},
    )
    def acknowledge(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.act(
            s.AcknowledgeSerializer,
            lambda pr, data: request_acknowledge(
                request=pr, actor=self.actor(), message=data["message"]
            ),
        )

    @extend_schema(
        operation_id="requests_verify",
        summary="Record that the requester's identity was verified",
        parameters=[REQUEST_ID],
        request=s.VerifySerializer,
        responses={200: s.RequestDetailSerializer, **ERRORS, **REFUSED},
    )
    def verify(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.act(
            s.VerifySerializer,
            lambda pr, data: request_verify(
                request=pr, actor=self.actor(), method=data["method"], evidence=data["evidence"]
            ),
        )

    @extend_schema(
        operation_id="requests_assign",
        summary="Assign the request to a member who works requests (null: nobody)",
        description=(
            "Organization admins and privacy officers may assign anyone. Privacy staff may "
            "take an unassigned request (their own user id) or give their own back (null); "
            "anything else answers 400 on `assignee`. A privacy-staff API key has no user, so "
            "it may not assign."
        ),
        parameters=[REQUEST_ID],
        request=s.AssignSerializer,
        responses={200: s.RequestDetailSerializer, **ERRORS, **REFUSED},
    )
    def assign(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        def perform(pr: PrivacyRequest, data: dict[str, Any]) -> object:
            assignee = None
            if data["assignee"] is not None:
                # any user id: the service refuses anyone not an active worker of this org
                assignee = User.objects.filter(pk=data["assignee"]).first()
                if assignee is None:
                    raise RequestActionRefused(
                        _("Choose an active member whose role may work on requests."),
                        code="assignee",
                    )
            return request_assign(
                request=pr, assignee=assignee, actor=self.actor(), actor_role=self.role
            )

        return self.act(s.AssignSerializer, perform)

    @extend_schema(
        operation_id="requests_extend",
        summary="Extend the response deadline once, with a reason",
        parameters=[REQUEST_ID],
        request=s.ExtendSerializer,
        responses={200: s.RequestDetailSerializer, **ERRORS, **REFUSED},
    )
    def extend(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.act(
            s.ExtendSerializer,
            lambda pr, data: request_extend(request=pr, actor=self.actor(), reason=data["reason"]),
        )

    @extend_schema(
        operation_id="requests_close",
        summary="Close with an outcome: fulfilled, partially fulfilled or denied",
        parameters=[REQUEST_ID],
        request=s.CloseSerializer,
        responses={200: s.RequestDetailSerializer, **ERRORS, **REFUSED},
    )
    def close(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.act(
            s.CloseSerializer,
            lambda pr, data: request_close(
                request=pr, actor=self.actor(), outcome=data["outcome"], reason=data["reason"]
            ),
        )

    @extend_schema(
        operation_id="requests_transition",
        summary="Change the status (start work, hold, resume, close unverified, withdrawn)",
        parameters=[REQUEST_ID],
        request=s.TransitionSerializer,
        responses={200: s.RequestDetailSerializer, **ERRORS, **REFUSED},
    )
    def transition(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.act(
            s.TransitionSerializer,
            lambda pr, data: request_transition(
                request=pr, to_status=data["to_status"], actor=self.actor(), reason=data["reason"]
            ),
        )

    @extend_schema(
        operation_id="requests_duplicate",
        summary="Close as a duplicate of another request of the organization",
        parameters=[REQUEST_ID],
        request=s.DuplicateSerializer,
        responses={200: s.RequestDetailSerializer, **ERRORS, **REFUSED},
    )
    def duplicate(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        def perform(pr: PrivacyRequest, data: dict[str, Any]) -> object:
            try:
                original = request_get(organization=self.organization, request_id=data["original"])
            except PrivacyRequest.DoesNotExist:
                raise RequestActionRefused(
                    _("No request of this organization has that id."), code="original"
                ) from None
            return request_mark_duplicate(request=pr, actor=self.actor(), original=original)

        return self.act(s.DuplicateSerializer, perform)

    @extend_schema(
        operation_id="requests_message_add",
        summary="Add a message to or from the requester, or an internal note",
        description="A message to the requester is emailed after commit when there is an address.",
        parameters=[REQUEST_ID],
        request=s.MessageCreateSerializer,
        responses={201: s.RequestMessageSerializer, **ERRORS, **REFUSED},
    )
    def messages(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        privacy_request = self.load()
        data = self.valid(s.MessageCreateSerializer)
        try:
            message = request_message_add(
                request=privacy_request,
                actor=self.actor(),
                direction=data["direction"],
                body=data["body"],
            )
        except RequestActionRefused as refusal:
            return _refusal_response(refusal)
        with data_keys_preloaded(self.organization.pk):
            body = s.RequestMessageSerializer(message).data
        return Response(body, status=status.HTTP_201_CREATED)
