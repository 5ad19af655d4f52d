"""Reads shared by the portal and the API."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.mfa.selectors import has_second_factor
from accounts.models import Invitation, Membership, Organization
from k12cloud.tenancy import unscoped_all_tenants


def membership_list_for_user(*, user_id: int) -> QuerySet[Membership]:
    """The user's active memberships in every organization, for the organization switcher.

    Terminated organizations are left out: their members lose access (retention.termination).
    """
    return (
        Membership.objects.of_user(user_id)
        .filter(is_active=True, organization__status=Organization.Status.ACTIVE)
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


# --- Members and invitations ------------------------------------------------------------------


def member_list(*, organization: Organization) -> QuerySet[Membership]:
    """Members with `has_mfa` (a confirmed authenticator or a passkey), for the member pages:
    one query."""
    return membership_list(organization=organization).annotate(has_mfa=has_second_factor("user"))


def member_get(*, organization: Organization, membership_id: int) -> Membership | None:
    return member_list(organization=organization).filter(pk=membership_id).first()


def invitation_list_open(*, organization: Organization) -> QuerySet[Invitation]:
    """Invitations neither accepted nor revoked (expired ones included), newest first."""
    return (
        Invitation.objects.for_organization(organization)
        .filter(accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("invited_by")
        .order_by("-created_at", "-pk")
    )


def invitation_for_token(*, token: str) -> Invitation | None:
    """The invitation a public link's secret names, in whichever organization, or None.

    The one cross-tenant read of invitations: the visitor has no organization yet. It reads a
    single row by the hash of a 256-bit secret; anything done with it afterwards happens in
    `tenant_context(invitation.organization)`.
    """
    with unscoped_all_tenants(reason="look up a public invitation link by its token hash"):
        return (
            Invitation.objects.select_related("organization")
            .filter(token_hash=Invitation.hash_token(token))
            .first()
        )
