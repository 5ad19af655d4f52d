"""Reads about second factors and who must have one."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa.models import RecoveryCodeDevice
from accounts.models import Membership, Organization, User
from accounts.permissions import PRIVILEGED_ROLES, Role


def has_second_factor(user_ref: str = "pk") -> Exists:
    """`Exists(...)`: the user named by `user_ref` has a confirmed authenticator app (TOTP).

    For annotating querysets, e.g. members:
    `membership_list(...).annotate(has_mfa=has_second_factor("user_id"))`. Recovery codes are
    a backup for the authenticator, not a second factor of their own, so they do not count.
    """
    return Exists(TOTPDevice.objects.filter(user_id=OuterRef(user_ref), confirmed=True))


def totp_device_for_user(*, user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator app, if they have one."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


def user_has_second_factor(*, user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


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
