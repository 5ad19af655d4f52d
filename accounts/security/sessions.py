"""Session tracking and the idle and absolute session timeouts.

The timestamps live in the session itself, so an ordinary request costs no query:

    k12_auth_at    when the user signed in (epoch seconds)
    k12_seen_at    last activity, refreshed at most once a minute (TOUCH_EVERY)
    k12_policy     [idle minutes, absolute hours]: the strictest of the user's organizations'
                   settings (defaults without a membership), recomputed with k12_seen_at
    k12_privileges a fingerprint of the user's roles; when it changes the key is cycled
    k12_tracked    the session key the UserSession row was written for

Cost per request: none within a minute of the last refresh. A refresh (at most once a minute)
reads the memberships (`memberships_of`, shared with the organization pages), updates the
UserSession row and saves the session.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import ngettext

from accounts.models import Membership, Organization, User
from accounts.security.models import UserSession
from audit.actions import Action
from audit.services import record
from k12cloud.client_ip import client_ip
from k12cloud.portal import memberships_of

AUTH_AT = "k12_auth_at"
SEEN_AT = "k12_seen_at"
POLICY = "k12_policy"
PRIVILEGES = "k12_privileges"
TRACKED = "k12_tracked"
TOUCH_EVERY = 60  # seconds

_idle_field = Organization._meta.get_field("session_idle_timeout_minutes")
_absolute_field = Organization._meta.get_field("session_absolute_timeout_hours")
DEFAULT_IDLE_MINUTES: int = _idle_field.default
DEFAULT_ABSOLUTE_HOURS: int = _absolute_field.default


@dataclass(frozen=True)
class SessionPolicy:
    idle_minutes: int
    absolute_hours: int

    @classmethod
    def strictest(cls, memberships: list[Membership]) -> SessionPolicy:
        organizations = [m.organization for m in memberships]
        if not organizations:
            return cls(DEFAULT_IDLE_MINUTES, DEFAULT_ABSOLUTE_HOURS)
        return cls(
            min(o.session_idle_timeout_minutes for o in organizations),
            min(o.session_absolute_timeout_hours for o in organizations),
        )


def privileges_fingerprint(user: User, memberships: list[Membership]) -> str:
    roles = sorted(f"{m.organization_id}:{m.role}" for m in memberships)
    flags = f"staff={user.is_staff}:super={user.is_superuser}"
    return hashlib.sha256("|".join([flags, *roles]).encode()).hexdigest()[:16]


def _user_agent(request: HttpRequest) -> str:
    return request.headers.get("User-Agent", "")[:400]


def session_started(request: HttpRequest, user: User, memberships: list[Membership]) -> None:
    """At sign-in (user_logged_in): stamp the session and track it; prune gone sessions."""
    now = int(time.time())
    session = request.session
    session[AUTH_AT] = now
    session[SEEN_AT] = now
    policy = SessionPolicy.strictest(memberships)
    session[POLICY] = [policy.idle_minutes, policy.absolute_hours]
    session[PRIVILEGES] = privileges_fingerprint(user, memberships)
    UserSession.objects.filter(user=user).exclude(
        session_key__in=Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    ).delete()
    _track(request, user)


def _track(request: HttpRequest, user: User) -> None:
    """Write the UserSession row for the current session key (re-keyed after a key cycle)."""
    session = request.session
    key = session.session_key
    if key is None:
        return
    tracked = session.get(TRACKED)
    now = timezone.now()
    # usually one UPDATE: the row exists under this key, or under the key before a cycle
    if tracked and UserSession.objects.filter(session_key=tracked, user=user).update(
        session_key=key, last_seen_at=now
    ):
        session[TRACKED] = key
        return
    auth_at = session.get(AUTH_AT)
    UserSession.objects.filter(session_key=key).delete()  # another user's stale row, if any
    UserSession.objects.create(
        user=user,
        session_key=key,
        created_at=datetime.fromtimestamp(auth_at, UTC) if auth_at else now,
        last_seen_at=now,
        ip_address=client_ip(request),
        user_agent=_user_agent(request),
    )
    session[TRACKED] = key


def session_forget(session_key: str | None) -> None:
    """At sign-out: the row goes with the session."""
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


def active_sessions(user: User, policy: SessionPolicy) -> QuerySet[UserSession]:
    """The user's sessions that still exist and have timed out under neither limit."""
    now = timezone.now()
    return UserSession.objects.filter(
        user=user,
        session_key__in=Session.objects.filter(expire_date__gt=now).values("session_key"),
        created_at__gt=now - timedelta(hours=policy.absolute_hours),
        # last_seen_at is up to TOUCH_EVERY stale
        last_seen_at__gt=now - timedelta(minutes=policy.idle_minutes, seconds=TOUCH_EVERY),
    ).order_by("-last_seen_at")


def current_policy(request: HttpRequest) -> SessionPolicy:
    stored = request.session.get(POLICY)
    if stored:
        return SessionPolicy(*stored)
    return SessionPolicy.strictest(memberships_of(request))


class SessionPolicyMiddleware:
    """Ends a session idle or older than the strictest organization policy allows.

    Runs inside TenancyMiddleware (the user's context and transaction), so the membership read
    is the one the organization pages reuse. An ended session is flushed, audited
    (SESSION_EXPIRED) and sent to sign in with a message; the API gets a 401.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            ended = self._enforce(request, user)
            if ended is not None:
                return ended
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            self._after(request, user)
        return response

    def _enforce(self, request: HttpRequest, user: User) -> HttpResponse | None:
        session = request.session
        now = int(time.time())
        auth_at = session.get(AUTH_AT)
        seen_at = session.get(SEEN_AT)
        if auth_at is None or seen_at is None:
            # signed in before sessions were stamped: start counting now
            auth_at = seen_at = now
            session[AUTH_AT] = auth_at
        stale = now - seen_at >= TOUCH_EVERY or POLICY not in session
        if stale:
            memberships = memberships_of(request)
            policy = SessionPolicy.strictest(memberships)
        else:
            policy = SessionPolicy(*session[POLICY])
        if now - seen_at > policy.idle_minutes * 60:
            return self._end(request, user, "idle", policy)
        if now - auth_at > policy.absolute_hours * 3600:
            return self._end(request, user, "absolute", policy)
        if stale:
            session[SEEN_AT] = now
            session[POLICY] = [policy.idle_minutes, policy.absolute_hours]
            self._rotate_on_privilege_change(request, user, memberships)
            _track(request, user)
        return None

    def _after(self, request: HttpRequest, user: User) -> None:
        if transaction.get_connection().needs_rollback:
            return  # the view failed and the transaction will roll back: next request's refresh
        session = request.session
        # the view may have cycled the key (sign-in, second factor): follow it
        if session.session_key is not None and session.get(TRACKED) != session.session_key:
            _track(request, user)
        # the organization pages loaded the memberships anyway: a role change shows at once
        loaded: list[Membership] | None = getattr(request, "_k12cloud_memberships", None)
        if loaded is not None and PRIVILEGES in session:
            self._rotate_on_privilege_change(request, user, loaded)

    @staticmethod
    def _rotate_on_privilege_change(
        request: HttpRequest, user: User, memberships: list[Membership]
    ) -> None:
        fingerprint = privileges_fingerprint(user, memberships)
        session = request.session
        if session.get(PRIVILEGES) == fingerprint:
            return
        if PRIVILEGES in session:
            session.cycle_key()
            _track(request, user)
        session[PRIVILEGES] = fingerprint

    @staticmethod
    def _end(request: HttpRequest, user: User, reason: str, policy: SessionPolicy) -> HttpResponse:
        record(
            Action.SESSION_EXPIRED,
            organization=None,
            target=user,
            changes={
                "reason": reason,
                "idle_minutes": policy.idle_minutes,
                "absolute_hours": policy.absolute_hours,
            },
        )
        session_forget(request.session.session_key)
        request.session.flush()
        request.user = AnonymousUser()
        if reason == "idle":
            message = ngettext(
                "You were signed out after %(count)d minute without activity. "
                "Please sign in again.",
                "You were signed out after %(count)d minutes without activity. "
                "Please sign in again.",
                policy.idle_minutes,
            ) % {"count": policy.idle_minutes}
        else:
            message = ngettext(
                "Your session reached its limit of %(count)d hour. Please sign in again.",
                "Your session reached its limit of %(count)d hours. Please sign in again.",
                policy.absolute_hours,
            ) % {"count": policy.absolute_hours}
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": message, "code": "session_expired"}, status=401)
        messages.info(request, message)
        next_url = request.get_full_path() if request.method == "GET" else "/"
        return redirect_to_login(next_url)
