"""The requester portal's public pages (no sign-in), in the privacy_intake namespace.

- `status/`: email + reference; when they match an open or recently closed request, a portal
  link is emailed. The answer is the same whether or not they matched (no probing), and the
  form is rate-limited per client address like the intake form.
- `portal/<token>/`: GET shows a button (mail scanners open links, never press); POST uses the
  single-use link and starts a portal session: a signed value in the Django session naming the
  organization and the request, valid for PORTAL_SESSION_SECONDS. No user is signed in.
- `portal/`: the request (status, deadlines, messages, files); `portal/reply/` and
  `portal/sign-out/` are POST only.

The page language is the request's own, unless `?lang=` picks another.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Organization
from k12cloud.client_ip import client_ip
from k12cloud.public_pages import LANGUAGES, public_language
from k12cloud.tenancy import tenant_context
from privacy_requests.intake import rate_limit
from privacy_requests.intake.forms import REQUEST_TYPE_LABELS
from privacy_requests.intake.selectors import requester_token_for
from privacy_requests.intake.services import TokenUnusable, token_unusable_reason
from privacy_requests.intake.views import (
    _organization,
    _render,
    _with_language,
    rate_limited_response,
)
from privacy_requests.models import PrivacyRequest, RequesterToken, RequestMessage
from privacy_requests.portal.forms import PortalLinkForm, PortalReplyForm
from privacy_requests.portal.selectors import (
    portal_messages,
    portal_request_for,
    portal_request_get,
)
from privacy_requests.portal.services import portal_link_send, portal_reply_add, portal_token_use
from privacy_requests.selectors import request_deadline_summary
from privacy_requests.status import Status

PORTAL_SESSION_KEY = "privacy_portal"
PORTAL_SESSION_SECONDS = 60 * 60
_SIGNING_SALT = "privacy_requests.portal.session"
_RATE_SCOPE = "portal-link"

# What each status means, as a parent would say it: (short name, one sentence).
STATUS_EXPLAINED: dict[str, tuple[Any, Any]] = {
    Status.RECEIVED: (
        _("Received"),
        _("We received your request. Confirm your email address with the link we sent you."),
    ),
    Status.AWAITING_VERIFICATION: (
        _("Checking who you are"),
        _(
            "We are checking that you are the right person before we share or change any "
            "information. We may contact you."
        ),
    ),
    Status.VERIFIED: (
        _("Identity confirmed"),
        _("We confirmed who you are and will start work on your request soon."),
    ),
    Status.ACKNOWLEDGED: (
        _("Receipt confirmed"),
        _("We confirmed that we received your request and are looking at it."),
    ),
    Status.IN_PROGRESS: (_("In progress"), _("We are working on your request.")),
    Status.ON_HOLD: (
        _("Paused"),
        _(
            "We are waiting for something before we can go on, usually information from you. "
            "Read the messages below."
        ),
    ),
    Status.EXTENDED: (
        _("Taking longer"),
        _("We need more time, as the law allows. The new date is below."),
    ),
    Status.FULFILLED: (_("Done"), _("We completed your request.")),
    Status.DENIED: (
        _("Not granted"),
        _("We could not do what you asked. Our answer is below."),
    ),
    Status.CLOSED_UNVERIFIED: (
        _("Closed: identity not confirmed"),
        _(
            "We closed your request because we could not confirm who you are. You can send a "
            "new request."
        ),
    ),
    Status.WITHDRAWN: (_("Withdrawn"), _("This request was withdrawn.")),
    Status.DUPLICATE: (
        _("Closed as a repeat"),
        _("This request repeats another request you sent. We answer that one."),
    ),
}


def _portal_render(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    default_language: str = "",
    status: int = 200,
) -> HttpResponse:
    """The intake's page frame; the request's language unless `?lang=` chooses."""
    if default_language in LANGUAGES and request.GET.get("lang") not in LANGUAGES:
        translation.activate(default_language)
        request.LANGUAGE_CODE = default_language
    return _render(request, f"portal/{template}", context, status=status)


def _url(name: str, organization: Organization, language: str, **kwargs: str) -> str:
    path = reverse(f"privacy_intake:{name}", kwargs={"org_slug": organization.slug, **kwargs})
    return _with_language(path, language)


# --- the portal session ---------------------------------------------------------------------


def _session_start(request: HttpRequest, privacy_request: PrivacyRequest) -> None:
    request.session.cycle_key()  # a new session id: nothing from before carries over
    request.session[PORTAL_SESSION_KEY] = signing.dumps(
        {"o": privacy_request.organization_id, "r": privacy_request.pk}, salt=_SIGNING_SALT
    )


def _session_request(request: HttpRequest, organization: Organization) -> PrivacyRequest | None:
    """The request the portal session names, in this organization, while it lasts; else None.

    The value is signed and timed: a session edited to name another request (or another
    organization), or older than PORTAL_SESSION_SECONDS, names nothing.
    """
    value = request.session.get(PORTAL_SESSION_KEY)
    if not isinstance(value, str):
        return None
    try:
        data = signing.loads(value, salt=_SIGNING_SALT, max_age=PORTAL_SESSION_SECONDS)
    except signing.BadSignature:  # includes SignatureExpired
        request.session.pop(PORTAL_SESSION_KEY, None)
        return None
    if not isinstance(data, dict) or data.get("o") != organization.pk:
        return None
    with tenant_context(organization):
        return portal_request_get(organization=organization, request_id=int(data["r"]))


def _session_ended(request: HttpRequest, organization: Organization) -> HttpResponse:
    """No (or no longer a) portal session: back to the form that sends a new link."""
    return redirect(_url("portal_link", organization, public_language(request)) + "&ended=1")


# --- pages ----------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def portal_link_view(request: HttpRequest, org_slug: str) -> HttpResponse:
    organization = _organization(org_slug)
    context: dict[str, Any] = {"intake_org": organization, "ended": "ended" in request.GET}
    if request.method == "POST":
        ip = client_ip(request)
        # reserved in one atomic step before the lookup: concurrent POSTs cannot all pass
        decision = rate_limit.submission_reserve(
            organization_id=organization.pk, client_ip=ip, scope=_RATE_SCOPE
        )
        if not decision.allowed:
            return rate_limited_response(
                _portal_render(request, "rate_limited.html", context, status=429), decision
            )
        form = PortalLinkForm(request.POST)
        if form.is_valid():
            # every well-formed attempt counts, matched or not: guessing costs the same
            with tenant_context(organization):
                match = portal_request_for(
                    organization=organization,
                    email=form.cleaned_data["email"],
                    reference=form.cleaned_data["reference"],
                )
                if match is not None:

                    def portal_url_for(token: str, match: PrivacyRequest = match) -> str:
                        path = _url("portal_open", organization, match.language, token=token)
                        return request.build_absolute_uri(path)

                    portal_link_send(request=match, portal_url_for=portal_url_for)
            # the same page whether or not anything matched
            return _portal_render(request, "link_sent.html", context)
        # a malformed attempt looks nothing up: its reservation is given back
        rate_limit.submission_release(
            organization_id=organization.pk, client_ip=ip, scope=_RATE_SCOPE
        )
        context["form"] = form
        return _portal_render(request, "link_form.html", context, status=400)
    context["form"] = PortalLinkForm()
    return _portal_render(request, "link_form.html", context)


def _link_unusable(
    request: HttpRequest, organization: Organization | None, reason: str
) -> HttpResponse:
    status = 404 if reason == "unknown" else 410
    context = {"reason": reason, "intake_org": organization}
    return _portal_render(request, "link_unusable.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def portal_open_view(request: HttpRequest, org_slug: str, token: str) -> HttpResponse:
    """GET shows a button; only the POST uses the link and starts the portal session."""
    organization = _organization(org_slug)
    row = requester_token_for(token=token, purpose=RequesterToken.Purpose.PORTAL)
    if row is not None and row.organization_id != organization.pk:
        row = None
    reason = token_unusable_reason(row)
    if reason is not None:
        return _link_unusable(request, organization, reason)
    assert row is not None
    if request.method == "POST":
        try:
            with tenant_context(organization):
                privacy_request = portal_token_use(token_row=row)
        except TokenUnusable as unusable:
            return _link_unusable(request, organization, unusable.reason)
        _session_start(request, privacy_request)
        language = request.GET.get("lang") or privacy_request.language
        return redirect(_url("portal", organization, language))
    return _portal_render(request, "open.html", {"intake_org": organization})


@never_cache
@require_http_methods(["GET"])
def portal_view(request: HttpRequest, org_slug: str) -> HttpResponse:
    organization = _organization(org_slug)
    privacy_request = _session_request(request, organization)
    if privacy_request is None:
        return _session_ended(request, organization)
    return _portal_page(request, organization, privacy_request, PortalReplyForm())


def _portal_page(
    request: HttpRequest,
    organization: Organization,
    privacy_request: PrivacyRequest,
    form: PortalReplyForm,
    *,
    status: int = 200,
) -> HttpResponse:
    with tenant_context(organization):
        deadlines = request_deadline_summary(organization=organization, request=privacy_request)
        messages = portal_messages(organization=organization, request=privacy_request)
        closure_reason = privacy_request.closure_reason if privacy_request.closed_at else ""
    status_name, status_meaning = STATUS_EXPLAINED[privacy_request.status]
    context = {
        "intake_org": organization,
        "privacy_request": privacy_request,
        "request_type_label": REQUEST_TYPE_LABELS.get(
            privacy_request.request_type, privacy_request.request_type
        ),
        "status_name": status_name,
        "status_meaning": status_meaning,
        "deadlines": deadlines,
        "portal_messages": messages,
        "from_requester": RequestMessage.Direction.FROM_REQUESTER,
        "closure_reason": closure_reason,
        "form": form,
        "session_minutes": PORTAL_SESSION_SECONDS // 60,
    }
    return _portal_render(
        request,
        "portal.html",
        context,
        default_language=privacy_request.language,
        status=status,
    )


@never_cache
@require_POST
def portal_reply_view(request: HttpRequest, org_slug: str) -> HttpResponse:
    organization = _organization(org_slug)
    privacy_request = _session_request(request, organization)
    if privacy_request is None:
        return _session_ended(request, organization)
    form = PortalReplyForm(request.POST)
    if not form.is_valid():
        return _portal_page(request, organization, privacy_request, form, status=400)
    with tenant_context(organization):
        portal_reply_add(request=privacy_request, body=form.cleaned_data["body"])
    language = request.GET.get("lang") or privacy_request.language
    with translation.override(language):
        messages.success(request, gettext("Your message was sent."))
    return redirect(_url("portal", organization, language) + "#messages")


@never_cache
@require_POST
def portal_sign_out_view(request: HttpRequest, org_slug: str) -> HttpResponse:
    organization = _organization(org_slug)
    request.session.pop(PORTAL_SESSION_KEY, None)
    request.session.cycle_key()
    language = public_language(request)
    return _portal_render(
        request, "signed_out.html", {"intake_org": organization, "language": language}
    )
