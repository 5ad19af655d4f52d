"""API key authentication for the API: `Authorization: Bearer k12_<prefix>_<secret>`.

A key request has no signed-in user: `request.user` is AnonymousUser and `request.auth` is the
ApiKey. So every endpoint that needs a user (IsAuthenticated, the default) refuses keys with
403, and only organization endpoints (k12cloud.api.OrganizationViewSet) accept them, for the
key's own organization and with the key's role.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.api_keys import ApiKeyRefused, api_key_authenticate, looks_like_api_key
from accounts.models import ApiKey

if TYPE_CHECKING:
    from rest_framework.views import APIView


def _bearer_token(request: Request) -> str | None:
    parts = get_authorization_header(request).split()
    if len(parts) != 2 or parts[0].lower() != b"bearer":
        return None
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError:
        return ""


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[AnonymousUser, ApiKey] | None:
        token = _bearer_token(request)
        if token is None:
            return None  # not ours: the session authentication may try
        if not looks_like_api_key(token):
            raise AuthenticationFailed("Unrecognised bearer token: expected a k12_ API key.")
        try:
            key = api_key_authenticate(token)
        except ApiKeyRefused as refused:
            raise AuthenticationFailed(str(refused)) from None
        # the audit actor for events this request records (audit.context.Actor.from_request)
        request._request.k12cloud_api_key_id = key.pk  # type: ignore[attr-defined]
        return AnonymousUser(), key

    def authenticate_header(self, request: Request) -> str | None:
        # A 401 with a Bearer challenge only for callers who presented a bearer token; requests
        # with neither key nor session keep the session API's 403.
        if _bearer_token(request) is None:
            return None
        return 'Bearer realm="api", error="invalid_token"'


class SignedInOrApiKey(BasePermission):
    """A signed-in user, or a valid API key (organization endpoints only)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if isinstance(request.auth, ApiKey):
            return True
        return bool(request.user and request.user.is_authenticated)


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the API key in the OpenAPI schema (drf-spectacular)."""

    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An organization API key: `Authorization: Bearer k12_...`",
        }
