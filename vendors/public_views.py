"""The off-portal vendor's pages (no sign-in), under /vendor-tasks/<org_slug>/ (the district).

- `open/<token>/`: GET shows a button (mail scanners open links, never press); POST uses the
  single-use link and starts a session for that one task: a signed, timed value in the Django
  session naming the district and the task, valid SESSION_SECONDS.
- `task/`: the task (what the district shared, the instructions, the due date) and the answer
  form: upload the export or the certificate of disposition, or answer "no records" with the
  reason; the responder gives their name and email (the attestation).
- `code/`: a spent or expired link: ask for a code by email (sent only to one of the vendor's
  contact addresses), then enter it to re-open the task. Rate-limited per client address.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.models import Organization
from k12cloud.client_ip import client_ip
from k12cloud.encryption.keys import data_keys_preloaded
from k12cloud.tenancy import tenant_context
from privacy_requests.intake import rate_limit
from privacy_requests.intake.views import rate_limited_response
from vendors.forms import CodeForm, CodeRequestForm, LinkAnswerForm
from vendors.models import TaskKind, TaskStatus, VendorTask
from vendors.services import (
    VendorActionRefused,
    vendor_task_answer_by_link,
    vendor_task_code_send,
    vendor_task_code_use,
    vendor_task_link_usable,
    vendor_task_link_use,
)
from vendors.views import _add_errors

SESSION_KEY = "vendor_task"
SESSION_SECONDS = 60 * 60
_SALT = "vendors.public.session"
_RATE_SCOPE = "vendor-code"


def _organization(org_slug: str) -> Organization:
    organization = Organization.objects.filter(
        slug=org_slug, status=Organization.Status.ACTIVE
    ).first()
    if organization is None:
        raise Http404("No such organization.")
    return organization


def _url(name: str, organization: Organization) -> str:
    return reverse(f"vendor_portal:{name}", kwargs={"org_slug": organization.slug})


def _session_start(request: HttpRequest, task: VendorTask) -> None:
    request.session.cycle_key()
    request.session[SESSION_KEY] = signing.dumps(
        {"o": task.organization_id, "t": task.pk}, salt=_SALT
    )


def _session_task_id(request: HttpRequest, organization: Organization) -> int | None:
    value = request.session.get(SESSION_KEY)
    if not isinstance(value, str):
        return None
    try:
        data = signing.loads(value, salt=_SALT, max_age=SESSION_SECONDS)
    except signing.BadSignature:
        request.session.pop(SESSION_KEY, None)
        return None
    if not isinstance(data, dict) or data.get("o") != organization.pk:
        return None
    return int(data["t"])


@never_cache
@require_http_methods(["GET", "POST"])
def open_view(request: HttpRequest, org_slug: str, token: str) -> HttpResponse:
    organization = _organization(org_slug)
    if request.method == "POST":
        try:
            with tenant_context(organization):
                task = vendor_task_link_use(organization=organization, token=token)
        except VendorActionRefused:
            messages.error(request, _("This link cannot be used any more. Ask for a code."))
            return redirect(_url("code", organization))
        _session_start(request, task)
        return redirect(_url("task", organization))
    with tenant_context(organization):
        usable = vendor_task_link_usable(organization=organization, token=token)
    if not usable:
        messages.error(request, _("This link cannot be used any more. Ask for a code."))
        return redirect(_url("code", organization))
    return render(request, "vendors/public/open.html", {"district": organization})


@never_cache
@require_http_methods(["GET", "POST"])
def task_view(request: HttpRequest, org_slug: str) -> HttpResponse:
    organization = _organization(org_slug)
    task_id = _session_task_id(request, organization)
    if task_id is None:
        return redirect(_url("code", organization))
    with tenant_context(organization), data_keys_preloaded(organization.pk):
        task = (
            VendorTask.objects.for_organization(organization)
            .select_related("vendor")
            .filter(pk=task_id)
            .first()
        )
        if task is None:
            return redirect(_url("code", organization))
        status = 200
        form = LinkAnswerForm(kind=task.kind)
        if request.method == "POST" and task.status == TaskStatus.OPEN:
            form = LinkAnswerForm(request.POST, request.FILES, kind=task.kind)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    vendor_task_answer_by_link(
                        organization=organization,
                        task=task,
                        answer_kind=data["answer_kind"],
                        responder_name=data["responder_name"],
                        responder_email=data["responder_email"],
                        note=data["note"],
                        files=form.incoming_files(),
                    )
                except VendorActionRefused as refused:
                    _add_errors(form, refused)
                else:
                    request.session.pop(SESSION_KEY, None)
                    return render(
                        request, "vendors/public/answered.html", {"district": organization}
                    )
            status = 400
        response = render(
            request,
            "vendors/public/task.html",
            {
                "district": organization,
                "task": task,
                "kind_label": TaskKind(task.kind).label,
                "form": form,
            },
            status=status,
        )
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def code_view(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Ask for a code (action=send), or use one (action=use)."""
    organization = _organization(org_slug)
    send_form = CodeRequestForm(prefix="send")
    use_form = CodeForm(prefix="use")
    status = 200
    context: dict[str, Any] = {"district": organization}
    if request.method == "POST" and request.POST.get("action") == "send":
        send_form = CodeRequestForm(request.POST, prefix="send")
        ip = client_ip(request)
        # reserved in one atomic step before the lookup (as the requester portal's link form)
        decision = rate_limit.submission_reserve(
            organization_id=organization.pk, client_ip=ip, scope=_RATE_SCOPE
        )
        if not decision.allowed:
            return rate_limited_response(
                render(
                    request,
                    "vendors/public/code.html",
                    {
                        **context,
                        "rate_limited": True,
                        "send_form": send_form,
                        "use_form": use_form,
                    },
                    status=429,
                ),
                decision,
            )
        if send_form.is_valid():
            with tenant_context(organization):
                vendor_task_code_send(
                    organization=organization,
                    reference=send_form.cleaned_data["reference"],
                    email=send_form.cleaned_data["email"],
                )
            context["code_sent"] = True
            use_form = CodeForm(
                prefix="use", initial={"reference": send_form.cleaned_data["reference"]}
            )
        else:
            # a malformed attempt looks nothing up: its reservation is given back
            rate_limit.submission_release(
                organization_id=organization.pk, client_ip=ip, scope=_RATE_SCOPE
            )
            status = 400
    elif request.method == "POST" and request.POST.get("action") == "use":
        use_form = CodeForm(request.POST, prefix="use")
        if use_form.is_valid():
            with tenant_context(organization):
                try:
                    task = vendor_task_code_use(
                        organization=organization,
                        reference=use_form.cleaned_data["reference"],
                        code=use_form.cleaned_data["code"],
                    )
                except VendorActionRefused as refused:
                    use_form.add_error("code", refused.messages[0])
                    task = None
            if task is not None:
                _session_start(request, task)
                return redirect(_url("task", organization))
        status = 400
    context.update(send_form=send_form, use_form=use_form)
    return render(request, "vendors/public/code.html", context, status=status)
