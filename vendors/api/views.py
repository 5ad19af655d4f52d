"""The vendors API, under `/api/v1/orgs/<org_slug>/vendors/` (docs/vendors.md).

- `` GET list, POST add; `<vendor_id>/` GET, PATCH: the registry (vendors.manage);
- `tasks/` GET (`?request=<id>`), POST forward a request; `tasks/<task_id>/` GET;
  `tasks/<task_id>/skip/` POST: the district's vendor tasks (requests.work);
- `inbox/` GET, `inbox/<receipt_id>/` GET, `inbox/<receipt_id>/answer/` POST (multipart): tasks
  forwarded to this organization, and its answer (vendor_tasks.answer).

A refusal about one input answers 400 naming the field; a refusal of the action in its state
(an answered task, a closed request) 409 `{"detail", "code"}`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Organization, User
from accounts.permissions import Permission
from k12cloud.api import OrganizationViewSet
from k12cloud.api_common import BoundedJSONParser
from k12cloud.encryption.keys import data_keys_preloaded
from privacy_requests.models import PrivacyRequest
from privacy_requests.selectors import request_get
from vendors.api import serializers as s
from vendors.models import Vendor, VendorTask, VendorTaskReceipt
from vendors.selectors import (
    files_by_task,
    receipt_files,
    receipt_get,
    receipt_list,
    vendor_get,
    vendor_list,
)
from vendors.services import (
    IncomingFile,
    VendorActionRefused,
    VendorValues,
    receipt_answer,
    shared_identifiers,
    vendor_save,
    vendor_task_skip,
    vendor_tasks_forward,
)

ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input, keyed by field"),
    403: OpenApiResponse(OpenApiTypes.OBJECT, description="Not signed in or not allowed"),
    404: OpenApiResponse(OpenApiTypes.OBJECT, description="No such organization or object"),
}
REFUSED = {409: OpenApiResponse(s.RefusalSerializer, description="Refused in this state")}
# refusals about the object's state, not one input
STATE_CODES = {"status", "request", "link"}


def refusal_response(refused: VendorActionRefused) -> Response:
    errors = refused.message_dict if hasattr(refused, "error_dict") else {}
    state = [key for key in errors if key in STATE_CODES]
    if state:
        return Response(
            {"detail": errors[state[0]][0], "code": state[0]}, status=status.HTTP_409_CONFLICT
        )
    if errors:
        return Response(errors, status=status.HTTP_400_BAD_REQUEST)
    return Response(
        {"detail": refused.messages[0], "code": refused.code or "refused"},
        status=status.HTTP_409_CONFLICT,
    )


class _VendorsApi(OrganizationViewSet):
    pagination_class = None

    def actor(self) -> User | None:
        user = self.request.user
        return user if isinstance(user, User) else None

    def valid(self, serializer_class: Any, **kwargs: Any) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


VENDOR_ID = OpenApiParameter("vendor_id", OpenApiTypes.INT, OpenApiParameter.PATH)
TASK_ID = OpenApiParameter("task_id", OpenApiTypes.INT, OpenApiParameter.PATH)
RECEIPT_ID = OpenApiParameter("receipt_id", OpenApiTypes.INT, OpenApiParameter.PATH)


class VendorViewSet(_VendorsApi):
    """The district's vendor registry."""

    action_permissions: ClassVar[dict[str, Permission]] = {
        "list": Permission.VENDORS_MANAGE,
        "create": Permission.VENDORS_MANAGE,
        "retrieve": Permission.VENDORS_MANAGE,
        "partial_update": Permission.VENDORS_MANAGE,
    }
    serializer_class = s.VendorSerializer
    queryset = Vendor._base_manager.none()  # for the schema generator only

    def _load(self) -> Vendor:
        try:
            return vendor_get(organization=self.organization, vendor_id=self.kwargs["vendor_id"])
        except Vendor.DoesNotExist:
            raise Http404("No such vendor.") from None

    @extend_schema(
        operation_id="vendors_list",
        summary="The vendors",
        responses={200: s.VendorSerializer(many=True), **ERRORS},
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with data_keys_preloaded(self.organization.pk):
            return Response(
                s.VendorSerializer(vendor_list(organization=self.organization), many=True).data
            )

    @extend_schema(
        operation_id="vendors_retrieve",
        summary="One vendor",
        parameters=[VENDOR_ID],
        responses={200: s.VendorSerializer, **ERRORS},
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(s.VendorSerializer(self._load()).data)

    def _save(self, vendor: Vendor | None, partial: bool) -> Response:
        data = self.valid(s.VendorWriteSerializer, partial=partial)
        current = s.VendorWriteSerializer.values_of(vendor) if vendor else {}
        merged = {**current, **data}
        slug = merged.pop("portal_organization", None)
        portal = None
        if slug:
            portal = Organization.objects.filter(slug=slug).first()
            if portal is None:
                return Response(
                    {"portal_organization": ["No organization has this slug."]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
        try:
            saved = vendor_save(
                organization=self.organization,
                actor=self.actor(),
                values=VendorValues(portal_organization=portal, **merged),
                vendor=vendor,
            )
        except VendorActionRefused as refused:
            return refusal_response(refused)
        return Response(
            s.VendorSerializer(saved).data,
            status=status.HTTP_200_OK if vendor else status.HTTP_201_CREATED,
        )

    @extend_schema(
        operation_id="vendors_create",
        summary="Add a vendor",
        request=s.VendorWriteSerializer,
        responses={201: s.VendorSerializer, **ERRORS},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._save(None, partial=False)

    @extend_schema(
        operation_id="vendors_update",
        summary="Change a vendor",
        parameters=[VENDOR_ID],
        request=s.VendorWriteSerializer,
        responses={200: s.VendorSerializer, **ERRORS},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._save(self._load(), partial=True)


class VendorTaskViewSet(_VendorsApi):
    """The district's vendor tasks: forward a request, follow and skip its tasks."""

    action_permissions: ClassVar[dict[str, Permission]] = {
        "list": Permission.REQUESTS_WORK,
        "create": Permission.REQUESTS_WORK,
        "retrieve": Permission.REQUESTS_WORK,
        "skip": Permission.REQUESTS_WORK,
    }
    serializer_class = s.VendorTaskSerializer
    queryset = VendorTask._base_manager.none()

    def _request(self, request_id: Any) -> PrivacyRequest:
        try:
            return request_get(organization=self.organization, request_id=int(request_id))
        except (PrivacyRequest.DoesNotExist, TypeError, ValueError):
            raise Http404("No such request.") from None

    def _tasks_out(self, tasks: list[VendorTask]) -> Any:
        files = files_by_task(organization=self.organization, tasks=tasks)
        return s.VendorTaskSerializer(tasks, many=True, context={"files": files}).data

    @extend_schema(
        operation_id="vendor_tasks_list",
        summary="A request's vendor tasks",
        parameters=[
            OpenApiParameter(
                "request", OpenApiTypes.INT, required=True, description="The request's id"
            )
        ],
        responses={200: s.VendorTaskSerializer(many=True), **ERRORS},
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raw = request.query_params.get("request")
        if not raw or not raw.isdigit():
            return Response(
                {"request": ["Give the request's id."]}, status=status.HTTP_400_BAD_REQUEST
            )
        privacy_request = self._request(raw)
        tasks = list(
            VendorTask.objects.for_organization(self.organization)
            .filter(request=privacy_request)
            .select_related("vendor")
            .order_by("forwarded_at", "pk")
        )
        with data_keys_preloaded(self.organization.pk):
            return Response(self._tasks_out(tasks))

    @extend_schema(
        operation_id="vendor_tasks_forward",
        summary="Forward a request to vendors",
        request=s.ForwardSerializer,
        responses={201: s.VendorTaskSerializer(many=True), **ERRORS, **REFUSED},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.valid(s.ForwardSerializer)
        privacy_request = self._request(data["request"])
        vendors = list(vendor_list(organization=self.organization).filter(pk__in=data["vendors"]))
        if len(vendors) != len(set(data["vendors"])):
            return Response(
                {"vendors": ["Choose vendors from your list."]}, status=status.HTTP_400_BAD_REQUEST
            )
        try:
            identifiers = shared_identifiers(
                request=privacy_request, chosen=data["identifiers"], student_id=data["student_id"]
            )
            tasks = vendor_tasks_forward(
                organization=self.organization,
                actor=self.actor(),
                request=privacy_request,
                vendors=vendors,
                kind=data["kind"],
                identifiers=identifiers,
                instructions=data["instructions"],
            )
        except VendorActionRefused as refused:
            return refusal_response(refused)
        return Response(self._tasks_out(tasks), status=status.HTTP_201_CREATED)

    def _load(self) -> VendorTask:
        try:
            return (
                VendorTask.objects.for_organization(self.organization)
                .select_related("vendor")
                .get(pk=self.kwargs["task_id"])
            )
        except VendorTask.DoesNotExist:
            raise Http404("No such task.") from None

    @extend_schema(
        operation_id="vendor_tasks_retrieve",
        summary="One vendor task",
        parameters=[TASK_ID],
        responses={200: s.VendorTaskSerializer, **ERRORS},
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self._tasks_out([self._load()])[0])

    @extend_schema(
        operation_id="vendor_tasks_skip",
        summary="Skip an open task, with the reason",
        parameters=[TASK_ID],
        request=s.SkipSerializer,
        responses={200: s.VendorTaskSerializer, **ERRORS, **REFUSED},
    )
    def skip(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        task = self._load()
        data = self.valid(s.SkipSerializer)
        try:
            vendor_task_skip(
                organization=self.organization, actor=self.actor(), task=task, reason=data["reason"]
            )
        except VendorActionRefused as refused:
            return refusal_response(refused)
        return Response(self._tasks_out([self._load()])[0])


class InboxViewSet(_VendorsApi):
    """Tasks other organizations forwarded to this one, and its answers."""

    action_permissions: ClassVar[dict[str, Permission]] = {
        "list": Permission.VENDOR_TASKS_ANSWER,
        "retrieve": Permission.VENDOR_TASKS_ANSWER,
        "answer": Permission.VENDOR_TASKS_ANSWER,
    }
    serializer_class = s.ReceiptSerializer
    queryset = VendorTaskReceipt._base_manager.none()
    parser_classes = [MultiPartParser, FormParser, BoundedJSONParser]

    def _load(self) -> VendorTaskReceipt:
        try:
            return receipt_get(organization=self.organization, receipt_id=self.kwargs["receipt_id"])
        except VendorTaskReceipt.DoesNotExist:
            raise Http404("No such task.") from None

    def _out(self, receipt: VendorTaskReceipt) -> Any:
        files = receipt_files(organization=self.organization, receipt=receipt)
        return s.ReceiptSerializer(receipt, context={"files": files}).data

    @extend_schema(
        operation_id="vendor_inbox_list",
        summary="Tasks forwarded to this organization",
        responses={200: s.ReceiptSerializer(many=True), **ERRORS},
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with data_keys_preloaded(self.organization.pk):
            rows = list(receipt_list(organization=self.organization))
            return Response(s.ReceiptSerializer(rows, many=True, context={"files": None}).data)

    @extend_schema(
        operation_id="vendor_inbox_retrieve",
        summary="One forwarded task",
        parameters=[RECEIPT_ID],
        responses={200: s.ReceiptSerializer, **ERRORS},
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self._out(self._load()))

    @extend_schema(
        operation_id="vendor_inbox_answer",
        summary="Answer a forwarded task (multipart: files)",
        parameters=[RECEIPT_ID],
        request={"multipart/form-data": s.AnswerSerializer},
        responses={200: s.ReceiptSerializer, **ERRORS, **REFUSED},
    )
    def answer(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        receipt = self._load()
        data = self.valid(s.AnswerSerializer)
        user = self.actor()
        if user is None:  # an API key acts for no person: the answer is an attestation
            return Response(
                {"detail": "An answer must be given by a signed-in member.", "code": "person"},
                status=status.HTTP_409_CONFLICT,
            )
        files = [
            IncomingFile(f.name or "file", f.content_type or "application/octet-stream", f.read())
            for f in data.get("files") or []
        ]
        try:
            receipt_answer(
                organization=self.organization,
                actor=user,
                receipt=receipt,
                answer_kind=data["answer_kind"],
                note=data["note"],
                files=files,
            )
        except VendorActionRefused as refused:
            return refusal_response(refused)
        return Response(self._out(self._load()))
