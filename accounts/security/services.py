"""Every write of sign-in protection, allowlists and session controls.

Each service runs in one transaction and writes its audit event in it.
"""

from __future__ import annotations

from collections.abc import Sequence

from axes.utils import reset as axes_reset
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest

from accounts.models import Membership, Organization, User
from accounts.security.lockout import normalize_username
from accounts.security.models import UserSession
from accounts.security.sessions import TRACKED
from audit.actions import Action
from audit.services import record


def _locked_organization(organization: Organization) -> Organization:
    return Organization.objects.select_for_update().get(pk=organization.pk)


@transaction.atomic
def organization_ip_allowlist_set(
    *,
    organization: Organization,
    actor: User,
    networks: Sequence[str],
    scope: str,
    confirmed_self_exclusion: bool = False,
) -> bool:
    """Replace the organization's allowlist (normalized CIDRs) and scope. False: no change.

    The audit event carries counts, not the networks: a single-host entry can be a person's
    home address, and audit `changes` never hold addresses.
    """
    current = _locked_organization(organization)
    before, after = list(current.ip_allowlist), list(networks)
    if before == after and current.ip_allowlist_scope == scope:
        return False
    changes: dict[str, object] = {
        "networks": len(after),
        "added": len(set(after) - set(before)),
        "removed": len(set(before) - set(after)),
    }
    if current.ip_allowlist_scope != scope:
        changes["scope"] = {"from": current.ip_allowlist_scope, "to": scope}
    if confirmed_self_exclusion:
        changes["confirmed_self_exclusion"] = True
    current.ip_allowlist, current.ip_allowlist_scope = after, scope
    current.save(update_fields=["ip_allowlist", "ip_allowlist_scope", "updated_at"])
    organization.ip_allowlist, organization.ip_allowlist_scope = after, scope
    record(
        Action.IP_ALLOWLIST_CHANGED, organization=organization, target=organization, changes=changes
    )
    return True


@transaction.atomic
def organization_session_policy_set(
    *, organization: Organization, actor: User, idle_minutes: int, absolute_hours: int
) -> bool:
    """Set the idle and absolute session timeouts. False: nothing changed.

    Signed-in members pick the new policy up within a minute (accounts.security.sessions).
    """
    current = _locked_organization(organization)
    changes: dict[str, object] = {}
    for field, value in (
        ("session_idle_timeout_minutes", idle_minutes),
        ("session_absolute_timeout_hours", absolute_hours),
    ):
        if getattr(current, field) != value:
            changes[field] = {"from": getattr(current, field), "to": value}
            setattr(current, field, value)
            setattr(organization, field, value)
    if not changes:
        return False
    current.save(update_fields=[*changes, "updated_at"])
    record(
        Action.SESSION_POLICY_CHANGED,
        organization=organization,
        target=organization,
        changes=changes,
    )
    return True


@transaction.atomic
def member_unlock(*, organization: Organization, actor: User, membership: Membership) -> int:
    """Lift a member's sign-in lockout (clears their failed attempts). Returns how many
    attempt records were cleared; 0 means there was nothing to unlock (and no event)."""
    cleared = axes_reset(username=normalize_username(membership.user.email))
    if cleared:
        record(
            Action.UNLOCKED,
            organization=organization,
            target=membership,
            changes={"attempt_records_cleared": cleared},
        )
    return cleared


def _end_sessions(user: User, keys: Sequence[str]) -> int:
    keys = list(keys)
    Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(user=user, session_key__in=keys).delete()
    return len(keys)


@transaction.atomic
def user_sessions_revoke(*, user: User, request: HttpRequest, include_current: bool) -> int:
    """Sign the user out of their other sessions, or of all of them (this one included).

    Returns how many sessions ended. Ending the current one flushes it; the caller redirects.
    """
    current = {request.session.session_key, request.session.get(TRACKED)} - {None}
    rows = UserSession.objects.filter(user=user).values_list("session_key", flat=True)
    others = [key for key in rows if key not in current]
    count = _end_sessions(user, others)
    if include_current:
        UserSession.objects.filter(user=user, session_key__in=current).delete()
        count += 1
    record(
        Action.SESSIONS_REVOKED,
        organization=None,
        target=user,
        changes={"sessions": count, "current_included": include_current},
    )
    if include_current:
        request.session.flush()
    return count


def sessions_end_others_after_password_change(*, user: User, request: HttpRequest) -> int:
    """Django already invalidates them (the password hash changed); delete them outright so
    that "your sessions" is accurate. Runs inside the password change's transaction."""
    current = {request.session.session_key, request.session.get(TRACKED)} - {None}
    rows = UserSession.objects.filter(user=user).values_list("session_key", flat=True)
    return _end_sessions(user, [key for key in rows if key not in current])


def credentials_reset_cleanup(*, user: User) -> tuple[int, bool]:
    """After a password reset by email: end every session and lift a lockout (the person
    proved control of the address). Returns (sessions ended, lockout cleared)."""
    rows = UserSession.objects.filter(user=user).values_list("session_key", flat=True)
    ended = _end_sessions(user, list(rows))
    cleared = axes_reset(username=normalize_username(user.email)) > 0
    return ended, cleared
