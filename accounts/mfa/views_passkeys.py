"""Passkeys and security keys: register, sign in with one (second step, or password-less where
every organization of the user allows it), remove.

Each ceremony is a page with a form and static/js/passkeys.js: the script asks the page's
`options/` URL for a challenge (kept in the session), calls navigator.credentials.create() or
.get(), puts the response in the form's hidden `credential` field and submits the form. The
challenge is taken out of the session before the response is checked, so it is used once.
"""

from __future__ import annotations

from typing import Any

from allauth.account.decorators import reauthentication_required
from allauth.account.internal.flows.login import record_authentication
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View

from accounts.mfa.forms import PasskeyAssertionForm, PasskeyRegisterForm
from accounts.mfa.models import WebAuthnCredential
from accounts.mfa.passkeys import (
    PasskeyError,
    PasskeyRequiredError,
    PendingChallenge,
    authentication_options,
    passkey_authenticate,
    passkey_register,
    passkey_remove,
    registration_options,
)
from accounts.mfa.selectors import (
    mfa_required,
    passkey_required,
    passkey_sign_in_allowed,
    recovery_codes_remaining,
    user_has_passkey,
)
from accounts.mfa.services import recovery_codes_generate
from accounts.mfa.views import (
    RECOVERY_CODES_TEMPLATE,
    _is_verified,
    _next_url,
    _signed_in_with,
    _user,
)
from accounts.selectors import membership_list_for_user
from k12cloud.portal import memberships_of
from k12cloud.tenancy import user_context

PENDING_SESSION_KEY = "mfa_passkey_pending"


def _options_response(request: HttpRequest, options_json: str, pending: PendingChallenge) -> Any:
    request.session[PENDING_SESSION_KEY] = pending.as_session_value()
    response = JsonResponse({}, status=200)
    response.content = options_json.encode()
    response["Cache-Control"] = "no-store"
    return response


def _take_pending(request: HttpRequest, purpose: str) -> PendingChallenge:
    """The session's pending challenge, removed from the session whatever happens next."""
    return PendingChallenge.from_session_value(
        request.session.pop(PENDING_SESSION_KEY, None), purpose=purpose
    )


def _verified_with_passkey(request: HttpRequest) -> bool:
    return isinstance(getattr(request.user, "otp_device", None), WebAuthnCredential)


# --- registration ---------------------------------------------------------------------------


@method_decorator(login_required, name="dispatch")
class PasskeyRegisterOptionsView(View):
    """POST: a new registration challenge and the options for navigator.credentials.create()."""

    def post(self, request: HttpRequest) -> HttpResponse:
        options_json, pending = registration_options(user=_user(request))
        return _options_response(request, options_json, pending)


@method_decorator(
    [
        login_required,
        # adding a factor to a verified account is a sensitive change; during first enrolment
        # (nothing to verify with yet) the fresh password sign-in is the proof, as for TOTP
        reauthentication_required(enabled=_is_verified),
    ],
    name="dispatch",
)
class PasskeyRegisterView(View):
    template_name = "accounts/mfa/passkey_register.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, PasskeyRegisterForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PasskeyRegisterForm(request.POST)
        if not form.is_valid():
            return self._render(request, form)
        user = _user(request)
        try:
            pending = _take_pending(request, "register")
            result = passkey_register(
                user=user,
                name=form.cleaned_data["name"],
                credential_json=form.cleaned_data["credential"],
                pending=pending,
            )
        except PasskeyError as error:
            form.add_error(None, str(error))
            return self._render(request, form)
        if result.device is None:
            form.add_error(None, result.error)
            return self._render(request, form)
        if not _verified_with_passkey(request):
            # the new passkey is now the session's factor (as a confirmed authenticator app is)
            _signed_in_with(request, result.device)
        messages.success(
            request, _("Your passkey “%(name)s” is set up.") % {"name": result.device.name}
        )
        if recovery_codes_remaining(user=user) == 0:
            # the account's first factor: recovery codes, shown once, as after TOTP enrolment
            codes = recovery_codes_generate(user=user)
            return render(
                request, RECOVERY_CODES_TEMPLATE, {"codes": codes, "next": _next_url(request)}
            )
        return HttpResponseRedirect(_next_url(request))

    def _render(self, request: HttpRequest, form: PasskeyRegisterForm) -> HttpResponse:
        memberships = memberships_of(request)
        return render(
            request,
            self.template_name,
            {
                "form": form,
                "next": _next_url(request),
                "required": passkey_required(memberships=memberships),
                "first_factor": not _is_verified(request),
            },
            status=200 if not form.errors else 400,
        )


# --- the second step after the password -----------------------------------------------------


@method_decorator(login_required, name="dispatch")
class PasskeyVerifyOptionsView(View):
    def post(self, request: HttpRequest) -> HttpResponse:
        options_json, pending = authentication_options(user=_user(request))
        return _options_response(request, options_json, pending)


@method_decorator(login_required, name="dispatch")
class PasskeyVerifyView(View):
    """Sign in with a passkey as the second step (also after a code, where a passkey is
    required of the role)."""

    template_name = "accounts/mfa/passkey_verify.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if request.user.is_authenticated:
            if _verified_with_passkey(request):
                return HttpResponseRedirect(_next_url(request))
            if not user_has_passkey(user=_user(request)):
                return redirect("mfa_verify")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, PasskeyAssertionForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PasskeyAssertionForm(request.POST)
        if not form.is_valid():
            return self._render(request, form)
        try:
            pending = _take_pending(request, "verify")
            result = passkey_authenticate(
                user=_user(request),
                credential_json=form.cleaned_data["credential"],
                pending=pending,
            )
        except PasskeyError as error:
            form.add_error(None, str(error))
            return self._render(request, form)
        if result.device is None:
            form.add_error(None, result.error)
            return self._render(request, form)
        _signed_in_with(request, result.device)
        return HttpResponseRedirect(_next_url(request))

    def _render(self, request: HttpRequest, form: PasskeyAssertionForm) -> HttpResponse:
        required = passkey_required(memberships=memberships_of(request))
        return render(
            request,
            self.template_name,
            {
                "form": form,
                "next": _next_url(request),
                "required": required,
                # codes are offered only where a passkey is not required of the role
                "codes_allowed": not required and not _is_verified(request),
            },
            status=200 if not form.errors else 400,
        )


# --- password-less sign-in ------------------------------------------------------------------


class PasskeySignInOptionsView(View):
    def post(self, request: HttpRequest) -> HttpResponse:
        options_json, pending = authentication_options(user=None)
        return _options_response(request, options_json, pending)


class PasskeySignInView(View):
    """Sign in with a discoverable passkey alone, where every organization of the user allows
    it. The authenticator must verify the user (PIN or biometric): that stands in for the
    password, and the passkey is the second factor."""

    template_name = "accounts/mfa/passkey_sign_in.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            return redirect("home")
        return self._render(request, PasskeyAssertionForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            return redirect("home")
        form = PasskeyAssertionForm(request.POST)
        if not form.is_valid():
            return self._render(request, form)
        try:
            pending = _take_pending(request, "sign_in")
            result = passkey_authenticate(
                user=None, credential_json=form.cleaned_data["credential"], pending=pending
            )
        except PasskeyError as error:
            form.add_error(None, str(error))
            return self._render(request, form)
        device = result.device
        refused = _("This passkey cannot sign you in on its own. Sign in with your password.")
        if device is None:
            form.add_error(None, result.error)
            return self._render(request, form)
        user = device.user
        # the request began anonymous: read the memberships in the user's own context (RLS)
        with user_context(user.pk):
            memberships = list(membership_list_for_user(user_id=user.pk))
        if not passkey_sign_in_allowed(user=user, memberships=memberships):
            form.add_error(None, refused)
            return self._render(request, form)
        # Django's login: the sign-in is audited and the session tracked as for a password
        auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        record_authentication(request, user, method="passkey", passkey_id=device.pk)
        _signed_in_with(request, device)
        return HttpResponseRedirect(_next_url(request))

    def _render(self, request: HttpRequest, form: PasskeyAssertionForm) -> HttpResponse:
        return render(
            request,
            self.template_name,
            {"form": form, "next": _next_url(request)},
            status=200 if not form.errors else 400,
        )


# --- removal --------------------------------------------------------------------------------


@method_decorator([login_required, reauthentication_required], name="dispatch")
class PasskeyRemoveView(View):
    template_name = "accounts/mfa/passkey_remove.html"

    def _passkey(self, request: HttpRequest, passkey_id: int) -> WebAuthnCredential | None:
        return WebAuthnCredential.objects.filter(user=_user(request), pk=passkey_id).first()

    def get(self, request: HttpRequest, passkey_id: int) -> HttpResponse:
        passkey = self._passkey(request, passkey_id)
        if passkey is None:
            return redirect("mfa_overview")
        return render(request, self.template_name, {"passkey": passkey})

    def post(self, request: HttpRequest, passkey_id: int) -> HttpResponse:
        memberships = memberships_of(request)
        try:
            removed = passkey_remove(
                user=_user(request),
                passkey_id=passkey_id,
                passkey_required=passkey_required(memberships=memberships),
                mfa_required=mfa_required(user=_user(request), memberships=memberships),
            )
        except PasskeyRequiredError as error:
            messages.error(request, str(error) + " " + _("Add another passkey first."))
            return redirect("mfa_overview")
        if removed:
            messages.success(request, _("The passkey was removed."))
        return redirect("mfa_overview")
