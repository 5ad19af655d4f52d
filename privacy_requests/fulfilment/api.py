"""The fulfilment API, under `/api/v1/orgs/<org_slug>/requests/<request_id>/...`.

- `package/` POST: prepare the package (201, its metadata and contents list);
- `package/download/` GET: the newest package's ZIP (audited; 410 once expired);
- `fulfil/` POST: close as fulfilled with what fulfils it (and email the requester);
- `deletion/` GET: the deletion plan (what goes, what is kept and why); POST: perform it;
- `correction/` POST: record a correction (field names in the audit log, values encrypted);
- `evidence/` GET: the evidence files attached to the package; POST (multipart, `file` and
  `description`): attach one, its kind told from its bytes; `evidence/<id>/` DELETE: remove one.

Refusals answer 409 `{"detail", "code"}`; a refusal about one input 400 naming the field.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import Http404, HttpResponseBase
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.permissions import Permission
from k12cloud.api import OrganizationViewSet
from k12cloud.encryption.keys import data_keys_preloaded
from privacy_requests.api import serializers as s
from privacy_requests.api.views import ERRORS, REFUSED, REQUEST_ID, _refusal_response
from privacy_requests.fulfilment.models import EvidenceFile, ResponsePackage
from privacy_requests.fulfilment.selectors import (
    DELETION_TYPES,
    DeletionPlan,
    deletion_plan,
    deletion_record,
    evidence_list,
    package_current,
)
from privacy_requests.fulfilment.services import (
    EVIDENCE_MAX_BYTES,
    FieldCorrection,
    PackageUnavailable,
    correction_record,
    deletion_perform,
    evidence_add,
    evidence_remove,
    package_download,
    package_prepare,
    request_fulfil,
)
from privacy_requests.fulfilment.views import portal_url_builder, zip_response
from privacy_requests.models import PrivacyRequest
from privacy_requests.selectors import request_get
from privacy_requests.services import RequestActionRefused

# refusal codes about one input: 400 naming the field
REFUSAL_FIELDS = {
    "field": "corrections",
    "after": "corrections",
    "record": "record",
    "file": "file",
}


class PackageFileSerializer(serializers.Serializer):
    name = serializers.CharField()
    rows = serializers.IntegerField(allow_null=True, help_text="Rows of a CSV; null otherwise")
    bytes = serializers.IntegerField()
    sha256 = serializers.CharField(required=False, help_text="Absent for packages made before")
    evidence_id = serializers.IntegerField(
        required=False, help_text="Set for an evidence file attached to the package"
    )


class PackageSerializer(serializers.ModelSerializer):
    contents = PackageFileSerializer(many=True)

    class Meta:
        model = ResponsePackage
        fields = [
            "id",
            "created_at",
            "expires_at",
            "size",
            "sha256",
            "download_count",
            "language",
            "contents",
        ]


class FulfilSerializer(serializers.Serializer):
    message = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    open_vendor_tasks_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="Why a deletion request closes while vendor tasks are still open (vendors/)",
    )


class FulfilledSerializer(serializers.ModelSerializer):
    class Meta:
        model = PrivacyRequest
        fields = ["id", "reference", "status", "outcome", "closed_at"]


class KeptSerializer(serializers.Serializer):
    code = serializers.CharField()
    what = serializers.CharField()
    why = serializers.CharField()


class RemovedSerializer(serializers.Serializer):
    what = serializers.CharField()
    count = serializers.IntegerField()


class DeletionPlanSerializer(serializers.Serializer):
    performed = serializers.BooleanField()
    removed = RemovedSerializer(many=True, help_text="Empty once performed")
    kept = KeptSerializer(many=True)
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="What was done, once performed"
    )


class FieldCorrectionSerializer(serializers.Serializer):
    field = serializers.RegexField(r"^[A-Za-z][A-Za-z0-9_ .-]{0,63}$", max_length=64)
    before = serializers.CharField(max_length=4000, trim_whitespace=False)
    after = serializers.CharField(max_length=4000, trim_whitespace=False)


class CorrectionSerializer(serializers.Serializer):
    record = serializers.CharField(max_length=200)
    corrections = FieldCorrectionSerializer(many=True, allow_empty=False)


class CorrectionRecordedSerializer(serializers.Serializer):
    message_id = serializers.IntegerField()
    field_names = serializers.ListField(child=serializers.CharField())


def _plan_data(plan: DeletionPlan | None, done: Any) -> dict[str, Any]:
    kept = done.kept if done is not None else (plan.kept if plan else [])
    return {
        "performed": done is not None,
        "removed": [
            {"what": str(what), "count": count} for what, count in (plan.removed if plan else [])
        ],
        "kept": [{"code": k.code, "what": str(k.what), "why": str(k.why)} for k in kept],
        "counts": done.counts if done is not None else {},
    }


class _RequestFulfilmentViewSet(OrganizationViewSet):
    """What the fulfilment endpoints of one request share: the request, the actor, input."""

    pagination_class = None

    def actor(self) -> User | None:
        user = self.request.user
        return user if isinstance(user, User) else None

    def load(self) -> PrivacyRequest:
        try:
            return request_get(organization=self.organization, request_id=self.kwargs["request_id"])
        except PrivacyRequest.DoesNotExist:
            raise Http404("No such request.") from None

    def valid(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


class FulfilmentViewSet(_RequestFulfilmentViewSet):
    """Package, fulfil, deletion and correction of one request."""

    action_permissions: ClassVar[dict[str, Permission]] = {
        "prepare": Permission.REQUESTS_WORK,
        "download": Permission.REQUESTS_WORK,
        "fulfil": Permission.REQUESTS_WORK,
        "plan": Permission.REQUESTS_WORK,
        "erase": Permission.REQUESTS_ERASE,
        "correct": Permission.REQUESTS_WORK,
    }
    serializer_class = PackageSerializer
    queryset = ResponsePackage._base_manager.none()  # for the schema generator only

    @extend_schema(
        operation_id="requests_package_prepare",
        summary="Prepare the access / portability package (a new one each time)",
        parameters=[REQUEST_ID],
        request=None,
        responses={201: PackageSerializer, **ERRORS, **REFUSED},
    )
    def prepare(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        privacy_request = self.load()
        try:
            package = package_prepare(
                organization=self.organization, actor=self.actor(), request=privacy_request
            )
        except RequestActionRefused as refusal:
            return _refusal_response(refusal)
        return Response(PackageSerializer(package).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="requests_package_download",
        summary="Download the newest package (a ZIP); audited",
        parameters=[REQUEST_ID],
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            410: OpenApiResponse(s.RequestRefusalSerializer, description="Expired"),
            409: OpenApiResponse(s.RequestRefusalSerializer, description="No package yet"),
            **ERRORS,
        },
    )
    def download(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        privacy_request = self.load()
        package = package_current(organization=self.organization, request=privacy_request)
        if package is None:
            return Response(
                {"detail": _("There is no package yet."), "code": "no_package"},
                status=status.HTTP_409_CONFLICT,
            )
        try:
            content = package_download(
                organization=self.organization, package=package, by_requester=False
            )
        except PackageUnavailable as refusal:
            return Response(
                {"detail": refusal.messages[0], "code": refusal.code}, status=status.HTTP_410_GONE
            )
        return zip_response(content, privacy_request)

    @extend_schema(
        operation_id="requests_fulfil",
        summary="Close as fulfilled with the package, the deletion or the correction",
        description=(
            "Access and portability need a package that has not expired (the requester is "
            "emailed a portal link); deletion needs the deletion performed (the closure "
            "message lists what was kept and why); correction needs a recorded correction."
        ),
        parameters=[REQUEST_ID],
        request=FulfilSerializer,
        responses={200: FulfilledSerializer, **ERRORS, **REFUSED},
    )
    def fulfil(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        privacy_request = self.load()
        data = self.valid(FulfilSerializer)
        try:
            request_fulfil(
                organization=self.organization,
                actor=self.actor(),
                request=privacy_request,
                message=data["message"],
                portal_url_for=portal_url_builder(
                    request, self.organization, privacy_request.language
                ),
                open_vendor_tasks_reason=data["open_vendor_tasks_reason"],
            )
        except RequestActionRefused as refusal:
            return _refusal_response(refusal)
        closed = request_get(organization=self.organization, request_id=privacy_request.pk)
        return Response(FulfilledSerializer(closed).data)

    @extend_schema(
        operation_id="requests_deletion_plan",
        summary="What a deletion removes and keeps (and why), or what it did",
        parameters=[REQUEST_ID],
        responses={200: DeletionPlanSerializer, **ERRORS, **REFUSED},
    )
    def plan(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        privacy_request = self.load()
        if privacy_request.request_type not in DELETION_TYPES:
            return Response(
                {"detail": _("Only deletion requests delete data."), "code": "wrong_type"},
                status=status.HTTP_409_CONFLICT,
            )
        done = deletion_record(organization=self.organization, request=privacy_request)
        with data_keys_preloaded(self.organization.pk):
            plan = (
                deletion_plan(organization=self.organization, request=privacy_request)
                if done is None
                else None
            )
        return Response(DeletionPlanSerializer(_plan_data(plan, done)).data)

    @extend_schema(
        operation_id="requests_deletion_perform",
        summary="Perform the deletion (organization admins and privacy officers)",
        parameters=[REQUEST_ID],
        request=None,
        responses={200: DeletionPlanSerializer, **ERRORS, **REFUSED},
    )
    def erase(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        privacy_request = self.load()
        try:
            deletion_perform(
                organization=self.organization, actor=self.actor(), request=privacy_request
            )
        except RequestActionRefused as refusal:
            return _refusal_response(refusal)
        done = deletion_record(organization=self.organization, request=privacy_request)
        return Response(DeletionPlanSerializer(_plan_data(None, done)).data)

    @extend_schema(
        operation_id="requests_correction_record",
        summary="Record a correction: field names go to the audit log, values stay encrypted",
        parameters=[REQUEST_ID],
        request=CorrectionSerializer,
        responses={201: CorrectionRecordedSerializer, **ERRORS, **REFUSED},
    )
    def correct(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        privacy_request = self.load()
        data = self.valid(CorrectionSerializer)
        corrections = [FieldCorrection(**item) for item in data["corrections"]]
        try:
            message = correction_record(
                organization=self.organization,
                actor=self.actor(),
                request=privacy_request,
                record_name=data["record"],
                corrections=corrections,
            )
        except RequestActionRefused as refusal:
            return _refusal_response(refusal, REFUSAL_FIELDS.get(refusal.code or ""))
        body = {"message_id": message.pk, "field_names": [c.field.strip() for c in corrections]}
        return Response(body, status=status.HTTP_201_CREATED)


# --- evidence files -----------------------------------------------------------------------


class EvidenceSerializer(serializers.ModelSerializer):
    added_by = serializers.SerializerMethodField()

    class Meta:
        model = EvidenceFile
        fields = [
            "id",
            "file_name",
            "description",
            "kind",
            "size",
            "sha256",
            "added_at",
            "added_by",
        ]

    def get_added_by(self, evidence: EvidenceFile) -> str | None:
        return evidence.added_by.email if evidence.added_by else None


class EvidenceUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="PDF, CSV, XLSX, DOCX or an image, at most 10 MB; told from its bytes"
    )
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=500
    )


EVIDENCE_ID = OpenApiParameter("evidence_id", OpenApiTypes.INT, OpenApiParameter.PATH)


class EvidenceViewSet(_RequestFulfilmentViewSet):
    """The evidence files staff attach to a request's package."""

    action_permissions: ClassVar[dict[str, Permission]] = {
        "list_evidence": Permission.REQUESTS_WORK,
        "add_evidence": Permission.REQUESTS_WORK,
        "remove_evidence": Permission.REQUESTS_WORK,
    }
    parser_classes = [MultiPartParser]
    serializer_class = EvidenceSerializer
    queryset = EvidenceFile._base_manager.none()  # for the schema generator only

    @extend_schema(
        operation_id="requests_evidence_list",
        summary="The evidence files attached to the request's package",
        parameters=[REQUEST_ID],
        responses={200: EvidenceSerializer(many=True), **ERRORS},
    )
    def list_evidence(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        privacy_request = self.load()
        with data_keys_preloaded(self.organization.pk):
            files = evidence_list(organization=self.organization, request=privacy_request)
            return Response(EvidenceSerializer(files, many=True).data)

    @extend_schema(
        operation_id="requests_evidence_add",
        summary="Attach a file to the package (multipart); its kind is told from its bytes",
        parameters=[REQUEST_ID],
        request={"multipart/form-data": EvidenceUploadSerializer},
        responses={201: EvidenceSerializer, **ERRORS, **REFUSED},
    )
    def add_evidence(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        privacy_request = self.load()
        data = self.valid(EvidenceUploadSerializer)
        upload = data["file"]
        if upload.size > EVIDENCE_MAX_BYTES:
            message = _("The file is larger than %(limit)s MB.") % {
                "limit": EVIDENCE_MAX_BYTES // 2**20
            }
            return Response({"file": [message]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            evidence = evidence_add(
                organization=self.organization,
                actor=self.actor(),
                request=privacy_request,
                file_name=upload.name or "",
                content=upload.read(),
                description=data["description"],
            )
        except RequestActionRefused as refusal:
            return _refusal_response(refusal, REFUSAL_FIELDS.get(refusal.code or ""))
        return Response(EvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="requests_evidence_remove",
        summary="Remove an evidence file before the request is fulfilled",
        parameters=[REQUEST_ID, EVIDENCE_ID],
        request=None,
        responses={204: None, **ERRORS, **REFUSED},
    )
    def remove_evidence(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        privacy_request = self.load()
        try:
            evidence_remove(
                organization=self.organization,
                actor=self.actor(),
                request=privacy_request,
                evidence_id=self.kwargs["evidence_id"],
            )
        except RequestActionRefused as refusal:
            if refusal.code == "not_found":
                raise Http404("No such evidence file.") from None
            return _refusal_response(refusal)
        return Response(status=status.HTTP_204_NO_CONTENT)
