"""The SIS sources API, under `/api/v1/orgs/<org_slug>/sources/`.

Sources and imports (`sources.manage`: org admins, privacy officers):
    GET  ``                                  the organization's sources, with the current import
    POST `<source_id>/imports/`              upload a OneRoster CSV package (multipart `package`):
                                             201 imported, 422 refused with file/line/field
    GET  `imports/<import_id>/`              one import: counts, checksum, problems

A request's student (`sources.read`: also privacy staff; never viewers or billing contacts):
    POST `requests/<request_id>/search/`     candidates by identifier, email, or name + birth
                                             date (a name alone is 400 naming birth_date)
    POST `requests/<request_id>/confirm/`    confirm a candidate (`record`, or `source` +
                                             `sourced_id` for a REST source)
    GET  `requests/<request_id>/records/`    the confirmed student's records, per source
    POST `requests/<request_id>/links/<link_id>/deletion/`  record the SIS deletion as done

A REST source that fails answers 502 with the reason (search and confirm), never 500.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.permissions import Permission
from k12cloud.api import OrganizationViewSet
from k12cloud.api_common import BoundedJSONParser
from k12cloud.encryption.keys import data_keys_preloaded
from privacy_requests.models import PrivacyRequest
from privacy_requests.selectors import request_get
from sources.forms import MAX_PACKAGE_BYTES
from sources.importing import oneroster_package_import
from sources.models import DataSource, SourceImport, StudentLink
from sources.oneroster.rest import RestSourceError, rest_student_fetch, rest_student_search
from sources.selectors import (
    current_imports,
    data_source_get,
    data_source_list,
    source_import_get,
)
from sources.services import (
    sis_deletion_record,
    student_link_confirm,
    student_records_for_request,
    student_search,
)

REQUEST_ID = OpenApiParameter("request_id", OpenApiTypes.INT, OpenApiParameter.PATH)
SOURCE_ID = OpenApiParameter("source_id", OpenApiTypes.INT, OpenApiParameter.PATH)
IMPORT_ID = OpenApiParameter("import_id", OpenApiTypes.INT, OpenApiParameter.PATH)
LINK_ID = OpenApiParameter("link_id", OpenApiTypes.INT, OpenApiParameter.PATH)


class SourcesErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


ERRORS = {
    403: OpenApiResponse(SourcesErrorSerializer, description="Not signed in or not allowed"),
    404: OpenApiResponse(
        SourcesErrorSerializer, description="No such organization, source or request"
    ),
}
SIS_FAILED = {502: OpenApiResponse(SourcesErrorSerializer, description="A REST source failed")}


class PackageProblemSerializer(serializers.Serializer):
    file = serializers.CharField()
    line = serializers.IntegerField(allow_null=True)
    field = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class SourceImportSerializer(serializers.ModelSerializer):
    source_id = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    problems = PackageProblemSerializer(
        many=True, source="errors", help_text="Why a refused package was refused"
    )

    class Meta:
        model = SourceImport
        fields = [
            "id",
            "source_id",
            "status",
            "file_name",
            "sha256",
            "oneroster_version",
            "started_at",
            "finished_at",
            "counts",
            "problems",
        ]


class DataSourceSerializer(serializers.ModelSerializer):
    current_import = SourceImportSerializer(allow_null=True)

    class Meta:
        model = DataSource
        # never the client secret
        fields = ["id", "kind", "name", "base_url", "token_url", "client_id", "current_import"]


class PackageUploadSerializer(serializers.Serializer):
    package = serializers.FileField(help_text="A OneRoster CSV bulk package (.zip)")

    def validate_package(self, value: Any) -> Any:
        if value.size > MAX_PACKAGE_BYTES:
            raise serializers.ValidationError("The package is larger than 512 MB.")
        return value


class StudentSearchSerializer(serializers.Serializer):
    identifier = serializers.CharField(required=False, allow_blank=True, max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True)
    given_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    family_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    birth_date = serializers.DateField(required=False, allow_null=True)


class StudentCandidateSerializer(serializers.Serializer):
    source_id = serializers.IntegerField()
    source = serializers.CharField()  # type: ignore[assignment]  # a key, not DRF's source
    record_id = serializers.IntegerField(help_text="0 for a REST source: confirm by sourced_id")
    sourced_id = serializers.CharField()
    name = serializers.CharField()
    birth_date = serializers.CharField(allow_blank=True)
    role = serializers.CharField(allow_blank=True)
    grades = serializers.ListField(child=serializers.CharField())
    schools = serializers.ListField(child=serializers.CharField())
    identifier = serializers.CharField(allow_blank=True)
    matched_by = serializers.ListField(child=serializers.CharField())


class StudentSearchResultSerializer(serializers.Serializer):
    candidates = StudentCandidateSerializer(many=True)
    source_errors = serializers.ListField(
        child=serializers.CharField(), help_text="REST sources that failed, with the reason"
    )


class StudentConfirmSerializer(serializers.Serializer):
    record = serializers.IntegerField(required=False, min_value=1)
    source = serializers.IntegerField(  # type: ignore[assignment]  # a key, not DRF's source
        required=False, min_value=1
    )
    sourced_id = serializers.CharField(required=False, max_length=255)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("record") and not (attrs.get("source") and attrs.get("sourced_id")):
            raise serializers.ValidationError(
                {"record": "Give a candidate's record, or source and sourced_id (REST)."}
            )
        return attrs


class StudentLinkSerializer(serializers.ModelSerializer):
    class Meta:
        model = StudentLink
        fields = ["id", "source_id", "guardianship", "confirmed_at", "sis_deletion_recorded_at"]


class SisDeletionSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class StudentRecordsSerializer(serializers.Serializer):
    source = serializers.CharField()  # type: ignore[assignment]  # a key, not DRF's source
    source_kind = serializers.CharField()
    retrieved_at = serializers.CharField()
    import_file = serializers.CharField(allow_blank=True)
    found = serializers.BooleanField()
    profile = serializers.DictField()
    demographics = serializers.DictField()
    roles = serializers.ListField(child=serializers.DictField())
    enrollments = serializers.ListField(child=serializers.DictField())
    results = serializers.ListField(child=serializers.DictField())


def _field_errors(refused: ValidationError) -> dict[str, Any]:
    if hasattr(refused, "error_dict"):
        return dict(refused.message_dict)
    return {"non_field_errors": refused.messages}


class SourceViewSet(OrganizationViewSet):
    action_permissions: ClassVar[dict[str, Permission]] = {
        "list": Permission.SOURCES_MANAGE,
        "upload": Permission.SOURCES_MANAGE,
        "import_detail": Permission.SOURCES_MANAGE,
    }
    parser_classes = [MultiPartParser, FormParser, BoundedJSONParser]
    serializer_class = DataSourceSerializer
    pagination_class = None  # an organization has a handful of sources: one list

    @extend_schema(responses={200: DataSourceSerializer(many=True), **ERRORS})
    def list(self, request: Request, org_slug: str) -> Response:
        current = current_imports(organization=self.organization)
        sources = list(data_source_list(organization=self.organization))
        for source in sources:
            source.current_import = current.get(source.pk)  # type: ignore[attr-defined]
        return Response(DataSourceSerializer(sources, many=True).data)

    @extend_schema(
        parameters=[SOURCE_ID],
        request={"multipart/form-data": PackageUploadSerializer},
        responses={
            201: SourceImportSerializer,
            400: OpenApiResponse(description="No package, or not a CSV source"),
            422: OpenApiResponse(SourceImportSerializer, description="Refused: see errors"),
            **ERRORS,
        },
    )
    def upload(self, request: Request, org_slug: str, source_id: int) -> Response:
        try:
            source = data_source_get(organization=self.organization, source_id=source_id)
        except DataSource.DoesNotExist:
            raise Http404("No such source.") from None
        if source.kind != DataSource.Kind.ONEROSTER_CSV:
            return Response(
                {"package": ["Packages are uploaded to a CSV package source."]}, status=400
            )
        serializer = PackageUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["package"]
        user = request.user if isinstance(request.user, User) else None
        done = oneroster_package_import(
            organization=self.organization,
            actor=user,
            source=source,
            stream=upload,
            file_name=upload.name or "package.zip",
        )
        code = 201 if done.status == SourceImport.Status.SUCCEEDED else 422
        return Response(SourceImportSerializer(done).data, status=code)

    @extend_schema(parameters=[IMPORT_ID], responses={200: SourceImportSerializer, **ERRORS})
    def import_detail(self, request: Request, org_slug: str, import_id: int) -> Response:
        try:
            done = source_import_get(organization=self.organization, import_id=import_id)
        except SourceImport.DoesNotExist:
            raise Http404("No such import.") from None
        return Response(SourceImportSerializer(done).data)


class RequestSisViewSet(OrganizationViewSet):
    action_permissions: ClassVar[dict[str, Permission]] = {
        "search": Permission.SOURCES_READ,
        "confirm": Permission.SOURCES_READ,
        "records": Permission.SOURCES_READ,
        "deletion": Permission.SOURCES_READ,
    }
    serializer_class = StudentSearchSerializer
    pagination_class = None  # one student's records, answered whole

    def _request(self, request_id: int) -> PrivacyRequest:
        try:
            return request_get(organization=self.organization, request_id=request_id)
        except PrivacyRequest.DoesNotExist:
            raise Http404("No such request.") from None

    def _actor(self, request: Request) -> User | None:
        return request.user if isinstance(request.user, User) else None

    @extend_schema(
        parameters=[REQUEST_ID],
        request=StudentSearchSerializer,
        responses={200: StudentSearchResultSerializer, 400: OpenApiResponse(), **ERRORS},
    )
    def search(self, request: Request, org_slug: str, request_id: int) -> Response:
        privacy_request = self._request(request_id)
        serializer = StudentSearchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        criteria = {k: v for k, v in serializer.validated_data.items() if v not in (None, "")}
        try:
            candidates = student_search(
                organization=self.organization,
                actor=self._actor(request),
                request=privacy_request,
                **criteria,
            )
        except ValidationError as refused:
            return Response(_field_errors(refused), status=status.HTTP_400_BAD_REQUEST)
        errors = []
        for source in data_source_list(organization=self.organization).filter(
            kind=DataSource.Kind.ONEROSTER_REST
        ):
            try:
                candidates += rest_student_search(
                    organization=self.organization, source=source, **criteria
                )
            except RestSourceError as error:
                errors.append(str(error))
        return Response({"candidates": [c.as_dict() for c in candidates], "source_errors": errors})

    @extend_schema(
        parameters=[REQUEST_ID],
        request=StudentConfirmSerializer,
        responses={201: StudentLinkSerializer, 400: OpenApiResponse(), **SIS_FAILED, **ERRORS},
    )
    def confirm(self, request: Request, org_slug: str, request_id: int) -> Response:
        privacy_request = self._request(request_id)
        serializer = StudentConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            record_id = data.get("record")
            if not record_id:
                source = (
                    data_source_list(organization=self.organization)
                    .filter(pk=data["source"], kind=DataSource.Kind.ONEROSTER_REST)
                    .first()
                )
                if source is None:
                    return Response({"source": ["No such REST source."]}, status=400)
                record_id = rest_student_fetch(
                    organization=self.organization,
                    actor=self._actor(request),
                    source=source,
                    sourced_id=data["sourced_id"],
                )
            link = student_link_confirm(
                organization=self.organization,
                actor=self._actor(request),
                request=privacy_request,
                record_id=record_id,
            )
        except ValidationError as refused:
            return Response(_field_errors(refused), status=status.HTTP_400_BAD_REQUEST)
        except RestSourceError as error:
            return Response({"detail": str(error)}, status=status.HTTP_502_BAD_GATEWAY)
        return Response(StudentLinkSerializer(link).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[REQUEST_ID], responses={200: StudentRecordsSerializer(many=True), **ERRORS}
    )
    def records(self, request: Request, org_slug: str, request_id: int) -> Response:
        privacy_request = self._request(request_id)
        with data_keys_preloaded(self.organization.pk):
            data = student_records_for_request(
                organization=self.organization, request=privacy_request
            )
        return Response(data)

    @extend_schema(
        parameters=[REQUEST_ID, LINK_ID],
        request=SisDeletionSerializer,
        responses={
            200: StudentLinkSerializer,
            409: OpenApiResponse(SourcesErrorSerializer),
            **ERRORS,
        },
    )
    def deletion(self, request: Request, org_slug: str, request_id: int, link_id: int) -> Response:
        privacy_request = self._request(request_id)
        link = (
            StudentLink.objects.for_organization(self.organization)
            .filter(request=privacy_request, pk=link_id)
            .select_related("source", "request")
            .first()
        )
        if link is None:
            raise Http404("No such link.")
        serializer = SisDeletionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            link = sis_deletion_record(
                organization=self.organization,
                actor=self._actor(request),
                link=link,
                note=serializer.validated_data["note"],
            )
        except ValidationError as refused:
            return Response({"detail": refused.messages[0]}, status=status.HTTP_409_CONFLICT)
        return Response(StudentLinkSerializer(link).data)
