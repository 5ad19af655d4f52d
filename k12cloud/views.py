from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView


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
