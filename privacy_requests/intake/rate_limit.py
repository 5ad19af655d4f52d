"""A fixed-window counter in the cache (Redis): submissions per client address and organization.

Keys hold a hash of the address, never the address itself. `scope` keeps separate counters for
other public forms (the portal's "send me a link" form uses scope="portal-link").
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache

_PREFIX = "intake-rate:"


def _key(organization_id: int, client_ip: str | None, scope: str = "") -> str:
    scoped = f"{scope}|" if scope else ""  # the intake's keys stay as they were
    digest = hashlib.sha256(
        f"{scoped}{organization_id}|{client_ip or 'unknown'}".encode()
    ).hexdigest()
    return _PREFIX + digest


def submissions_exhausted(*, organization_id: int, client_ip: str | None, scope: str = "") -> bool:
    """Has this address used up its submissions to this organization in the current window?"""
    count = cache.get(_key(organization_id, client_ip, scope), 0)
    return int(count) >= settings.PRIVACY_INTAKE_RATE_LIMIT


def submission_count(*, organization_id: int, client_ip: str | None, scope: str = "") -> None:
    """Count one accepted submission; the window starts with the first one."""
    key = _key(organization_id, client_ip, scope)
    cache.add(key, 0, timeout=settings.PRIVACY_INTAKE_RATE_WINDOW_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=settings.PRIVACY_INTAKE_RATE_WINDOW_SECONDS)
