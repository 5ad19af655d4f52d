from typing import Any

from django.http import HttpRequest

from accounts.selectors import membership_list_for_user


def organization_switcher(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # lazy: evaluated only by templates that show the switcher, inside the request transaction
    return {"my_memberships": membership_list_for_user(user_id=user.pk)}
