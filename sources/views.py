"""SIS source pages.

Admins and privacy officers (`sources.manage`), under `/o/<org_slug>/sources/`:
    sources                  the organization's sources; add one
    source_detail            a source: its imports, upload a package (CSV) or change it
    source_import_detail     one import: counts, checksum, the problems that refused it

Privacy staff too (`sources.read`), under `/o/<org_slug>/requests/<id>/sis/`:
    request_sis              search the SIS for the request's student (POST: the criteria
                             stay out of URLs and logs), confirm a candidate, see what the SIS
                             holds; for deletion requests, record the SIS deletion as done
    request_sis_confirm      POST: confirm a candidate
    request_sis_deletion     POST: record that the district deleted the records in its SIS
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from accounts.models import User
from accounts.permissions import Permission
from k12cloud.encryption.keys import data_keys_preloaded
from k12cloud.portal import OrganizationView
from privacy_requests.models import PrivacyRequest
from privacy_requests.selectors import request_get
from sources.forms import (
    ConfirmForm,
    DataSourceForm,
    PackageUploadForm,
    SisDeletionForm,
    StudentSearchForm,
)
from sources.importing import oneroster_package_import
from sources.models import DataSource, SourceImport, StudentLink
from sources.oneroster.rest import RestSourceError, rest_student_fetch, rest_student_search
from sources.selectors import (
    current_imports,
    data_source_get,
    data_source_list,
    source_import_get,
    source_import_list,
    student_links_for_request,
)
from sources.services import (
    Candidate,
    data_source_save,
    sis_deletion_record,
    student_link_confirm,
    student_records,
    student_search,
)


def _actor(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # OrganizationView requires sign-in
    return user


def _errors_into(form: forms.Form, refused: ValidationError) -> None:
    if hasattr(refused, "error_dict"):
        for field, errors in refused.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, refused.messages)


class SourceListView(OrganizationView, TemplateView):
    permission: ClassVar[Permission] = Permission.SOURCES_MANAGE
    template_name = "sources/source_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        current = current_imports(organization=self.organization)
        context.update(
            sources=[
                (source, current.get(source.pk))
                for source in data_source_list(organization=self.organization)
            ],
            form=kwargs.get("form") or DataSourceForm(),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = DataSourceForm(request.POST)
        if form.is_valid():
            try:
                source = data_source_save(
                    organization=self.organization, actor=_actor(request), **form.cleaned_data
                )
            except ValidationError as refused:
                _errors_into(form, refused)
            else:
                messages.success(request, _("The source was added."))
                return redirect(
                    "accounts:source_detail", org_slug=self.organization.slug, source_id=source.pk
                )
        return self.render_to_response(self.get_context_data(form=form), status=400)


class SourceDetailView(OrganizationView, TemplateView):
    permission: ClassVar[Permission] = Permission.SOURCES_MANAGE
    template_name = "sources/source_detail.html"
    source: DataSource

    def _load(self) -> None:
        try:
            self.source = data_source_get(
                organization=self.organization, source_id=self.kwargs["source_id"]
            )
        except DataSource.DoesNotExist:
            raise Http404("No such source.") from None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self._load()
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        source = self.source
        context.update(
            source=source,
            imports=list(source_import_list(organization=self.organization, source=source)[:50]),
            upload_form=kwargs.get("upload_form") or PackageUploadForm(),
            form=kwargs.get("form")
            or DataSourceForm(
                initial={
                    "kind": source.kind,
                    "name": source.name,
                    "base_url": source.base_url,
                    "token_url": source.token_url,
                    "client_id": source.client_id,
                }
            ),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self._load()
        if request.POST.get("action") == "change":
            return self._change(request)
        upload_form = PackageUploadForm(request.POST, request.FILES)
        if self.source.kind != DataSource.Kind.ONEROSTER_CSV:
            upload_form.add_error(None, _("Packages are uploaded to a CSV package source."))
        elif upload_form.is_valid():
            upload = upload_form.cleaned_data["package"]
            done = oneroster_package_import(
                organization=self.organization,
                actor=_actor(request),
                source=self.source,
                stream=upload,
                file_name=upload.name or "package.zip",
            )
            if done.status == SourceImport.Status.SUCCEEDED:
                messages.success(request, _("The package was imported."))
            else:
                messages.error(request, _("The package was refused: see the problems below."))
            return redirect(
                "accounts:source_import_detail",
                org_slug=self.organization.slug,
                import_id=done.pk,
            )
        return self.render_to_response(self.get_context_data(upload_form=upload_form), status=400)

    def _change(self, request: HttpRequest) -> HttpResponse:
        form = DataSourceForm(request.POST)
        if form.is_valid():
            try:
                data_source_save(
                    organization=self.organization,
                    actor=_actor(request),
                    source=self.source,
                    **form.cleaned_data,
                )
            except ValidationError as refused:
                _errors_into(form, refused)
            else:
                messages.success(request, _("The source was saved."))
                return redirect(
                    "accounts:source_detail",
                    org_slug=self.organization.slug,
                    source_id=self.source.pk,
                )
        return self.render_to_response(self.get_context_data(form=form), status=400)


class SourceImportDetailView(OrganizationView, TemplateView):
    permission: ClassVar[Permission] = Permission.SOURCES_MANAGE
    template_name = "sources/import_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        try:
            source_import = source_import_get(
                organization=self.organization, import_id=self.kwargs["import_id"]
            )
        except SourceImport.DoesNotExist:
            raise Http404("No such import.") from None
        context.update(source_import=source_import, counts=sorted(source_import.counts.items()))
        return context


# --- the request's SIS page -------------------------------------------------------------------


class RequestSisView(OrganizationView, TemplateView):
    permission: ClassVar[Permission] = Permission.SOURCES_READ
    template_name = "sources/request_sis.html"
    privacy_request: PrivacyRequest

    def _load(self) -> None:
        try:
            self.privacy_request = request_get(
                organization=self.organization, request_id=self.kwargs["request_id"]
            )
        except PrivacyRequest.DoesNotExist:
            raise Http404("No such request.") from None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self._load()
        return self.render_page()

    def render_page(self, status: int = 200, **kwargs: Any) -> TemplateResponse:
        with data_keys_preloaded(self.organization.pk):
            response = self.render_to_response(self.get_context_data(**kwargs), status=status)
            assert isinstance(response, TemplateResponse)
            response.render()
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        org, pr = self.organization, self.privacy_request
        links = student_links_for_request(organization=org, request=pr)
        held = [(link, student_records(organization=org, link=link)) for link in links]
        for _link, records in held:  # the package keeps ISO text; the page shows local time
            retrieved = records["retrieved_at"]
            records["retrieved"] = datetime.fromisoformat(retrieved) if retrieved else None
        context.update(
            privacy_request=pr,
            is_deletion=pr.request_type in ("delete", "ferpa_delete"),
            held=held,
            has_sources=data_source_list(organization=org).exists(),
            search_form=kwargs.get("search_form") or StudentSearchForm(),
            deletion_form=SisDeletionForm(),
            candidates=kwargs.get("candidates"),
            rest_errors=kwargs.get("rest_errors", []),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Search (a POST: the child's name and birth date stay out of URLs and logs)."""
        self._load()
        form = StudentSearchForm(request.POST)
        candidates: list[Candidate] = []
        rest_errors: list[str] = []
        if form.is_valid():
            criteria = form.cleaned_data
            try:
                candidates = student_search(
                    organization=self.organization,
                    actor=_actor(request),
                    request=self.privacy_request,
                    **criteria,
                )
            except ValidationError as refused:
                _errors_into(form, refused)
            else:
                for source in data_source_list(organization=self.organization).filter(
                    kind=DataSource.Kind.ONEROSTER_REST
                ):
                    try:
                        candidates += rest_student_search(
                            organization=self.organization, source=source, **criteria
                        )
                    except RestSourceError as error:
                        rest_errors.append(str(error))
        if form.errors:
            return self.render_page(status=400, search_form=form)
        return self.render_page(search_form=form, candidates=candidates, rest_errors=rest_errors)


class RequestSisConfirmView(RequestSisView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self._load()
        form = ConfirmForm(request.POST)
        if form.is_valid():
            record_id = form.cleaned_data["record"]
            try:
                if request.POST.get("source_kind") == "rest":
                    record_id = rest_student_fetch(
                        organization=self.organization,
                        actor=_actor(request),
                        source=data_source_get(
                            organization=self.organization,
                            source_id=int(request.POST.get("source", "0") or 0),
                        ),
                        sourced_id=request.POST.get("sourced_id", ""),
                    )
                student_link_confirm(
                    organization=self.organization,
                    actor=_actor(request),
                    request=self.privacy_request,
                    record_id=record_id,
                )
            except (ValidationError, DataSource.DoesNotExist, ValueError) as refused:
                message = (
                    refused.messages[0]
                    if isinstance(refused, ValidationError)
                    else _("No such source.")
                )
                messages.error(request, message)
            except RestSourceError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, _("The student was confirmed for this request."))
        else:
            messages.error(request, _("Choose a candidate to confirm."))
        return redirect(self._url())

    def _url(self) -> str:
        return reverse(
            "accounts:request_sis",
            kwargs={"org_slug": self.organization.slug, "request_id": self.privacy_request.pk},
        )


class RequestSisDeletionView(RequestSisConfirmView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self._load()
        link = (
            StudentLink.objects.for_organization(self.organization)
            .filter(request=self.privacy_request, pk=self.kwargs["link_id"])
            .select_related("source", "request")
            .first()
        )
        if link is None:
            raise Http404("No such link.")
        form = SisDeletionForm(request.POST)
        if form.is_valid():
            try:
                sis_deletion_record(
                    organization=self.organization,
                    actor=_actor(request),
                    link=link,
                    note=form.cleaned_data["note"],
                )
            except ValidationError as refused:
                messages.error(request, refused.messages[0])
            else:
                messages.success(request, _("The deletion in the SIS was recorded."))
        else:
            messages.error(request, _("The note is too long."))
        return redirect(self._url())
