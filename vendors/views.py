"""Organization pages of vendors (`/o/<org_slug>/vendors/...`), in the `accounts` namespace.

- the registry (list, add, edit) and the forwarding margin: VENDORS_MANAGE;
- a request's vendor tasks (forward, skip, download a vendor's file): REQUESTS_WORK;
- the inbox of tasks other organizations forwarded here (a vendor's queue): VENDOR_TASKS_ANSWER.
"""

from __future__ import annotations

import base64
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from accounts.models import User
from accounts.permissions import Permission
from audit.actions import Action
from audit.services import record
from k12cloud.encryption.keys import data_keys_preloaded
from k12cloud.portal import OrganizationView
from privacy_requests.models import PrivacyRequest
from privacy_requests.selectors import request_get
from vendors.forms import AnswerForm, ForwardForm, PolicyForm, SkipForm, VendorForm
from vendors.models import TaskKind, Vendor, VendorFile, VendorTask, VendorTaskReceipt
from vendors.selectors import (
    files_by_task,
    receipt_files,
    receipt_get,
    receipt_list,
    request_vendor_tasks,
    vendor_get,
    vendor_list,
    vendor_policy,
)
from vendors.services import (
    VendorActionRefused,
    VendorValues,
    receipt_answer,
    shared_identifiers,
    vendor_policy_set,
    vendor_save,
    vendor_task_skip,
    vendor_tasks_forward,
)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# the services' names for the form fields that differ ("files" is a Form attribute)
_FORM_FIELDS = {"files": "attachments"}


def _add_errors(form: Any, refused: VendorActionRefused) -> None:
    if hasattr(refused, "error_dict"):
        for field, errors in refused.message_dict.items():
            field = _FORM_FIELDS.get(field, field)
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, refused.messages)


class _VendorPage(OrganizationView, TemplateView):
    def url(self, name: str, **kwargs: Any) -> str:
        return reverse(f"accounts:{name}", kwargs={"org_slug": self.organization.slug, **kwargs})


# --- the registry -----------------------------------------------------------------------------


class VendorListView(_VendorPage):
    permission = Permission.VENDORS_MANAGE
    template_name = "vendors/vendor_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        policy = vendor_policy(organization=self.organization)
        context.update(
            vendors=list(vendor_list(organization=self.organization).defer("contact_emails")),
            policy_form=kwargs.get("policy_form")
            or PolicyForm(initial={"margin_business_days": policy.margin_business_days}),
        )
        return context


class VendorPolicyView(_VendorPage):
    permission = Permission.VENDORS_MANAGE
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = PolicyForm(request.POST)
        if form.is_valid():
            try:
                vendor_policy_set(
                    organization=self.organization,
                    actor=_user(request),
                    margin_business_days=form.cleaned_data["margin_business_days"],
                )
            except VendorActionRefused as refused:
                messages.error(request, refused.messages[0])
            else:
                messages.success(request, _("The margin was saved."))
                return HttpResponseRedirect(self.url("vendor_list"))
        else:
            messages.error(
                request,
                _("The margin was not saved: give a number of business days from 0 to 30."),
            )
        return HttpResponseRedirect(self.url("vendor_list"))


class VendorFormView(_VendorPage):
    permission = Permission.VENDORS_MANAGE
    template_name = "vendors/vendor_form.html"
    vendor: Vendor | None = None

    def load(self) -> None:
        if "vendor_id" in self.kwargs:
            try:
                self.vendor = vendor_get(
                    organization=self.organization, vendor_id=self.kwargs["vendor_id"]
                )
            except Vendor.DoesNotExist:
                raise Http404("No such vendor.") from None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.load()
        initial = VendorForm.initial_for(self.vendor) if self.vendor else None
        form = VendorForm(initial=initial, organization=self.organization)
        return self.render_to_response(self.get_context_data(form=form, vendor=self.vendor))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.load()
        form = VendorForm(request.POST, organization=self.organization)
        if form.is_valid():
            data = form.cleaned_data
            values = VendorValues(
                name=data["name"],
                services=data["services"],
                data_categories=data["data_categories"].split(","),
                contact_emails=data["contact_emails"].split(),
                dpa_signed_on=data["dpa_signed_on"],
                dpa_expires_on=data["dpa_expires_on"],
                access_response_days=data["access_response_days"],
                disposal_days=data["disposal_days"],
                portal_organization=data["portal_organization"],
                is_active=data["is_active"],
            )
            try:
                vendor_save(
                    organization=self.organization,
                    actor=_user(request),
                    values=values,
                    vendor=self.vendor,
                )
            except VendorActionRefused as refused:
                _add_errors(form, refused)
            else:
                messages.success(request, _("The vendor was saved."))
                return HttpResponseRedirect(self.url("vendor_list"))
        return self.render_to_response(
            self.get_context_data(form=form, vendor=self.vendor), status=400
        )


# --- a request's vendor tasks (the district) --------------------------------------------------


class RequestVendorTasksView(_VendorPage):
    """The request's vendor tasks with their status and files, and the forwarding form."""

    permission = Permission.REQUESTS_WORK
    template_name = "vendors/request_tasks.html"
    privacy_request: PrivacyRequest

    def load(self) -> None:
        try:
            self.privacy_request = request_get(
                organization=self.organization, request_id=self.kwargs["request_id"]
            )
        except PrivacyRequest.DoesNotExist:
            raise Http404("No such request.") from None

    def active_vendors(self) -> Any:
        return vendor_list(organization=self.organization).filter(is_active=True)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.load()
        return self.render_page()

    def render_page(self, status: int = 200, **kwargs: Any) -> HttpResponse:
        with data_keys_preloaded(self.organization.pk):
            response = self.render_to_response(self.get_context_data(**kwargs), status=status)
            response.render()  # type: ignore[attr-defined]
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        tasks = request_vendor_tasks(
            organization=self.organization, privacy_request=self.privacy_request
        )
        files = files_by_task(organization=self.organization, tasks=tasks)
        pr = self.privacy_request
        context.update(
            privacy_request=pr,
            tasks=[(task, files[task.pk]) for task in tasks],
            forward_form=kwargs.get("forward_form")
            or ForwardForm(vendors=self.active_vendors(), initial={"kind": default_kind(pr)}),
            skip_form=SkipForm(),
            district_due=pr.extended_respond_by or pr.respond_by,
            margin=vendor_policy(organization=self.organization).margin_business_days,
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.load()
        form = ForwardForm(request.POST, vendors=self.active_vendors())
        if form.is_valid():
            data = form.cleaned_data
            try:
                identifiers = shared_identifiers(
                    request=self.privacy_request,
                    chosen=data["identifiers"],
                    student_id=data["student_id"],
                )
                tasks = vendor_tasks_forward(
                    organization=self.organization,
                    actor=_user(request),
                    request=self.privacy_request,
                    vendors=list(data["vendors"]),
                    kind=data["kind"],
                    identifiers=identifiers,
                    instructions=data["instructions"],
                )
            except VendorActionRefused as refused:
                _add_errors(form, refused)
            else:
                messages.success(
                    request,
                    _("Forwarded to %(n)d vendor(s).") % {"n": len(tasks)},
                )
                return HttpResponseRedirect(
                    self.url("request_vendor_tasks", request_id=self.privacy_request.pk)
                )
        return self.render_page(status=400, forward_form=form)


def default_kind(request: PrivacyRequest) -> str:
    if request.request_type == "delete":
        return TaskKind.DELETION_CERTIFICATE
    if request.request_type in ("correct", "ferpa_amend"):
        return TaskKind.CORRECTION
    return TaskKind.ACCESS_EXPORT


class VendorTaskSkipView(_VendorPage):
    permission = Permission.REQUESTS_WORK
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            task = (
                VendorTask.objects.for_organization(self.organization)
                .select_related("vendor")
                .get(pk=self.kwargs["task_id"])
            )
        except VendorTask.DoesNotExist:
            raise Http404("No such task.") from None
        form = SkipForm(request.POST)
        back = self.url("request_vendor_tasks", request_id=task.request_id)
        if not form.is_valid():
            messages.error(request, _("Give the reason for skipping this vendor."))
            return HttpResponseRedirect(back)
        try:
            vendor_task_skip(
                organization=self.organization,
                actor=_user(request),
                task=task,
                reason=form.cleaned_data["reason"],
            )
        except VendorActionRefused as refused:
            messages.error(request, refused.messages[0])
        else:
            messages.success(request, _("The task was skipped."))
        return HttpResponseRedirect(back)


class VendorFileDownloadView(_VendorPage):
    """A vendor's file of one of the district's tasks; POST only, audited."""

    permission = Permission.REQUESTS_WORK
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        row = (
            VendorFile.objects.for_organization(self.organization)
            .filter(pk=self.kwargs["file_id"], task__isnull=False)
            .first()
        )
        if row is None:
            raise Http404("No such file.")
        record(
            Action.VENDOR_FILE_DOWNLOADED,
            organization=self.organization,
            target=row,
            changes={"task": row.task_id, "sha256": row.sha256},
        )
        # served as bytes whatever type the vendor declared: never rendered by the browser
        response = HttpResponse(
            base64.b64decode(row.content), content_type="application/octet-stream"
        )
        response["Content-Disposition"] = f'attachment; filename="vendor-file-{row.pk}"'
        return response


# --- the inbox: tasks forwarded to this organization (a vendor) -------------------------------


class InboxView(_VendorPage):
    permission = Permission.VENDOR_TASKS_ANSWER
    template_name = "vendors/inbox.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["receipts"] = list(
            receipt_list(organization=self.organization).only(
                "reference",
                "from_organization_name",
                "kind",
                "status",
                "due_on",
                "received_at",
                "organization_id",
            )
        )
        return context


class ReceiptView(_VendorPage):
    """One forwarded task: what the district shared, and the answer form."""

    permission = Permission.VENDOR_TASKS_ANSWER
    template_name = "vendors/receipt.html"

    def load(self) -> Any:
        try:
            return receipt_get(organization=self.organization, receipt_id=self.kwargs["receipt_id"])
        except VendorTaskReceipt.DoesNotExist:
            raise Http404("No such task.") from None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        receipt = self.load()
        return self.page(receipt, AnswerForm(kind=receipt.kind))

    def page(self, receipt: Any, form: AnswerForm, status: int = 200) -> HttpResponse:
        with data_keys_preloaded(self.organization.pk):
            response = self.render_to_response(
                self.get_context_data(
                    receipt=receipt,
                    form=form,
                    files=receipt_files(organization=self.organization, receipt=receipt),
                ),
                status=status,
            )
            response.render()  # type: ignore[attr-defined]
        return response

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        receipt = self.load()
        form = AnswerForm(request.POST, request.FILES, kind=receipt.kind)
        if form.is_valid():
            try:
                receipt_answer(
                    organization=self.organization,
                    actor=_user(request),
                    receipt=receipt,
                    answer_kind=form.cleaned_data["answer_kind"],
                    note=form.cleaned_data["note"],
                    files=form.incoming_files(),
                )
            except VendorActionRefused as refused:
                _add_errors(form, refused)
            else:
                messages.success(
                    request,
                    _("Your answer was sent to %(district)s.")
                    % {"district": receipt.from_organization_name},
                )
                return HttpResponseRedirect(self.url("vendor_inbox"))
        return self.page(self.load(), form, status=400)
