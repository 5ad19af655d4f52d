"""The base class of every organization API viewset (`/api/v1/orgs/<org_slug>/...`).

The API twin of `k12cloud.portal.OrganizationView`: after DRF authenticates the caller it
resolves the organization, checks membership and the role's permission for the action
(`action_permissions`), and runs the handler inside `tenant_context(organization)`.
Non-members and unknown organizations get 404; a role without the permission gets 403.

An organization API key (accounts.api.authentication) is accepted in place of a member: it
acts for its own organization only (any other slug is 404) with the key's role. Such requests
have no membership (`self.membership` is None); `self.role` is set for both kinds of caller.

What every API endpoint shares besides (the body parser, the JSON 404, the schema's common
answers) is in `k12cloud.api_common`, which imports no app so that settings can name it.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any, ClassVar

from django.http import Http404, HttpRequest, HttpResponseBase
from rest_framework import viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request

from accounts.api.authentication import SignedInOrApiKey
from accounts.models import ApiKey, Membership, Organization
from accounts.permissions import Permission, Role, role_allows
from accounts.security import allowlist
from k12cloud.portal import resolve_membership
from k12cloud.tenancy import tenant_context


class OrganizationViewSet(viewsets.GenericViewSet):
    action_permissions: ClassVar[dict[str, Permission]] = {}
    # True for the few endpoints a terminated organization's members keep (exports/)
    serves_terminated: ClassVar[bool] = False
    permission_classes = [SignedInOrApiKey]
    organization: Organization
    membership: Membership | None  # None for an API key
    role: Role

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for method in ("dispatch", "initial"):
            if method in cls.__dict__:
                raise TypeError(f"{cls.__name__} must not override {method}(): it holds checks.")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self._tenant_scope = ExitStack()
        with self._tenant_scope:
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication, IsAuthenticated, throttles
        permission = self.action_permissions.get(self.action or "")
        if permission is None:
            raise PermissionDenied("This action has no permission declared.")
        if isinstance(request.auth, ApiKey):
            if request.auth.organization.slug != kwargs["org_slug"]:
                raise Http404("No such organization.")
            self.organization, self.membership = request.auth.organization, None
            self.role = Role(request.auth.role)
        else:
            self.organization, self.membership = resolve_membership(
                request, kwargs["org_slug"], terminated_too=self.serves_terminated
            )
            self.role = Role(self.membership.role)
        if allowlist.api_refused(request, self.organization, self.role, self.membership):
            raise PermissionDenied("Your address is not on this organization's IP allowlist.")
        if not role_allows(self.role, permission):
            raise PermissionDenied("Your role does not allow this action.")
        self._tenant_scope.enter_context(tenant_context(self.organization))
