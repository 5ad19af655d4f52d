"""Audit events for sign-in, sign-out, lockout and passwords: one event per occurrence.

Connected in AccountsConfig.ready(). Django's own signals cover every way in (allauth, the
ops admin, single sign-on); allauth's cover password changes and resets; axes's covers locks.
Failed sign-ins record no email: only whether an account with that address exists.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from allauth.account import signals as allauth_signals
from axes.signals import user_locked_out
from django.contrib.auth import signals as auth_signals
from django.http import HttpRequest

from accounts.models import Membership, User
from accounts.security import services
from accounts.security.lockout import normalize_username, username_from_credentials
from accounts.security.sessions import session_forget, session_started
from accounts.selectors import membership_list_for_user
from audit.actions import Action
from audit.context import actor_for_user
from audit.services import record
from k12cloud import tenancy
from k12cloud.tenancy import user_context


def _user_with_email(email: str | None) -> User | None:
    if not email:
        return None
    return User.objects.filter(email=email).first()


def _memberships(user: User) -> list[Membership]:
    # the sign-in request began anonymous: its context carries no user yet
    signed_in_now = tenancy.current().user_id != user.pk
    with user_context(user.pk) if signed_in_now else nullcontext():
        return list(membership_list_for_user(user_id=user.pk))


def signed_in(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    session_started(request, user, _memberships(user))
    record(Action.SIGNED_IN, organization=None, target=user, actor=actor_for_user(user.pk))


def _refused_while_locked(request: HttpRequest | None) -> bool:
    """Axes refused an already-locked address (not: this failure reached the limit).

    Only a failure axes counted carries `axes_failures_since_start`, whichever receiver runs
    first.
    """
    return (
        request is not None
        and getattr(request, "axes_locked_out", False)
        and getattr(request, "axes_failures_since_start", None) is None
    )


def sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    user = _user_with_email(username_from_credentials(request, credentials))
    changes: dict[str, object] = {"account_exists": user is not None}
    if _refused_while_locked(request):
        changes["while_locked_out"] = True  # refused by axes before the password was checked
    record(Action.SIGN_IN_FAILED, organization=None, target=user, changes=changes)


def locked_out(sender: Any, request: HttpRequest, username: str | None, **kwargs: Any) -> None:
    # axes also sends this for each attempt during a lockout; only the locking failure has a count
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None:
        return
    user = _user_with_email(normalize_username(username))
    record(
        Action.LOCKED_OUT,
        organization=None,
        target=user,
        changes={"account_exists": user is not None, "failures": failures},
    )


def signed_out(sender: Any, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    if user is None:
        return
    session_forget(request.session.session_key)
    record(Action.SIGNED_OUT, organization=None, target=user, actor=actor_for_user(user.pk))


def password_changed(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    ended = services.sessions_end_others_after_password_change(user=user, request=request)
    record(
        Action.PASSWORD_CHANGED,
        organization=None,
        target=user,
        changes={"other_sessions_ended": ended},
    )


def password_reset(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    ended, cleared = services.credentials_reset_cleanup(user=user)
    record(
        Action.PASSWORD_RESET,
        organization=None,
        target=user,
        changes={"sessions_ended": ended, "lockout_cleared": cleared},
        actor=actor_for_user(user.pk),
    )


def connect() -> None:
    uid = "accounts.security"
    auth_signals.user_logged_in.connect(signed_in, dispatch_uid=f"{uid}.signed_in")
    auth_signals.user_login_failed.connect(sign_in_failed, dispatch_uid=f"{uid}.failed")
    auth_signals.user_logged_out.connect(signed_out, dispatch_uid=f"{uid}.signed_out")
    user_locked_out.connect(locked_out, dispatch_uid=f"{uid}.locked_out")
    allauth_signals.password_changed.connect(password_changed, dispatch_uid=f"{uid}.pw_changed")
    allauth_signals.password_reset.connect(password_reset, dispatch_uid=f"{uid}.pw_reset")
