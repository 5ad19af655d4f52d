"""`trust_banners` for templates: the member's trust banners on organization pages.

Lazy: computed only when base.html shows it, which it does only on organization pages, and
then from the cache (trust.banners): one Redis round trip, no database query in steady state.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from trust.banners import NO_BANNERS, Banners, banners_for


def _banners(request: HttpRequest) -> Banners:
    match = getattr(request, "resolver_match", None)
    slug = match.kwargs.get("org_slug") if match is not None else None
    if not slug:
        return NO_BANNERS
    from k12cloud.portal import memberships_of

    for membership in memberships_of(request):  # loaded by the view already: no query
        if membership.organization.slug == slug:
            return banners_for(membership=membership)
    return NO_BANNERS


def trust_banners(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"trust_banners": SimpleLazyObject(lambda: _banners(request))}
