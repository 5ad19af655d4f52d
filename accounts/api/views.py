from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.generics import ListAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.serializers import (
    MembershipSerializer,
    MyMembershipSerializer,
    OrganizationWithCallerSerializer,
)
from accounts.models import ApiKey, Membership
from accounts.permissions import Permission
from accounts.selectors import membership_list, membership_list_for_user
from k12cloud.api import OrganizationViewSet


class SignedInUser(IsAuthenticated):
    message = (
        "Sign in first. An API key acts only on its own organization's endpoints "
        "(/api/v1/orgs/<org_slug>/...)."
    )


class MyOrganizationsView(ListAPIView):
    """The organizations the signed-in user belongs to, with their role in each.

    For signed-in users only: an API key belongs to one organization and acts only on its
    endpoints, so the schema does not offer the key here and a key is answered 403."""

    serializer_class = MyMembershipSerializer
    pagination_class = None
    permission_classes = [SignedInUser]

    @extend_schema(auth=[{"cookieAuth": []}])  # type: ignore[list-item]  # stubs say str
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Membership]:
        user_id: int = self.request.user.pk  # type: ignore[assignment]  # IsAuthenticated ran
        return membership_list_for_user(user_id=user_id)


class OrganizationDetailViewSet(OrganizationViewSet):
    """The organization and who is calling: what an integrator checks a new key with.

    No query of its own: the organization and the key (or membership) were read to authorize
    the request."""

    action_permissions = {"retrieve": Permission.ORGANIZATION_VIEW}
    serializer_class = OrganizationWithCallerSerializer

    @extend_schema(
        operation_id="organization_retrieve",
        summary="The organization, and how the caller is authenticated (check a key with it)",
        description=(
            "Any role may call it. `caller` says whether the request was authenticated by an "
            "API key (with its prefix, name and expiry) or a signed-in member's session, and "
            "the role it acts with: what an integrator checks a new key with. Another "
            "organization's URL answers 404."
        ),
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.auth if isinstance(request.auth, ApiKey) else None
        caller = {
            "authenticated_by": "api_key" if key is not None else "session",
            "role": self.role,
            "key_prefix": key.prefix if key is not None else None,
            "key_name": key.name if key is not None else None,
            "key_expires_at": key.expires_at if key is not None else None,
        }
        serializer = self.get_serializer(self.organization, context={"caller": caller})
        return Response(serializer.data)


class MembershipPagination(CursorPagination):
    ordering = "pk"


class MembershipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationViewSet):
    action_permissions = {
        "list": Permission.MEMBERS_VIEW,
        "retrieve": Permission.MEMBERS_VIEW,
    }
    serializer_class = MembershipSerializer
    pagination_class = MembershipPagination
    lookup_url_kwarg = "membership_id"
    # for the schema generator only: the real queryset comes from the selector, in context
    queryset = Membership._base_manager.none()

    def get_queryset(self) -> QuerySet[Membership]:
        return membership_list(organization=self.organization)
