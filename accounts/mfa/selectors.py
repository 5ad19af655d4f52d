"""Reads about second factors and who must have one."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa.models import RecoveryCodeDevice, WebAuthnCredential
from accounts.models import Membership, Organization, User
from accounts.permissions import PHISHING_RESISTANT_ROLES, PRIVILEGED_ROLES, Role


def has_second_factor(user_ref: str = "pk") -> ExpressionWrapper:
    """A condition: the user named by `user_ref` has a second factor (a confirmed
    authenticator app, or a passkey).

    For annotating querysets, e.g. members:
    `membership_list(...).annotate(has_mfa=has_second_factor("user_id"))`, or for `.filter()`.
    Recovery codes are a backup, not a second factor of their own: they do not count.
    """
    condition = Q(
        Exists(TOTPDevice.objects.filter(user_id=OuterRef(user_ref), confirmed=True))
    ) | Q(Exists(WebAuthnCredential.objects.filter(user_id=OuterRef(user_ref), confirmed=True)))
    return ExpressionWrapper(condition, output_field=BooleanField())


def totp_device_for_user(*, user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator app, if they have one."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


def user_has_second_factor(*, user: User) -> bool:
    """One query: an authenticator app or a passkey."""
    return User.objects.filter(pk=user.pk).filter(has_second_factor()).exists()


def passkey_list(*, user: User) -> list[WebAuthnCredential]:
    """The user's passkeys, oldest first."""
    return list(WebAuthnCredential.objects.filter(user=user).order_by("created_at", "pk"))


def user_has_passkey(*, user: User) -> bool:
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_remaining(*, user: User) -> int:
    device = RecoveryCodeDevice.objects.filter(user=user).first()
    return device.codes.count() if device is not None else 0


def role_requires_mfa(policy: str, role: str) -> bool:
    if policy == Organization.MfaPolicy.EVERYONE:
        return True
    if policy == Organization.MfaPolicy.PRIVILEGED:
        return Role(role) in PRIVILEGED_ROLES
    return False


def mfa_required(*, user: User, memberships: Iterable[Membership]) -> bool:
    """Whether `user` must have a second factor.

    Ops staff always do (the Django admin). Otherwise, any active membership whose
    organization's policy covers the member's role makes it required everywhere: one session
    reaches every organization the user belongs to. `memberships` must be the user's active
    memberships with their organizations loaded (k12cloud.portal.memberships_of), so this
    costs no query.
    """
    if user.is_staff:
        return True
    return any(role_requires_mfa(m.organization.mfa_policy, m.role) for m in memberships)


def passkey_required(*, memberships: Iterable[Membership]) -> bool:
    """Whether the user must sign in with a passkey (a phishing-resistant factor): an active
    membership as organization admin or privacy officer in an organization that requires it.
    No query (memberships as for `mfa_required`)."""
    return any(
        m.organization.mfa_require_passkey_for_admins and Role(m.role) in PHISHING_RESISTANT_ROLES
        for m in memberships
    )


def passkey_sign_in_allowed(*, user: User, memberships: Iterable[Membership]) -> bool:
    """Whether the user may sign in with a passkey alone (no password).

    Only when every organization they are an active member of allows it (one session reaches
    them all) and they have at least one; never for ops staff, whose session reaches the
    Django admin.
    """
    memberships = list(memberships)
    if user.is_staff or not user.is_active or not memberships:
        return False
    return all(m.organization.passkey_sign_in_allowed for m in memberships)
