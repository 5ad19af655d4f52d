"""The rate of the API's `POST intake/`: per API key (or per signed-in user and organization),
`settings.PRIVACY_INTAKE_API_RATE`; past it, 429 with Retry-After."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from accounts.models import ApiKey
from k12cloud.rate_limits import rate_limit_hit, rate_limit_key

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
