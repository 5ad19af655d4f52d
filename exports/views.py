"""The full export's pages (`/o/<org_slug>/exports/`): ORGANIZATION_EXPORT (org admins).

Kept by a terminated organization's admins until its data is de-identified (serves_terminated):
termination is when a customer most needs its data back.

- the list: start an export, its progress (a bar that exports/progress.js updates from the
  progress URL, without reloading), the history of exports with their download buttons;
- progress: JSON for the bar;
- download: POST (an audited act), the ZIP decrypted while it streams.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from accounts.models import User
from accounts.permissions import Permission
from exports.models import OrganizationExport
from exports.selectors import HISTORY_LENGTH, export_get, export_list
from exports.services import ExportRefused, export_download, export_refusal, export_request
from k12cloud.portal import OrganizationView


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def progress_payload(export: OrganizationExport, *, download_url: str) -> dict[str, Any]:
    return {
        "id": export.pk,
        "status": export.status,
        "status_label": str(export.get_status_display()),
        "rows_done": export.rows_done,
        "rows_total": export.rows_total,
        "percent": export.percent,
        "download_url": download_url if export.is_downloadable() else None,
    }


class _ExportPage(OrganizationView):
    permission = Permission.ORGANIZATION_EXPORT
    serves_terminated = True

    def url(self, name: str, **kwargs: Any) -> str:
        return reverse(f"accounts:{name}", kwargs={"org_slug": self.organization.slug, **kwargs})

    def load(self) -> OrganizationExport:
        try:
            return export_get(organization=self.organization, export_id=self.kwargs["export_id"])
        except OrganizationExport.DoesNotExist:
            raise Http404("No such export.") from None


class ExportListView(_ExportPage, TemplateView):
    template_name = "exports/export_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        exports = list(export_list(organization=self.organization)[:HISTORY_LENGTH])
        active = next((e for e in exports if e.is_active), None)
        context.update(
            exports=exports,
            active=active,
            refusal=export_refusal(self.organization),
            terminated=not self.organization.is_active,
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            export_request(
                organization=self.organization,
                actor=_user(request),
                via=OrganizationExport.Via.PORTAL,
            )
        except ExportRefused as refused:
            messages.error(request, str(refused))
        else:
            messages.success(
                request,
                _(
                    "The export has started. Its progress is shown below; you can leave this "
                    "page and come back."
                ),
            )
        return HttpResponseRedirect(self.url("export_list"), status=303)


class ExportProgressView(_ExportPage):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        export = self.load()
        download = self.url("export_download", export_id=export.pk)
        response = JsonResponse(progress_payload(export, download_url=download))
        response["Cache-Control"] = "no-store"
        return response


class ExportDownloadView(_ExportPage):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        export = self.load()
        if not export.is_downloadable():
            return HttpResponse(
                _("This export can no longer be downloaded: start a new one."),
                status=410,
                content_type="text/plain; charset=utf-8",
            )
        chunks = export_download(
            organization=self.organization, export=export, actor=_user(request)
        )
        response = StreamingHttpResponse(chunks, content_type="application/zip")
        response["Content-Disposition"] = (
            f'attachment; filename="{self.organization.slug}-export-{export.pk}.zip"'
        )
        if export.size is not None:
            response["Content-Length"] = str(export.size)
        response["Cache-Control"] = "no-store"
        return response
