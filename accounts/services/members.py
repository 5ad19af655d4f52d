"""Members and invitations: invite, revoke, accept, change role, deactivate, reactivate.

Every service runs in one transaction (callers are inside `tenant_context(organization)`,
which opens one), writes exactly one audit event in it, and sends email only after commit.

The last-admin rule: an organization always keeps at least one active organization admin.
Demoting or deactivating an admin first locks every active admin membership of the
organization (`select_for_update`, in pk order) and only then counts them, so two admins
demoting each other at the same moment cannot both succeed.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Invitation, Membership, Organization, User
from accounts.permissions import Role
from audit.actions import Action
from audit.context import ActorKind, current_actor
from audit.services import record
from k12cloud.notifications.services import email_enqueue


class MemberError(Exception):
    """A refused member or invitation action; `message` is shown to the user as is.

    `field` names the form field the message belongs to, when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class LastAdminError(MemberError):
    """The change would leave the organization without an active organization admin."""


class InvitationUnusable(MemberError):
    """The invitation was accepted, revoked or has expired (`reason` says which)."""

    def __init__(self, reason: str) -> None:
        super().__init__(_("This invitation link can no longer be used."))
        self.reason = reason


def normalize_email(email: str) -> str:
    return User.objects.normalize_email(email.strip()).lower()


def _lock_active_admins(organization: Organization) -> list[Membership]:
    """Lock the organization's active admin memberships (fixed order) and return them."""
    return list(
        Membership.objects.for_organization(organization)
        .filter(role=Role.ORG_ADMIN, is_active=True)
        .order_by("pk")
        .select_for_update()
    )


def _lock_membership(organization: Organization, membership_id: int) -> Membership:
    return (
        Membership.objects.for_organization(organization)
        .select_for_update()
        .select_related("user")
        .get(pk=membership_id)
    )


def _refuse_if_last_admin(admins: list[Membership], membership: Membership) -> None:
    if (
        membership.role == Role.ORG_ADMIN
        and membership.is_active
        and [m.pk for m in admins] == [membership.pk]
    ):
        raise LastAdminError(
            _("This is the organization's last active admin. Make another member an admin first."),
            field="role",
        )


# --- Invitations ------------------------------------------------------------------------------


@transaction.atomic
def invitation_create(
    *,
    organization: Organization,
    actor: User,
    email: str,
    role: Role,
    accept_url_for: Callable[[str], str],
) -> Invitation:
    """Invite `email` to join with `role`; email them a link that works once, for 7 days.

    Refuses an address that already belongs to a member (active or deactivated: a
    deactivated member is reactivated by an admin, not invited again). An open invitation for
    the same address is revoked and replaced. `accept_url_for(token)` builds the absolute
    link; the token itself is never stored.
    """
    email = normalize_email(email)
    role = Role(role)
    existing = (
        Membership.objects.for_organization(organization).filter(user__email__iexact=email).first()
    )
    if existing is not None:
        if existing.is_active:
            raise MemberError(_("This person is already a member."), field="email")
        raise MemberError(
            _(
                "This person's membership is deactivated. Reactivate it from their member page "
                "instead of inviting them again."
            ),
            field="email",
        )
    now = timezone.now()
    replaced = list(
        Invitation.objects.for_organization(organization)
        .filter(email=email, accepted_at__isnull=True, revoked_at__isnull=True)
        .order_by("pk")
        .select_for_update()
    )
    for old in replaced:
        old.revoked_at = now
        old.save(update_fields=["revoked_at"])
    token = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                organization=organization,
                email=email,
                role=role,
                token_hash=Invitation.hash_token(token),
                invited_by=actor,
                created_at=now,
                expires_at=now + Invitation.VALID_FOR,
            )
    except IntegrityError:
        # another admin invited the same address in the same instant
        raise MemberError(
            _("An invitation to this address was just sent. Reload the page."), field="email"
        ) from None
    record(
        Action.MEMBER_INVITED,
        organization=organization,
        target=invitation,
        changes={"role": role.value, "replaced_invitation_ids": [old.pk for old in replaced]},
    )
    link = accept_url_for(token)
    # into the outbox, in this transaction: sent after commit (k12cloud.notifications)
    _send_invitation_email(invitation, actor, link)
    return invitation


def _send_invitation_email(invitation: Invitation, inviter: User, link: str) -> None:
    organization = invitation.organization
    context = {
        "organization_name": organization.name,
        "role": Role(invitation.role).label,
        "inviter": inviter.full_name or inviter.email,
        "link": link,
        "expires_at": invitation.expires_at,
        "time_zone": organization.time_zone,
    }
    # the subject names only the organization: no one's personal data
    subject = _("Your invitation to %(organization)s on k12cloud") % {
        "organization": organization.name
    }
    email_enqueue(
        organization=organization,
        to=invitation.email,
        template="accounts/email/invitation",
        subject=subject,
        context=context,
        target=invitation,
    )


@transaction.atomic
def invitation_revoke(*, organization: Organization, actor: User, invitation_id: int) -> Invitation:
    """Revoke an open invitation: its link stops working."""
    invitation = (
        Invitation.objects.for_organization(organization).select_for_update().get(pk=invitation_id)
    )
    if not invitation.is_open:
        raise MemberError(_("This invitation was already accepted or revoked."))
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    record(Action.INVITATION_REVOKED, organization=organization, target=invitation)
    return invitation


@dataclass(frozen=True)
class NewAccount:
    """What a visitor without an account gives when accepting (validated by the form)."""

    full_name: str
    password: str


@transaction.atomic
def invitation_accept(
    *,
    organization: Organization,
    invitation_id: int,
    user: User | None,
    new_account: NewAccount | None = None,
) -> Membership:
    """Accept an invitation: make `user` (or a new account) a member with the invited role.

    `user` is the signed-in user, whose email must be the invited address; None with
    `new_account` creates the account, with the invited address verified (the link proves it).
    The invitation row is locked first, so of two simultaneous acceptances one wins and the
    other gets InvitationUnusable. A deactivated membership is not reactivated by an
    invitation: that is an admin's decision (membership_reactivate).
    """
    invitation = (
        Invitation.objects.for_organization(organization).select_for_update().get(pk=invitation_id)
    )
    now = timezone.now()
    if invitation.accepted_at is not None:
        raise InvitationUnusable("accepted")
    if invitation.revoked_at is not None:
        raise InvitationUnusable("revoked")
    if now >= invitation.expires_at:
        raise InvitationUnusable("expired")

    created_account = user is None
    if user is None:
        if new_account is None:
            raise ValueError("Accepting without a signed-in user needs new_account.")
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise MemberError(_("An account with this address exists: sign in to accept."))
        user = User.objects.create_user(
            invitation.email, new_account.password, full_name=new_account.full_name.strip()
        )
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    elif normalize_email(user.email) != invitation.email:
        raise MemberError(_("This invitation is for a different account."))
    else:
        existing = Membership.objects.for_organization(organization).filter(user=user).first()
        if existing is not None and existing.is_active:
            raise MemberError(_("You are already a member of this organization."))
        if existing is not None:
            raise MemberError(
                _(
                    "Your membership of this organization was deactivated. Ask one of its "
                    "admins to reactivate it."
                )
            )

    membership = Membership.objects.create(
        organization=organization, user=user, role=invitation.role
    )
    invitation.accepted_at = now
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    # the accepting person is the actor, also when the request began anonymous
    actor = dataclasses.replace(current_actor(), kind=ActorKind.USER, user_id=user.pk)
    record(
        Action.INVITATION_ACCEPTED,
        organization=organization,
        target=membership,
        changes={
            "invitation_id": invitation.pk,
            "role": invitation.role,
            "new_account": created_account,
        },
        actor=actor,
    )
    return membership


# --- Members ----------------------------------------------------------------------------------


@transaction.atomic
def membership_change_role(
    *, organization: Organization, actor: User, membership_id: int, role: Role
) -> Membership:
    """Give a member another role; the last active admin cannot be demoted."""
    role = Role(role)
    admins = _lock_active_admins(organization)
    membership = _lock_membership(organization, membership_id)
    if role != Role.ORG_ADMIN:
        _refuse_if_last_admin(admins, membership)
    previous = membership.role
    if previous == role:
        raise MemberError(_("The member already has this role."), field="role")
    membership.role = role
    membership.save(update_fields=["role"])
    record(
        Action.MEMBER_ROLE_CHANGED,
        organization=organization,
        target=membership,
        changes={"role": {"from": previous, "to": role.value}},
    )
    return membership


@transaction.atomic
def membership_deactivate(
    *, organization: Organization, actor: User, membership_id: int
) -> Membership:
    """Deactivate a member: from their next request they cannot open this organization.

    The membership check of every organization page and API call reads only active
    memberships (k12cloud.portal.memberships_of), so open sessions need no revoking; the
    user's access to other organizations is unaffected. The last active admin cannot be
    deactivated.
    """
    admins = _lock_active_admins(organization)
    membership = _lock_membership(organization, membership_id)
    if not membership.is_active:
        raise MemberError(_("This member is already deactivated."))
    _refuse_if_last_admin(admins, membership)
    membership.is_active = False
    membership.deactivated_at = timezone.now()
    membership.save(update_fields=["is_active", "deactivated_at"])
    record(
        Action.MEMBER_DEACTIVATED,
        organization=organization,
        target=membership,
        changes={"is_active": False, "role": membership.role},
    )
    return membership


@transaction.atomic
def membership_reactivate(
    *, organization: Organization, actor: User, membership_id: int
) -> Membership:
    """Reactivate a deactivated member, with the role they had."""
    membership = _lock_membership(organization, membership_id)
    if membership.is_active:
        raise MemberError(_("This member is already active."))
    membership.is_active = True
    membership.deactivated_at = None
    membership.save(update_fields=["is_active", "deactivated_at"])
    record(
        Action.MEMBER_REACTIVATED,
        organization=organization,
        target=membership,
        changes={"is_active": True, "role": membership.role},
    )
    return membership
