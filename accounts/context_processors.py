from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def organization_switcher(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from k12cloud.portal import memberships_of

    # lazy, and shared with the membership check: no query unless a template shows it
    return {"my_memberships": SimpleLazyObject(lambda: memberships_of(request))}
