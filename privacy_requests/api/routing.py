"""Routing, search and the intake throttle of the API (`/api/v1/orgs/<slug>/requests/`).

- `POST <request_id>/route/`: route a platform organization's request to the organization
  that holds the data (privacy_requests.routing.request_route).
- `IntakeApiThrottle`: the rate of `POST intake/` per API key (or per signed-in user and
  organization), `settings.PRIVACY_INTAKE_API_RATE`; past it, 429 with Retry-After.
- `POST search/`: the queue's filters in the body, so that a requester's email address never
  lands in a URL, a proxy's access log or the browser history. Same filters and pages as
  `GET requests/`, which keeps `requester_email` only for compatibility.

The organization, the caller's role and the tenant context come from `OrganizationViewSet`
through `PrivacyRequestViewSet`, whose helpers (load, act, answers) these reuse.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError as DrfValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from accounts.models import ApiKey, Organization
from accounts.permissions import Permission
from k12cloud.rate_limits import rate_limit_hit, rate_limit_key
from privacy_requests.api import serializers as s
from privacy_requests.api.views import ERRORS, REFUSED, REQUEST_ID, PrivacyRequestViewSet
from privacy_requests.models import PrivacyRequest
from privacy_requests.request_services import RequestActionRefused
from privacy_requests.routing import request_route

_PERIODS = {"s": 1, "m": 60, "h": 60 * 60, "d": 24 * 60 * 60}


def parse_rate(rate: str) -> tuple[int, int]:
    """DRF's notation, "<count>/<second|minute|hour|day>" (the unit's first letter decides)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[:1]]


class IntakeApiThrottle(BaseThrottle):
    """The API intake's rate, per API key (its prefix: unique, never reused) or per signed-in
    user in the organization of the URL. Counted and checked in one atomic step in Redis
    (k12cloud.rate_limits), shared by every web process, in a fixed window; the rate is read
    from settings on each request."""

    scope = "privacy_intake_api"

    def __init__(self) -> None:
        self.retry_after: int | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.prefix}"
        elif request.user is not None and request.user.is_authenticated:
            ident = f"user:{request.user.pk}:org:{view.kwargs.get('org_slug', '')}"
        else:
            return True  # refused before this by authentication
        limit, window = parse_rate(str(settings.PRIVACY_INTAKE_API_RATE))
        decision = rate_limit_hit(rate_limit_key(self.scope, ident), limit=limit, window=window)
        self.retry_after = decision.retry_after
        return decision.allowed

    def wait(self) -> float | None:
        return self.retry_after


class RouteSerializer(serializers.Serializer):
    to_organization = serializers.SlugField(
        help_text=_("Slug of an active school district or vendor (not the platform)")
    )
    note = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        max_length=s.TEXT_MAX,
        help_text=_("Kept as an internal note on both requests"),
    )


class RoutedSerializer(serializers.Serializer):
    reference = serializers.CharField()
    status = serializers.CharField()
    routed_to_organization = serializers.SlugField()
    routed_to_reference = serializers.CharField()
    routed_at = serializers.DateTimeField()


class SearchSerializer(s.RequestListQuerySerializer):
    """The queue's filters and page, in a POST body."""


class SearchPageSerializer(serializers.Serializer):
    next_cursor = serializers.CharField(
        allow_null=True, help_text=_("Send as `cursor` for the next page")
    )
    results = s.RequestRegisterSerializer(many=True)


class RequestRoutingViewSet(PrivacyRequestViewSet):
    # the inherited actions keep their permissions (only route and search are routed here)
    action_permissions: ClassVar[dict[str, Permission]] = {
        **PrivacyRequestViewSet.action_permissions,
        "route": Permission.REQUESTS_WORK,
        "search": Permission.REQUESTS_VIEW,
    }

    @extend_schema(
        operation_id="requests_route",
        summary="Route a platform request to the organization that holds the data",
        description=(
            "Only for requests of the k-12.cloud platform organization. A copy is created in "
            "the target organization (original receipt time, deadlines under its rules) and "
            'this request closes with status "routed". The requester is emailed.'
        ),
        parameters=[REQUEST_ID],
        request=RouteSerializer,
        responses={
            200: OpenApiResponse(RoutedSerializer, description="Routed"),
            **ERRORS,
            **REFUSED,
        },
    )
    def route(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        privacy_request = self.load()
        data = self.valid(RouteSerializer)
        target = Organization.objects.filter(slug=data["to_organization"]).first()
        if target is None:
            raise DrfValidationError(
                {"to_organization": [_("No active school district or vendor has that slug.")]}
            )
        try:
            request_route(
                request=privacy_request,
                to_organization=target,
                actor=self.actor(),
                note=data["note"],
            )
        except RequestActionRefused as refusal:
            field = "to_organization" if refusal.code == "to_organization" else None
            message = str(refusal.messages[0])
            if field:
                return Response({field: [message]}, status=status.HTTP_400_BAD_REQUEST)
            return Response(
                {"detail": message, "code": refusal.code or "refused"},
                status=status.HTTP_409_CONFLICT,
            )
        routed = PrivacyRequest.objects.for_organization(self.organization).get(
            pk=privacy_request.pk
        )
        return Response(
            {
                "reference": routed.reference,
                "status": routed.status,
                "routed_to_organization": target.slug,
                "routed_to_reference": routed.routed_to_reference,
                "routed_at": routed.routed_at,
            }
        )

    @extend_schema(
        operation_id="requests_search",
        summary="Search the queue with the filters in the body (requester email included)",
        description=(
            "The filters of `GET requests/` in a JSON body, so that an email address is never "
            "part of a URL. Keyset pages: send `next_cursor` back as `cursor`."
        ),
        request=SearchSerializer,
        responses={200: SearchPageSerializer, **ERRORS},
    )
    def search(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = self.valid(SearchSerializer)
        page, results = self.queue_page(params)
        return Response(
            {"next_cursor": page.next.encode() if page.next else None, "results": results}
        )
