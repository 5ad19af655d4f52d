"""A fixed-window counter in the cache (Redis): submissions per client address and organization.

Keys hold a hash of the address, never the address itself.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache

_PREFIX = "intake-rate:"


def _key(organization_id: int, client_ip: str | None) -> str:
    digest = hashlib.sha256(f"{organization_id}|{client_ip or 'unknown'}".encode()).hexdigest()
    return _PREFIX + digest


def submissions_exhausted(*, organization_id: int, client_ip: str | None) -> bool:
    """Has this address used up its submissions to this organization in the current window?"""
    count = cache.get(_key(organization_id, client_ip), 0)
    return int(count) >= settings.PRIVACY_INTAKE_RATE_LIMIT


def submission_count(*, organization_id: int, client_ip: str | None) -> None:
    """Count one accepted submission; the window starts with the first one."""
    key = _key(organization_id, client_ip)
    cache.add(key, 0, timeout=settings.PRIVACY_INTAKE_RATE_WINDOW_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=settings.PRIVACY_INTAKE_RATE_WINDOW_SECONDS)
