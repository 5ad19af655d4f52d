from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.template import loader
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from k12cloud.api_common import api_not_found, is_api_path
from k12cloud.public_pages import public_language


def health(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: the process is up and can reach the database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


class ApiRootView(APIView):
    """Entry point of the API: where to find the caller's organizations and the schema."""

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response(
            {
                "organizations": reverse("accounts_api:my_organizations", request=request),
                "schema": reverse("api_schema", request=request),
                "docs": reverse("api_docs", request=request),
            }
        )


# --- error pages (handler400/403/404/500 in k12cloud.urls) -------------------------------------
# Each is a styled page with the site's header, a sentence of what happened and what to do, in
# the visitor's language: `?lang=` (as on the public requester pages), else the language the
# LocaleMiddleware chose (cookie, Accept-Language).


def error_page(request: HttpRequest, status: int, *, message: str = "") -> HttpResponse:
    """The styled page of a 4xx status (templates/<status>.html); `message` says why, if given."""
    public_language(request)
    return render(request, f"{status}.html", {"message": message}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: never echo the exception (it may quote the request's malformed input)."""
    return error_page(request, 400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403: the refusal's own sentence (e.g. "Your role does not allow this page.")."""
    message = str(exception) if exception is not None and exception.args else ""
    return error_page(request, 403, message=message)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponseBase:
    """handler404: a JSON 404 under /api/ (clients parse every API answer), the page elsewhere.

    The exception's text is not shown: it may name a model or a lookup.
    """
    if is_api_path(request.path_info):
        return api_not_found(request, exception)
    return error_page(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a static page without the request's context processors (no query, no session):
    whatever failed must not fail the error page too."""
    try:
        public_language(request)
        body = loader.get_template("500.html").render({})
    except Exception:  # the last resort cannot fail
        body = "<!doctype html><title>Server error</title><h1>Server error</h1>"
    return HttpResponse(body, status=500)
