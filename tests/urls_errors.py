"""The portal's URLs plus views that fail in each way, for tests/test_error_pages.py."""

from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from k12cloud.urls import handler400, handler403, handler404, handler500
from k12cloud.urls import urlpatterns as portal_urlpatterns
from k12cloud.views import error_page

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def bad_request(request: HttpRequest) -> HttpResponse:
    raise BadRequest("the secret input <script>")


def refused(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def missing(request: HttpRequest) -> HttpResponse:
    raise Http404("No Organization matches the given query.")


def too_many(request: HttpRequest) -> HttpResponse:
    return error_page(request, 429)


def fails(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("the view failed")


urlpatterns = [
    path("errors/400/", bad_request),
    path("errors/403/", refused),
    path("errors/404/", missing),
    path("errors/429/", too_many),
    path("errors/500/", fails),
    *portal_urlpatterns,
]
