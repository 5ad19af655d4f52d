"""Submissions per client address and organization on the public forms, in a fixed window.

Counted and checked in one atomic step (k12cloud.rate_limits): a POST reserves a submission
before it is processed, and gives it back when the form was refused for its content, so that
only accepted submissions count and no number of concurrent POSTs gets past the limit.
`scope` keeps separate counters for other public forms (the portal's "send me a link" form uses
scope="portal-link"). Limit and window: settings PRIVACY_INTAKE_RATE_LIMIT and
PRIVACY_INTAKE_RATE_WINDOW_SECONDS.
"""

from __future__ import annotations

from django.conf import settings

from k12cloud.rate_limits import (
    RateLimitDecision,
    rate_limit_hit,
    rate_limit_key,
    rate_limit_refund,
)


def _key(organization_id: int, client_ip: str | None, scope: str) -> str:
    address = client_ip or "unknown"
    return rate_limit_key(f"public-form:{scope or 'intake'}", organization_id, address)


def submission_reserve(
    *, organization_id: int, client_ip: str | None, scope: str = ""
) -> RateLimitDecision:
    """Take one of this address's submissions to this organization, or be refused."""
    return rate_limit_hit(
        _key(organization_id, client_ip, scope),
        limit=settings.PRIVACY_INTAKE_RATE_LIMIT,
        window=settings.PRIVACY_INTAKE_RATE_WINDOW_SECONDS,
    )


def submission_release(*, organization_id: int, client_ip: str | None, scope: str = "") -> None:
    """Give back a reserved submission that was not accepted (the form had errors)."""
    rate_limit_refund(_key(organization_id, client_ip, scope))
