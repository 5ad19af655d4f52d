"""The full export's API, under `/api/v1/orgs/<org_slug>/exports/` (docs/exports.md).

- `` GET: the history, newest first; POST: start an export (202; 409 while another one of the
  organization is queued or running, or once its data was de-identified);
- `<export_id>/` GET: one export and its progress (rows done of the total);
- `<export_id>/download/` POST: the ZIP (application/zip), decrypted while it streams; an
  audited act, hence POST; 410 once the link expired.

All need organization.export (org admins, or an API key with that role). A terminated
organization's admins keep it until de-identification (their API keys were revoked at
termination: they sign in).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.permissions import Permission
from exports.api import serializers as s
from exports.models import OrganizationExport
from exports.selectors import HISTORY_LENGTH, export_get, export_list
from exports.services import ExportRefused, export_download, export_request
from k12cloud.api import OrganizationViewSet

ERRORS = {
    403: OpenApiResponse(OpenApiTypes.OBJECT, description="Not signed in or not allowed"),
    404: OpenApiResponse(OpenApiTypes.OBJECT, description="No such organization or export"),
}
EXPORT_ID = OpenApiParameter("export_id", OpenApiTypes.INT, OpenApiParameter.PATH)


class ExportViewSet(OrganizationViewSet):
    action_permissions: ClassVar[dict[str, Permission]] = {
        "list": Permission.ORGANIZATION_EXPORT,
        "create": Permission.ORGANIZATION_EXPORT,
        "retrieve": Permission.ORGANIZATION_EXPORT,
        "download": Permission.ORGANIZATION_EXPORT,
    }
    serves_terminated = True
    serializer_class = s.ExportSerializer
    pagination_class = None
    queryset = OrganizationExport._base_manager.none()  # for the schema generator only

    def _context(self) -> dict[str, Any]:
        return {"org_slug": self.organization.slug}

    def _load(self) -> OrganizationExport:
        try:
            return export_get(organization=self.organization, export_id=self.kwargs["export_id"])
        except OrganizationExport.DoesNotExist:
            raise Http404("No such export.") from None

    @extend_schema(
        operation_id="exports_list",
        summary="The organization's exports, newest first (the last 50)",
        responses={200: s.ExportSerializer(many=True), **ERRORS},
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        exports = export_list(organization=self.organization)[:HISTORY_LENGTH]
        return Response(s.ExportSerializer(exports, many=True, context=self._context()).data)

    @extend_schema(
        operation_id="exports_create",
        summary="Start a full export of the organization",
        request=None,
        responses={
            202: s.ExportSerializer,
            409: OpenApiResponse(
                s.ExportRefusalSerializer,
                description="Another export is running, or no data is left",
            ),
            **ERRORS,
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user if isinstance(request.user, User) else None
        try:
            export = export_request(
                organization=self.organization, actor=user, via=OrganizationExport.Via.API
            )
        except ExportRefused as refused:
            return Response(
                {"detail": str(refused), "code": "export_refused"}, status=status.HTTP_409_CONFLICT
            )
        data = s.ExportSerializer(export, context=self._context()).data
        return Response(data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="exports_retrieve",
        summary="One export and its progress",
        parameters=[EXPORT_ID],
        responses={200: s.ExportSerializer, **ERRORS},
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(s.ExportSerializer(self._load(), context=self._context()).data)

    @extend_schema(
        operation_id="exports_download",
        summary="Download the export's ZIP (audited)",
        parameters=[EXPORT_ID],
        request=None,
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The ZIP"),
            410: OpenApiResponse(s.ExportRefusalSerializer, description="The link expired"),
            **ERRORS,
        },
    )
    def download(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        export = self._load()
        if not export.is_downloadable():
            return Response(
                {"detail": "This export can no longer be downloaded.", "code": "expired"},
                status=status.HTTP_410_GONE,
            )
        user = request.user if isinstance(request.user, User) else None
        chunks = export_download(organization=self.organization, export=export, actor=user)
        response = StreamingHttpResponse(chunks, content_type="application/zip")
        response["Content-Disposition"] = (
            f'attachment; filename="{self.organization.slug}-export-{export.pk}.zip"'
        )
        response["Cache-Control"] = "no-store"
        return response
