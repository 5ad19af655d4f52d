"""Fulfilment pages: staff's fulfilment page and its POST actions, the requester's download.

Staff (`/o/<org_slug>/requests/<id>/fulfilment/...`, names `accounts:fulfilment_*`): the page
shows what fulfils the request (the package and its contents, the deletion plan, corrections)
and each action is its own POST view with its own permission; a refusal re-renders the page
with the error at the form that caused it.

Requester (`/privacy/<org_slug>/portal/download/`, `privacy_intake:portal_download`): POST
from the portal page, within the portal session (privacy_requests.portal.views).
"""

from __future__ import annotations

import io
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView

from accounts.models import Organization, User
from accounts.permissions import Permission
from k12cloud.encryption.keys import data_keys_preloaded
from k12cloud.portal import OrganizationView
from k12cloud.public_pages import public_language
from k12cloud.tenancy import tenant_context
from k12cloud.uploads import BY_KEY
from privacy_requests.fulfilment import forms as fulfilment_forms
from privacy_requests.fulfilment.selectors import (
    deletion_plan,
    deletion_record,
    evidence_list,
    fulfilment_kind,
    package_current,
    package_is_outdated,
    package_list,
)
from privacy_requests.fulfilment.services import (
    EVIDENCE_MAX_BYTES,
    FieldCorrection,
    PackageUnavailable,
    correction_record,
    deletion_perform,
    evidence_add,
    evidence_download,
    evidence_remove,
    package_download,
    package_prepare,
    request_fulfil,
)
from privacy_requests.intake.views import _organization
from privacy_requests.models import PrivacyRequest, RequestEvent
from privacy_requests.selectors import request_get
from privacy_requests.services import RequestActionRefused
from privacy_requests.status import Status

FORMS: dict[str, type[forms.Form]] = {
    "prepare_form": fulfilment_forms.PrepareForm,
    "fulfil_form": fulfilment_forms.FulfilForm,
    "deletion_form": fulfilment_forms.DeletionForm,
    "correction_form": fulfilment_forms.CorrectionForm,
    "evidence_form": fulfilment_forms.EvidenceForm,
}


def _acting_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # OrganizationView requires sign-in
    return user


def portal_url_builder(request: HttpRequest, organization: Organization, language: str) -> Any:
    """`portal_url_for(token)` for the package-ready email: the absolute portal link."""

    def portal_url_for(token: str) -> str:
        path = reverse(
            "privacy_intake:portal_open", kwargs={"org_slug": organization.slug, "token": token}
        )
        return request.build_absolute_uri(f"{path}?lang={language}")

    return portal_url_for


def zip_response(content: bytes, privacy_request: PrivacyRequest) -> FileResponse:
    response = FileResponse(
        io.BytesIO(content),
        as_attachment=True,
        filename=f"privacy-request-{privacy_request.reference}.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "no-store"
    return response


class FulfilmentView(OrganizationView, TemplateView):
    """What fulfils the request: package (prepare, preview, download, fulfil), deletion (plan,
    confirm, fulfil) or correction (record, fulfil)."""

    permission: ClassVar[Permission] = Permission.REQUESTS_WORK
    template_name = "privacy_requests/fulfilment/page.html"
    privacy_request: PrivacyRequest

    def load_request(self) -> PrivacyRequest:
        try:
            return request_get(organization=self.organization, request_id=self.kwargs["request_id"])
        except PrivacyRequest.DoesNotExist:
            raise Http404("No such request.") from None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.privacy_request = self.load_request()
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
        for name, form_class in FORMS.items():
            context.setdefault(name, form_class())
        kind = fulfilment_kind(pr)
        context.update(privacy_request=pr, kind=kind, can_erase=False)
        if kind == "package":
            packages = package_list(organization=org, request=pr)
            package = packages[0] if packages else None
            evidence = evidence_list(organization=org, request=pr)
            context.update(
                packages=packages,
                package=package,
                evidence=evidence,
                package_outdated=package is not None
                and pr.is_open
                and package_is_outdated(package=package, evidence=evidence),
            )
        elif kind == "deletion":
            done = deletion_record(organization=org, request=pr)
            context["deletion_done"] = done
            if done is None and pr.is_open:
                context["plan"] = deletion_plan(organization=org, request=pr)
            context["can_erase"] = Permission.REQUESTS_ERASE.value in context["allowed"]
        elif kind == "correction":
            context["corrections"] = list(
                RequestEvent.objects.for_organization(org)
                .filter(request=pr, kind="correction_recorded")
                .select_related("actor")
                .order_by("occurred_at", "pk")
            )
        return context


class _FulfilmentActionView(FulfilmentView):
    """POST one form; success redirects (to this page, or `done_url`), else re-renders."""

    http_method_names = ["post"]
    form_name: ClassVar[str]
    success_message: ClassVar[Any] = ""

    def perform(self, form: forms.Form, actor: User) -> None:
        raise NotImplementedError

    def make_form(self) -> forms.Form:
        return FORMS[self.form_name](self.request.POST)

    def done_url(self) -> str:
        return reverse(
            "accounts:fulfilment",
            kwargs={"org_slug": self.organization.slug, "request_id": self.privacy_request.pk},
        )

    def post(self, request: HttpRequest, org_slug: str, request_id: int) -> HttpResponse:
        self.privacy_request = self.load_request()
        form = self.make_form()
        if form.is_valid():
            try:
                self.perform(form, _acting_user(request))
            except _FieldError:
                pass  # the form carries the error on its field
            except RequestActionRefused as refusal:
                form.add_error(None, refusal.messages[0])
            else:
                messages.success(request, self.success_message)
                return redirect(self.done_url())
        self.privacy_request = self.load_request()
        error = (
            form.non_field_errors()[0]
            if form.non_field_errors()
            else gettext_lazy("The action was not taken. Correct the marked fields.")
        )
        return self.render_page(
            status=400,
            **{self.form_name: form},
            action_error=error,
            action_error_target=f"{self.form_name}",
        )


class PackagePrepareView(_FulfilmentActionView):
    form_name = "prepare_form"
    success_message = gettext_lazy("Package prepared. Check its contents, then fulfil.")

    def perform(self, form: forms.Form, actor: User) -> None:
        package_prepare(organization=self.organization, actor=actor, request=self.privacy_request)


class FulfilView(_FulfilmentActionView):
    form_name = "fulfil_form"
    success_message = gettext_lazy("Request fulfilled. The requester was told.")

    def perform(self, form: forms.Form, actor: User) -> None:
        pr = self.privacy_request
        request_fulfil(
            organization=self.organization,
            actor=actor,
            request=pr,
            message=form.cleaned_data["message"],
            portal_url_for=portal_url_builder(self.request, self.organization, pr.language),
            open_vendor_tasks_reason=form.cleaned_data["open_vendor_tasks_reason"],
        )

    def done_url(self) -> str:
        return reverse(
            "accounts:request_detail",
            kwargs={"org_slug": self.organization.slug, "request_id": self.privacy_request.pk},
        )


class DeletionView(_FulfilmentActionView):
    permission = Permission.REQUESTS_ERASE
    form_name = "deletion_form"
    success_message = gettext_lazy("Deletion performed. Fulfil the request to tell the requester.")

    def perform(self, form: forms.Form, actor: User) -> None:
        deletion_perform(organization=self.organization, actor=actor, request=self.privacy_request)


class CorrectionView(_FulfilmentActionView):
    form_name = "correction_form"
    success_message = gettext_lazy("Correction recorded.")

    def perform(self, form: forms.Form, actor: User) -> None:
        data = form.cleaned_data
        correction_record(
            organization=self.organization,
            actor=actor,
            request=self.privacy_request,
            record_name=data["record"],
            corrections=[FieldCorrection(data["field"], data["before"], data["after"])],
        )


class _FieldError(Exception):
    """The refusal was put on a field of the form: re-render, no summary of its own."""


class EvidenceAddView(_FulfilmentActionView):
    """POST a file staff gathered elsewhere, to be shared in the package."""

    form_name = "evidence_form"
    success_message = gettext_lazy("File added. Prepare the package again to include it.")

    def make_form(self) -> forms.Form:
        return fulfilment_forms.EvidenceForm(self.request.POST, self.request.FILES)

    def perform(self, form: forms.Form, actor: User) -> None:
        upload = form.cleaned_data["file"]
        if upload.size > EVIDENCE_MAX_BYTES:  # refused before the bytes are read
            raise RequestActionRefused(
                _("The file is larger than %(limit)s MB.") % {"limit": EVIDENCE_MAX_BYTES // 2**20}
            )
        try:
            evidence_add(
                organization=self.organization,
                actor=actor,
                request=self.privacy_request,
                file_name=upload.name or "",
                content=upload.read(),
                description=form.cleaned_data["description"],
            )
        except RequestActionRefused as refusal:
            if refusal.code == "file":
                form.add_error("file", refusal.messages[0])
                raise _FieldError from refusal
            raise


class EvidenceRemoveView(FulfilmentView):
    """POST: remove an evidence file before the request is fulfilled."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.privacy_request = self.load_request()
        try:
            evidence_remove(
                organization=self.organization,
                actor=_acting_user(request),
                request=self.privacy_request,
                evidence_id=self.kwargs["evidence_id"],
            )
        except RequestActionRefused as refusal:
            if refusal.code == "not_found":
                raise Http404("No such evidence file.") from None
            return self.render_page(
                status=409, action_error=refusal.messages[0], action_error_target="evidence"
            )
        messages.success(request, _("File removed. Prepare the package again before fulfilling."))
        return redirect(self.done_url())

    def done_url(self) -> str:
        return reverse(
            "accounts:fulfilment",
            kwargs={"org_slug": self.organization.slug, "request_id": self.privacy_request.pk},
        )


class EvidenceDownloadView(FulfilmentView):
    """Staff download an evidence file (POST: a download of personal data is an audited act)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.privacy_request = self.load_request()
        try:
            evidence, content = evidence_download(
                organization=self.organization,
                actor=_acting_user(request),
                request=self.privacy_request,
                evidence_id=self.kwargs["evidence_id"],
            )
        except RequestActionRefused:
            raise Http404("No such evidence file.") from None
        kind = BY_KEY.get(evidence.kind)
        response = FileResponse(
            io.BytesIO(content),
            as_attachment=True,
            filename=evidence.file_name,
            content_type=kind.content_type if kind else "application/octet-stream",
        )
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class PackageDownloadView(FulfilmentView):
    """Staff download a package (POST: a download is an audited act)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_slug: str, request_id: int) -> HttpResponseBase:
        self.privacy_request = self.load_request()
        package = package_current(organization=self.organization, request=self.privacy_request)
        try:
            if package is None:
                raise PackageUnavailable(_("There is no package yet."), code="no_package")
            content = package_download(
                organization=self.organization, package=package, by_requester=False
            )
        except PackageUnavailable as refusal:
            return self.render_page(
                status=410 if refusal.code == "expired" else 409,
                action_error=refusal.messages[0],
                action_error_target="packages",
            )
        return zip_response(content, self.privacy_request)


# --- the requester's download ---------------------------------------------------------------


@never_cache
@require_POST
def portal_download_view(request: HttpRequest, org_slug: str) -> HttpResponseBase:
    """The requester downloads their package, within their portal session. Expired (or not
    there yet): a page saying so and how to ask for a new copy."""
    from privacy_requests.portal.views import _session_ended, _session_request

    organization = _organization(org_slug)
    privacy_request = _session_request(request, organization)
    if privacy_request is None:
        return _session_ended(request, organization)
    reason = "missing"
    with tenant_context(organization):
        package = package_current(organization=organization, request=privacy_request)
        if package is not None and privacy_request.status == Status.FULFILLED:
            try:
                content = package_download(
                    organization=organization, package=package, by_requester=True
                )
            except PackageUnavailable as refusal:
                reason = refusal.code or "expired"
            else:
                return zip_response(content, privacy_request)
    context = {
        "intake_org": organization,
        "privacy_request": privacy_request,
        "reason": reason,
        "package": package,
    }
    if request.GET.get("lang") not in dict(settings.LANGUAGES):
        translation.activate(privacy_request.language)
        request.LANGUAGE_CODE = privacy_request.language
    language = public_language(request)
    return render(
        request,
        "privacy_requests/fulfilment/unavailable.html",
        {**context, "language": language, "languages": settings.LANGUAGES},
        status=410 if reason == "expired" else 404,
    )
