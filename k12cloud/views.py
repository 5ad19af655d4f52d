from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.views.defaults import page_not_found
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from k12cloud.api_common import api_not_found, is_api_path


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


def not_found(request: HttpRequest, exception: Exception) -> HttpResponseBase:
    """handler404: a JSON 404 under /api/ (clients parse every API answer), the page elsewhere."""
    if is_api_path(request.path_info):
        return api_not_found(request, exception)
    return page_not_found(request, exception)
