"""Second factor before anything else, for signed-in users.

Runs after OTPMiddleware, allauth's AccountMiddleware and TenancyMiddleware (inside the
user's context, so the membership read is the one the views reuse):

- signed in, not verified, with an authenticator or passkey → the verification page;
- signed in, not verified, no second factor, and required (ops staff, or a membership whose
  organization's policy covers the role) → enrolment;
- verified with something other than a passkey, while a membership requires a passkey of the
  role (accounts.mfa.selectors.passkey_required) → the passkey step: sign in with the passkey
  when the user has one, else register one;
- /api/ paths get a 403 JSON answer instead of a redirect.

Only the page the user is sent to (and the passkey pages that belong to it), sign-out, static
files, /healthz/ and the language switch stay open. Cost: nothing for a verified user beyond
django-otp's own device lookup (one EXISTS on passkeys more when a passkey is required and the
session was verified without one); for an unverified user one EXISTS query on second factors,
plus the memberships (shared with the view).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import NoReverseMatch, reverse

from accounts.mfa.models import WebAuthnCredential
from accounts.mfa.selectors import (
    mfa_required,
    passkey_required,
    user_has_passkey,
    user_has_second_factor,
)
from k12cloud.portal import memberships_of

# the passkey ceremony's own URLs stay open on the way to the page they belong to
_OPEN_WITH = {
    "mfa_verify": ("mfa_passkey_verify",),
    "mfa_enrol": ("mfa_passkey_register",),
    "mfa_passkey_verify": (),
    # registering with a verified session asks for the password again first
    "mfa_passkey_register": ("account_reauthenticate",),
}


class MfaEnforcementMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @cached_property
    def _always_open(self) -> tuple[str, ...]:
        paths = [reverse("account_logout"), reverse("health"), settings.STATIC_URL or "/static/"]
        with suppress(NoReverseMatch):  # when a language switch is installed
            paths.append(reverse("set_language"))
        return tuple(paths)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self._enforce(request)
        return response if response is not None else self.get_response(request)

    def _enforce(self, request: HttpRequest) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if user.is_verified():
            return self._enforce_passkey(request, user)
        path = request.path_info
        if path.startswith(self._always_open):
            return None
        if user_has_second_factor(user=user):
            return self._send(request, "mfa_verify", "second_factor_required")
        if passkey_required(memberships=memberships_of(request)):
            return self._send(request, "mfa_passkey_register", "passkey_enrolment_required")
        if mfa_required(user=user, memberships=memberships_of(request)):
            return self._send(request, "mfa_enrol", "second_factor_enrolment_required")
        return None

    def _enforce_passkey(self, request: HttpRequest, user: Any) -> HttpResponse | None:
        """A session verified without a passkey, where the role must use one."""
        if isinstance(getattr(user, "otp_device", None), WebAuthnCredential):
            return None
        if request.path_info.startswith(self._always_open):
            return None
        if not passkey_required(memberships=memberships_of(request)):
            return None
        if user_has_passkey(user=user):
            return self._send(request, "mfa_passkey_verify", "passkey_required")
        return self._send(request, "mfa_passkey_register", "passkey_enrolment_required")

    def _send(self, request: HttpRequest, url_name: str, api_code: str) -> HttpResponse | None:
        target = reverse(url_name)
        open_paths = [target, *(reverse(name) for name in _OPEN_WITH.get(url_name, ()))]
        if request.path_info in open_paths or any(
            request.path_info.startswith(f"{path}options/") for path in open_paths
        ):
            return None
        if request.path_info.startswith("/api/"):
            return JsonResponse(
                {"detail": "Complete the second factor in the portal first.", "code": api_code},
                status=403,
            )
        next_url = request.get_full_path() if request.method == "GET" else reverse("home")
        if next_url == reverse("home"):
            return HttpResponseRedirect(target)
        return HttpResponseRedirect(f"{target}?{urlencode({'next': next_url})}")
