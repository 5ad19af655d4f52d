"""The Django admin for k-12.cloud ops staff.

Ops staff work across tenants, so every admin view runs in an all-tenants context (the escape
hatch, named and logged). The template is rendered inside it, because lazy querysets in a
changelist are evaluated while rendering.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponse

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

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        # the only admin page not wrapped by admin_view
        refusal = ops_admin_refusal(request)
        return refusal if refusal is not None else super().login(request, extra_context)


class OpsAdminConfig(AdminConfig):
    default_site = "k12cloud.admin_site.OpsAdminSite"
