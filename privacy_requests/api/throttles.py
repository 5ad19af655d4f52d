"""The rate of the API's `POST intake/`: per API key (or per signed-in user and organization),
`settings.PRIVACY_INTAKE_API_RATE`; past it, 429 with Retry-After."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiKey


class IntakeApiThrottle(SimpleRateThrottle):
    """The API intake's rate, per API key (its prefix: unique, never reused) or per signed-in
    user in the organization of the URL. Counts live in the default cache (Redis), shared by
    every web process; the rate is read from settings on each request."""

    scope = "privacy_intake_api"

    def get_rate(self) -> str | None:
        return str(settings.PRIVACY_INTAKE_API_RATE)

    def allow_request(self, request: Any, view: Any) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.prefix}"
        elif request.user is not None and request.user.is_authenticated:
            ident = f"user:{request.user.pk}:org:{view.kwargs.get('org_slug', '')}"
        else:
            return None  # refused before this by authentication
        return self.cache_format % {"scope": self.scope, "ident": ident}
