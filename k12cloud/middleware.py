"""Request-wide middleware: a request id, the tenancy context for the signed-in user, and no
caching of anything that was answered for one caller."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase

from audit.context import current_request
from k12cloud.tenancy import user_context

request_id: ContextVar[str | None] = ContextVar("k12cloud_request_id", default=None)
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Takes a sane X-Request-ID from the proxy or makes one; echoes it on the response.

    Also makes the request the current one for audit events (audit.context).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        value = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(value)
        request_token = current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(request_token)
            request_id.reset(token)
        response["X-Request-ID"] = value
        return response


class TenancyMiddleware:
    """Runs the request in one transaction carrying the signed-in user's tenancy context.

    The transaction rolls back when the view raises or the response is a server error.

    With no organization chosen yet, the user can read only their own memberships. The
    organization views and API base classes narrow this to one organization after checking
    membership. Streaming response bodies are produced after this returns, so a streaming view
    must enter its own tenant_context inside the generator.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else None
        with user_context(user_id):
            response = self.get_response(request)
            if response.status_code >= 500:
                transaction.set_rollback(True)
            return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        # Django turns a view's exception into a response before it reaches __call__, so the
        # transaction would otherwise commit whatever the view wrote before failing.
        transaction.set_rollback(True)


PRIVATE_CACHE_CONTROL = "no-store, private"


class NoStoreMiddleware:
    """Keeps answers given to one caller out of every cache: the browser's, proxies', CDNs'.

    A response to a signed-in user or to a request carrying credentials (an API key), and any
    /api/ response, gets `Cache-Control: no-store, private` unless its view chose a
    Cache-Control of its own (exports and downloads say no-store themselves; the public
    requester pages use never_cache). Anonymous public pages keep Django's defaults, and static
    files never reach this middleware (WhiteNoise answers them first, cacheable).

    Sits below AuthenticationMiddleware, so it sees the signed-in user, and above the MFA,
    lockout and tenancy middleware, so their redirects and refusals are covered too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control") and answered_for_one_caller(request):
            response["Cache-Control"] = PRIVATE_CACHE_CONTROL
        return response


def answered_for_one_caller(request: HttpRequest) -> bool:
    if request.path_info.startswith("/api/") or "HTTP_AUTHORIZATION" in request.META:
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


class StyledNotFoundInDebugMiddleware:
    """Under DEBUG (`make run`), a view's Http404 gets the styled 404 page, as in production.

    Django answers a 404 raised by a view with its technical page whenever DEBUG is on, so a
    member opening a page their role may not know of (`/o/<slug>/billing/`) saw a debug page
    locally. An address that matches no URL pattern keeps Django's page under DEBUG: it lists
    the patterns, which is what a developer wants there. Without DEBUG this does nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponseBase | None:
        if not (settings.DEBUG and isinstance(exception, Http404)):
            return None
        from k12cloud.views import not_found  # the error pages render templates: load lazily

        return not_found(request, exception)
