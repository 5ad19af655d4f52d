"""The user's own second factor: overview, enrolment, verification, recovery codes, removal;
and the organization's MFA policy page."""

from __future__ import annotations

import base64
from typing import Any

import django_otp
import qrcode
import qrcode.image.svg
from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from django.views.generic import FormView, TemplateView
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa.forms import EnrolForm, MfaPolicyForm, VerifyForm
from accounts.mfa.selectors import (
    mfa_required,
    passkey_list,
    passkey_required,
    recovery_codes_remaining,
    totp_device_for_user,
    user_has_passkey,
    user_has_second_factor,
)
from accounts.mfa.services import (
    MfaRequiredError,
    mfa_disable,
    organization_mfa_policy_set,
    recovery_codes_generate,
    second_factor_verify,
    totp_device_confirm,
    totp_device_start,
)
from accounts.models import User
from accounts.permissions import Permission
from k12cloud.portal import OrganizationView, memberships_of

RECOVERY_CODES_TEMPLATE = "accounts/mfa/recovery_codes_new.html"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # views require sign-in


def _next_url(request: HttpRequest) -> str:
    """The `next` parameter when it points into this site, else home."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


def _is_verified(request: HttpRequest) -> bool:
    return bool(request.user.is_verified())  # type: ignore[union-attr]


def _signed_in_with(request: HttpRequest, device: Any) -> None:
    """Mark the session as second-factor verified, under a new session key."""
    django_otp.login(request, device)
    request.session.cycle_key()


def _required(request: HttpRequest) -> bool:
    return mfa_required(user=_user(request), memberships=memberships_of(request))


def _qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    svg: str = image.to_string(encoding="unicode")
    return svg


def _key_text(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, as authenticator apps accept it typed."""
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


class MfaOverviewView(LoginRequiredMixin, TemplateView):
    template_name = "accounts/mfa/overview.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = _user(self.request)
        context.update(
            device=totp_device_for_user(user=user),
            passkeys=passkey_list(user=user),
            recovery_codes_left=recovery_codes_remaining(user=user),
            required=_required(self.request),
            passkey_required=passkey_required(memberships=memberships_of(self.request)),
        )
        return context


class MfaEnrolView(LoginRequiredMixin, FormView):
    """Set up an authenticator app (or replace the current one)."""

    template_name = "accounts/mfa/enrol.html"
    form_class = EnrolForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if (
            request.user.is_authenticated
            and not _is_verified(request)
            and user_has_second_factor(user=_user(request))
        ):
            # replacing an authenticator needs the current one first
            return redirect("mfa_verify")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        device = totp_device_start(user=_user(self.request))
        context.update(
            device=device,
            qr_svg=_qr_svg(device.config_url),
            key_text=_key_text(device),
            replacing=_is_verified(self.request),
            required=_required(self.request),
            next=_next_url(self.request),
        )
        return context

    def form_valid(self, form: EnrolForm) -> HttpResponse:
        user = _user(self.request)
        device = totp_device_start(user=user)
        codes = totp_device_confirm(user=user, device_id=device.pk, token=form.cleaned_data["code"])
        if codes is None:
            form.add_error(
                "code",
                _("That code did not match. Check the time on your phone and enter a new code."),
            )
            return self.form_invalid(form)
        device.refresh_from_db()
        _signed_in_with(self.request, device)
        messages.success(self.request, _("Your authenticator app is set up."))
        # shown once, in this response: the codes are never stored in plain text
        return render(
            self.request, RECOVERY_CODES_TEMPLATE, {"codes": codes, "next": _next_url(self.request)}
        )


class MfaVerifyView(LoginRequiredMixin, FormView):
    """The second step of signing in: a code from the authenticator app or a recovery code."""

    template_name = "accounts/mfa/verify.html"
    form_class = VerifyForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if request.user.is_authenticated:
            if _is_verified(request):
                return HttpResponseRedirect(_next_url(request))
            if not user_has_second_factor(user=_user(request)):
                return redirect("mfa_enrol") if _required(request) else redirect("home")
            if passkey_required(memberships=memberships_of(request)) and user_has_passkey(
                user=_user(request)
            ):
                # a code is not enough for this role: straight to the passkey
                target = reverse("mfa_passkey_verify")
                query = request.GET.urlencode()
                return HttpResponseRedirect(f"{target}?{query}" if query else target)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = _user(self.request)
        context["next"] = _next_url(self.request)
        context["has_passkey"] = user_has_passkey(user=user)
        context["has_totp"] = totp_device_for_user(user=user) is not None
        return context

    def form_valid(self, form: VerifyForm) -> HttpResponse:
        verification = second_factor_verify(
            user=_user(self.request), code=form.cleaned_data["code"]
        )
        if verification.device is None:
            if verification.locked_until is not None:
                wait = max(1, int((verification.locked_until - timezone.now()).total_seconds()))
                form.add_error(
                    "code",
                    ngettext(
                        "Too many wrong codes. Wait %(seconds)d second, then try again.",
                        "Too many wrong codes. Wait %(seconds)d seconds, then try again.",
                        wait,
                    )
                    % {"seconds": wait},
                )
            else:
                form.add_error(
                    "code",
                    _(
                        "That code is not valid, or it has already been used. "
                        "Enter the current code from your app, or an unused recovery code."
                    ),
                )
            return self.form_invalid(form)
        _signed_in_with(self.request, verification.device)
        if verification.recovery_codes_left is not None:
            messages.warning(
                self.request,
                ngettext(
                    "You used a recovery code; %(n)d is left. Generate new ones on your "
                    "two-step verification page.",
                    "You used a recovery code; %(n)d are left. Generate new ones on your "
                    "two-step verification page if you are running low.",
                    verification.recovery_codes_left,
                )
                % {"n": verification.recovery_codes_left},
            )
        return HttpResponseRedirect(_next_url(self.request))


@method_decorator([login_required, reauthentication_required(allow_get=True)], name="dispatch")
class MfaRecoveryCodesView(View):
    """How many recovery codes are left; POST (after re-authentication) replaces them all."""

    def get(self, request: HttpRequest) -> HttpResponse:
        user = _user(request)
        if not user_has_second_factor(user=user):
            return redirect("mfa_overview")
        return render(
            request,
            "accounts/mfa/recovery_codes.html",
            {"recovery_codes_left": recovery_codes_remaining(user=user)},
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        user = _user(request)
        if not user_has_second_factor(user=user):
            return redirect("mfa_overview")
        codes = recovery_codes_generate(user=user)
        return render(
            request, RECOVERY_CODES_TEMPLATE, {"codes": codes, "next": reverse("mfa_overview")}
        )


@method_decorator([login_required, reauthentication_required], name="dispatch")
class MfaDisableView(View):
    """Turn two-step verification off: after re-authentication, and only when not required."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not user_has_second_factor(user=_user(request)):
            return redirect("mfa_overview")
        return render(request, "accounts/mfa/disable.html", {"required": _required(request)})

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            mfa_disable(user=_user(request), required=_required(request))
        except MfaRequiredError:
            messages.error(
                request,
                _(
                    "Your organization requires two-step verification, so it cannot be turned "
                    "off. You can set up a new authenticator app instead."
                ),
            )
            return redirect("mfa_overview")
        messages.success(request, _("Two-step verification is off."))
        return redirect("mfa_overview")


class MfaPolicyView(OrganizationView, FormView):
    """Who in the organization must use a second factor."""

    permission = Permission.SECURITY_MANAGE
    template_name = "accounts/mfa/policy.html"
    form_class = MfaPolicyForm

    def get_initial(self) -> dict[str, Any]:
        return {
            "mfa_policy": self.organization.mfa_policy,
            "mfa_require_passkey_for_admins": self.organization.mfa_require_passkey_for_admins,
            "passkey_sign_in_allowed": self.organization.passkey_sign_in_allowed,
        }

    def form_valid(self, form: MfaPolicyForm) -> HttpResponse:
        changed = organization_mfa_policy_set(
            organization=self.organization,
            policy=form.cleaned_data["mfa_policy"],
            require_passkey_for_admins=form.cleaned_data["mfa_require_passkey_for_admins"],
            passkey_sign_in_allowed=form.cleaned_data["passkey_sign_in_allowed"],
        )
        if changed:
            messages.success(
                self.request,
                _("Saved. Who must use two-step verification: %(policy)s.")
                % {"policy": self.organization.get_mfa_policy_display()},
            )
        else:
            messages.info(self.request, _("Nothing changed."))
        return redirect("accounts:mfa_policy", org_slug=self.organization.slug)
