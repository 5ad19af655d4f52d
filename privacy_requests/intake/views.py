"""The public pages: `/privacy/<org-slug>/` (the form), its "sent" page and the confirm link.

No one signs in here. The organization comes from the URL (unknown or terminated: 404); the
request is created in that organization's tenant context by `web_request_receive`. The page
language is English or Spanish: `?lang=es` switches (and is remembered in the language
cookie); otherwise the browser's preference decides (LocaleMiddleware).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.models import Organization
from k12cloud.client_ip import client_ip
from k12cloud.public_pages import public_language, public_render
from k12cloud.rate_limits import RateLimitDecision
from k12cloud.tenancy import tenant_context
from privacy_requests.deadlines import RequestType
from privacy_requests.intake import pow, rate_limit
from privacy_requests.intake.forms import IntakeForm
from privacy_requests.intake.selectors import (
    intake_offer,
    intake_organization,
    requester_token_for,
)
from privacy_requests.intake.services import (
    TokenUnusable,
    WebSubmission,
    requester_token_use,
    token_unusable_reason,
    web_request_receive,
)
from privacy_requests.models import RequesterToken

_SUBMITTED_SESSION_KEY = "privacy_intake_submitted"


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    return public_render(request, f"privacy_requests/intake/{template}", context, status=status)


def rate_limited_response(response: HttpResponse, decision: RateLimitDecision) -> HttpResponse:
    """A 429 page says when to come back (Retry-After, in seconds)."""
    response["Retry-After"] = str(decision.retry_after)
    return response


def _organization(org_slug: str) -> Organization:
    organization = intake_organization(slug=org_slug)
    if organization is None:
        raise Http404("No such organization.")
    return organization


def _with_language(url: str, language: str) -> str:
    return f"{url}?{urlencode({'lang': language})}"


@never_cache
@require_http_methods(["GET", "POST"])
def intake_form_view(request: HttpRequest, org_slug: str) -> HttpResponse:
    organization = _organization(org_slug)
    language = public_language(request)
    request_types, ccpa_applies = intake_offer(organization=organization)
    gpc_signal = request.headers.get("Sec-GPC", "").strip() == "1"
    gpc_means_opt_out = gpc_signal and ccpa_applies
    context: dict[str, Any] = {
        "intake_org": organization,
        "gpc_means_opt_out": gpc_means_opt_out,
    }
    ip = client_ip(request)

    if request.method == "POST":
        # reserved before anything else, in one atomic step: concurrent POSTs cannot all pass
        decision = rate_limit.submission_reserve(organization_id=organization.pk, client_ip=ip)
        if not decision.allowed:
            return rate_limited_response(
                _render(request, "rate_limited.html", context, status=429), decision
            )
        form = IntakeForm(request.POST, request_types=request_types)
        proof_error = None
        try:
            pow.proof_verify(request.POST.get("altcha", ""))
        except pow.ProofRefused as refused:
            proof_error = refused.reason
        accepted = form.is_valid() and proof_error is None
        if not accepted:  # only accepted submissions count
            rate_limit.submission_release(organization_id=organization.pk, client_ip=ip)
        if accepted:
            data = form.cleaned_data
            birth_date = data["subject_birth_date"]
            submission = WebSubmission(
                request_type=data["request_type"],
                relationship=data["relationship"],
                requester_name=data["requester_name"].strip(),
                requester_email=data["requester_email"],
                requester_phone=data["requester_phone"].strip(),
                subject_name=data["subject_name"].strip(),
                subject_school=data["subject_school"].strip(),
                subject_birth_date=birth_date.isoformat() if birth_date else "",
                details=data["details"].strip(),
            )

            def confirm_url_for(token: str) -> str:
                path = reverse(
                    "privacy_intake:confirm_email",
                    kwargs={"org_slug": organization.slug, "token": token},
                )
                return request.build_absolute_uri(_with_language(path, language))

            with tenant_context(organization):
                result = web_request_receive(
                    organization=organization,
                    submission=submission,
                    language=language,
                    gpc_signal=gpc_signal,
                    gpc_means_opt_out=gpc_means_opt_out,
                    confirm_url_for=confirm_url_for,
                )
            request.session[_SUBMITTED_SESSION_KEY] = {
                "org": organization.pk,
                "reference": result.request.reference,
                "gpc_reference": result.gpc_opt_out.reference if result.gpc_opt_out else "",
            }
            path = reverse("privacy_intake:submitted", kwargs={"org_slug": organization.slug})
            return redirect(_with_language(path, language))
        context["proof_error"] = proof_error
        status = 400
    else:
        initial = {"request_type": RequestType.OPT_OUT} if gpc_means_opt_out else {}
        form = IntakeForm(request_types=request_types, initial=initial)
        status = 200
    context["form"] = form
    context["challenge"] = pow.challenge_create()
    return _render(request, "form.html", context, status=status)


@never_cache
@require_http_methods(["GET"])
def intake_submitted_view(request: HttpRequest, org_slug: str) -> HttpResponse:
    organization = _organization(org_slug)
    submitted = request.session.get(_SUBMITTED_SESSION_KEY) or {}
    if submitted.get("org") != organization.pk:
        submitted = {}
    return _render(request, "submitted.html", {"intake_org": organization, "submitted": submitted})


def _link_unusable(request: HttpRequest, reason: str, org_slug: str) -> HttpResponse:
    status = 404 if reason == "unknown" else 410
    # the organization, when the address names one: its privacy contact and status page
    context = {"reason": reason, "intake_org": intake_organization(slug=org_slug)}
    return _render(request, "link_unusable.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def confirm_email_view(request: HttpRequest, org_slug: str, token: str) -> HttpResponse:
    """GET shows a button; only the POST confirms (mail scanners open links, never press)."""
    row = requester_token_for(token=token, purpose=RequesterToken.Purpose.CONFIRM_EMAIL)
    if row is not None and row.organization.slug != org_slug:
        row = None
    reason = token_unusable_reason(row)
    if reason is not None:
        return _link_unusable(request, reason, org_slug)
    assert row is not None
    organization = row.organization
    if request.method == "POST":
        try:
            with tenant_context(organization):
                privacy_request = requester_token_use(token_row=row)
        except TokenUnusable as unusable:
            return _link_unusable(request, unusable.reason, org_slug)
        return _render(
            request,
            "confirmed.html",
            {"intake_org": organization, "reference": privacy_request.reference},
        )
    return _render(request, "confirm.html", {"intake_org": organization})
