"""The Django admin for k-12.cloud ops staff.

Ops staff work across tenants, so every admin view runs in an all-tenants context (the escape
hatch, named and logged). The template is rendered inside it, because lazy querysets in a
changelist are evaluated while rendering.

The admin has no sign-in form of its own: ops staff sign in through the portal's (LOGIN_URL),
then pass the second step there. One way in means one per-address throttle, one per-account
lockout and one uniform refusal for everybody (docs/security-signin.md).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache

from k12cloud.tenancy import unscoped_all_tenants


def ops_admin_refusal(request: HttpRequest) -> HttpResponse | None:
    # imported late: this module is loaded with the app registry (OpsAdminConfig)
    from accounts.security.allowlist import ops_admin_refusal as refusal

    return refusal(request)


class OpsAdminSite(admin.AdminSite):
    site_header = "k12cloud operations"
    site_title = "k12cloud operations"
    index_title = "Tenants, users and platform records"

    def has_permission(self, request: HttpRequest) -> bool:
        # ops staff always use a second factor here (accounts.mfa)
        is_verified = getattr(request.user, "is_verified", None)
        return super().has_permission(request) and is_verified is not None and is_verified()

    def admin_view(self, view: Callable[..., Any], cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def in_all_tenants_context(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            refusal = ops_admin_refusal(request)  # OPS_ADMIN_IP_ALLOWLIST
            if refusal is not None:
                return refusal
            with unscoped_all_tenants(reason="ops staff in the Django admin"):
                response: HttpResponse = inner(request, *args, **kwargs)
                render = getattr(response, "render", None)
                if render is not None and not getattr(response, "is_rendered", True):
                    render()
                return response

        return in_all_tenants_context

    @method_decorator(never_cache)
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """Send the visitor to the portal's sign-in; this page never checks a password.

        Django's own admin form had neither the portal's per-address throttle nor its uniform
        refusal, and, for accounts that are not staff, told a right password from a wrong one
        (a right one was not counted towards the lockout). The portal's sign-in is followed by
        the second step, which ops staff always have to pass (accounts.mfa); has_permission
        checks it again. The only admin page not wrapped by admin_view.
        """
        refusal = ops_admin_refusal(request)  # OPS_ADMIN_IP_ALLOWLIST
        if refusal is not None:
            return refusal
        next_url = self._next_url(request)
        if not request.user.is_authenticated:
            query = urlencode({REDIRECT_FIELD_NAME: next_url})
            return HttpResponseRedirect(f"{resolve_url(settings.LOGIN_URL)}?{query}")
        if self.has_permission(request):
            return HttpResponseRedirect(next_url)
        # signed in, but not ops staff: sending them to sign in again would loop
        return render(request, "admin/ops_staff_only.html", status=403)

    def _next_url(self, request: HttpRequest) -> str:
        """`next` when it is a page of this admin, else the admin's index."""
        index = reverse("admin:index", current_app=self.name)
        candidate = request.GET.get(REDIRECT_FIELD_NAME) or ""
        if candidate.startswith(index) and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
        return index


class TOTPDeviceAdmin(admin.ModelAdmin):
    """A person's authenticator apps, read-only and without their secrets.

    django-otp's own admin shows the key and a QR code of it to whoever may view a device:
    whoever saw it could produce that person's codes. Ops staff only need to see that a person
    has a device and when it was last used; people manage their devices in the portal.
    """

    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    list_filter = ("confirmed",)
    list_select_related = ("user",)
    search_fields = ("user__email",)
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def third_party_admins_adjust(site: admin.AdminSite) -> None:
    """What the ops admin shows of the libraries' models (after autodiscovery).

    - single sign-on is configured per organization (accounts.sso), never by allauth's global
      SocialApp rows, and SOCIALACCOUNT_STORE_TOKENS is off: neither model means anything here;
    - TOTP devices: shown without their secrets (TOTPDeviceAdmin).
    """
    from allauth.socialaccount.models import SocialApp, SocialToken
    from django_otp.plugins.otp_totp.models import TOTPDevice

    for model in (SocialApp, SocialToken, TOTPDevice):
        if site.is_registered(model):
            site.unregister(model)
    site.register(TOTPDevice, TOTPDeviceAdmin)


class OpsAdminConfig(AdminConfig):
    default_site = "k12cloud.admin_site.OpsAdminSite"

    def ready(self) -> None:
        super().ready()  # autodiscovers every app's admin.py
        third_party_admins_adjust(admin.site)
