"""Reads shared by the portal and the API."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Membership, Organization


def membership_list_for_user(*, user_id: int) -> QuerySet[Membership]:
    """The user's active memberships in every organization, for the organization switcher."""
    return (
        Membership.objects.of_user(user_id)
        .filter(is_active=True)
        .select_related("organization")
        .order_by("organization__name")
    )


def membership_list(*, organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.for_organization(organization)
        .select_related("user")
        .order_by("user__email")
    )


def membership_get(*, organization: Organization, membership_id: int) -> Membership | None:
    return membership_list(organization=organization).filter(pk=membership_id).first()
