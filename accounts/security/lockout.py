"""Account lockout after repeated failed sign-ins, on top of django-axes.

Axes counts failures per email address (settings AXES_*): the backend refuses a locked address
before any password is checked, and AxesMiddleware answers with `lockout_response`. Axes checks
the count before the password and records the failure after it, so `SignInSerialization`, the
first authentication backend, makes the check and the count one step: concurrent sign-ins to
one address wait for each other (15 concurrent wrong guesses had all been checked). The lock
lifts by itself AXES_COOLOFF_TIME after the last counted failure; an organization admin can
lift it sooner for a member (`member_unlock` in accounts.security.services).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db import connection
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def normalize_username(value: object) -> str | None:
    """Sign-in emails are case-insensitive (accounts.User stores them lowercased)."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower()


def username_from_credentials(
    request: HttpRequest | None, credentials: dict[str, Any] | None
) -> str | None:
    """AXES_USERNAME_CALLABLE: allauth authenticates with `email`; its form field is `login`."""
    credentials = credentials or {}
    value = credentials.get("email") or credentials.get("username")
    if value is None and request is not None and request.method == "POST":
        value = request.POST.get("login")
    return normalize_username(value)


def lockout_parameters(request_or_attempt: object, credentials: object = None) -> list[str]:
    """AXES_LOCKOUT_PARAMETERS: lock the email address, not the source address.

    A whole school district can sign in from one NAT address, so locking addresses would lock
    out a district; allauth throttles failed sign-ins per address instead (ACCOUNT_RATE_LIMITS).
    (A callable rather than the list, whose system check, axes.W006, insists on the address.)
    """
    return ["username"]


_ADVISORY_LOCK_CLASS = 0x5349  # pg_advisory_xact_lock(class, hashtext(email)): sign-in checks


class SignInSerialization:
    """First in AUTHENTICATION_BACKENDS: one sign-in check at a time per email address.

    Takes a transaction-scoped advisory lock on the address and authenticates no one (returns
    None, so the next backends run). Every request is one transaction (TenancyMiddleware), so
    the lock is held from axes's lockout check, through the password check, to the failure axes
    records, until the request commits; the next sign-in to the address then sees that failure.
    Other addresses are not held up. (No `get_user`: it never holds a session, and Django's
    force_login picks the first backend that has one.)
    """

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        username = username_from_credentials(request, credentials)
        if username is not None and connection.in_atomic_block:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s::int, hashtext(%s))",
                    [_ADVISORY_LOCK_CLASS, username],
                )
        return None


def cool_off() -> timedelta:
    period = get_cool_off()
    if period is None:  # pragma: no cover - the settings always give a cool-off
        raise RuntimeError("AXES_COOLOFF_TIME must be set: locks must lift by themselves.")
    return period


@dataclass(frozen=True)
class LockStatus:
    failures: int
    locked: bool
    locked_until: datetime | None


def lock_status(email: str) -> LockStatus:
    """How many recent failures `email` has and whether (and until when) it is locked."""
    username = normalize_username(email)
    recent = AccessAttempt.objects.filter(
        username=username, attempt_time__gte=timezone.now() - cool_off()
    ).aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
    failures = recent["failures"] or 0
    locked = failures >= settings.AXES_FAILURE_LIMIT
    return LockStatus(
        failures=failures,
        locked=locked,
        locked_until=recent["last"] + cool_off() if locked else None,
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the page a locked-out sign-in gets (429, as axes answers)."""
    username = username_from_credentials(request, credentials)
    status = lock_status(username) if username else None
    period = cool_off()
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cool_off_minutes": int(period.total_seconds() // 60),
        "locked_until": status.locked_until if status else None,
    }
    return render(request, "accounts/security/locked_out.html", context, status=429)
