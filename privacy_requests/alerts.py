"""Alerts to members about requests: the bell and, by each member's preference, an email.

Each function is called by the service that makes the change, inside its transaction (so a
rolled-back change tells nobody), and goes through `k12cloud.notifications.services.notify`
with a dedupe key naming the request and the change, so a retried call tells nobody twice.
A new request's alert, on every intake's path, goes through `notify_after_commit` instead:
the recipients are chosen in the transaction, which writes one row; a worker writes the
notices and emails after commit (the relay, if that enqueue is lost).

Who hears what (docs/notifications.md has the table):

- a new request (web form: once the requester confirms the email; staff entry and API: at
  once), and a request routed here from the platform: the privacy officers and staff;
- the requester replies (portal, or staff enter a reply they received): the assignee, or the
  privacy officers and staff when nobody is assigned;
- an assignment: the new assignee (not when they took the request themselves);
- a deadline passes (privacy_requests.tracking): the assignee, the privacy officers and the
  organization admins, urgent (emailed even to digest readers), once a day.

Organization admins hear of new, routed and unassigned replies only when the organization has
no privacy officer or staff, so that an alert always reaches someone. The member who made the
change is never told about it. Titles name the reference and the request type, never the
requester (test_subjects scans the email subjects, which are the titles).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from accounts.permissions import Role
from k12cloud.notifications.deferred import notify_after_commit
from k12cloud.notifications.services import notify
from k12cloud.tenancy import require_acting_for
from privacy_requests.labels import request_type_label

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from accounts.models import Organization
    from privacy_requests.models import PrivacyRequest, RequestEvent, RequestMessage

ALERT_EMAIL_TEMPLATE = "notifications/email/notice"
# who works requests day to day; admins are told only when there is nobody in these roles
PRIVACY_TEAM_ROLES = (Role.PRIVACY_OFFICER, Role.PRIVACY_STAFF)


def request_page_path(request: PrivacyRequest) -> str:
    return reverse(
        "accounts:request_detail",
        kwargs={"org_slug": request.organization.slug, "request_id": request.pk},
    )


def _absolute(path: str) -> str:
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}{path}"


def _type_label(request: PrivacyRequest) -> str:
    # the label table itself: get_request_type_display() rebuilds a dict of every choice,
    # hashing each lazy label (translating it), on every call
    return request_type_label(request.request_type)


def privacy_team(*, organization: Organization) -> list[User]:
    """Active privacy officers and staff (or, when there are none, the active admins); one
    query."""
    rows = list(_team_memberships(organization).select_related("user"))
    team = [m.user for m in rows if m.role in PRIVACY_TEAM_ROLES]
    return team or [m.user for m in rows if m.role == Role.ORG_ADMIN]


def privacy_team_ids(*, organization: Organization) -> list[int]:
    """The user ids of `privacy_team()`, in the same order, for the deferred alert on every
    intake: one query of two columns, written in SQL because building and compiling the
    ORM's version cost about five times what running it does (0.9 ms of CPU against 0.17
    in one process), and run by a function whose plan PostgreSQL keeps (`_team_sql`). It
    selects what `_team_memberships` selects (a test compares them);
    `require_acting_for` checks the context as the tenant manager would, and row-level
    security applies."""
    require_acting_for(organization.pk)
    with connection.cursor() as cursor:
        cursor.execute(_team_sql(), [organization.pk, [str(role) for role in _TEAM_AND_ADMINS]])
        rows = cursor.fetchall()
    team = [user_id for user_id, role in rows if role in PRIVACY_TEAM_ROLES]
    return team or [user_id for user_id, role in rows if role == Role.ORG_ADMIN]


_TEAM_AND_ADMINS = (*PRIVACY_TEAM_ROLES, Role.ORG_ADMIN)


@cache
def _team_sql() -> str:
    # privacy_team_members (migration privacy_requests 0011): the join of memberships and
    # users in PL/pgSQL, whose plan PostgreSQL caches per connection (planning it was 12
    # times running it)
    return "SELECT * FROM privacy_team_members(%s, %s::text[]) ORDER BY member_user_id"


def _team_memberships(organization: Organization) -> QuerySet[Membership]:
    """Active memberships of active users with a privacy-team or admin role, by user id."""
    return (
        Membership.objects.for_organization(organization)
        .filter(
            is_active=True,
            user__is_active=True,
            role__in=_TEAM_AND_ADMINS,
        )
        .order_by("user_id")
    )


def _active_worker(*, organization: Organization, user_id: int | None) -> User | None:
    """The member if they are active and may still work requests (one query), else None."""
    if user_id is None:
        return None
    membership = (
        Membership.objects.for_organization(organization)
        .filter(
            user_id=user_id,
            is_active=True,
            user__is_active=True,
            role__in=[*PRIVACY_TEAM_ROLES, Role.ORG_ADMIN],
        )
        .select_related("user")
        .first()
    )
    return membership.user if membership else None


def _tell(
    request: PrivacyRequest,
    recipients: Iterable[User],
    *,
    kind: str,
    title: str,
    dedupe_key: str,
    exclude: User | None = None,
    urgent: bool = False,
) -> int:
    """Notify `recipients` but `exclude`; returns how many notices were written."""
    people = [user for user in recipients if exclude is None or user.pk != exclude.pk]
    if not people:
        return 0
    created = notify(
        organization=request.organization,
        recipients=people,
        kind=kind,
        title=title,
        dedupe_key=dedupe_key,
        urgent=urgent,
        **_about(request),
    )
    return len(created)


def _about(request: PrivacyRequest) -> dict[str, Any]:
    """What every alert about `request` links to and emails: the request's page."""
    path = request_page_path(request)
    return {
        "url": path,
        "target": request,
        "email_template": ALERT_EMAIL_TEMPLATE,
        "email_context": {"link": _absolute(path)},
    }


def _staff_language() -> translation.override:
    """Members read alerts in the portal's language, not the requester's (a Spanish web form
    must not make the staff's alert Spanish)."""
    return translation.override(settings.LANGUAGE_CODE)


def alert_request_new(*, request: PrivacyRequest, actor: User | None = None) -> int:
    """A new request needs someone: tell the privacy team (not the member who entered it).

    The team is chosen now (their ids); the notices and emails are written after commit
    (`notify_after_commit`: one row here), which keeps them out of every intake's
    transaction. Returns how many members will be told."""
    team = [
        user_id
        for user_id in privacy_team_ids(organization=request.organization)
        if actor is None or user_id != actor.pk
    ]
    if not team:
        return 0
    with _staff_language():
        title = _("New privacy request %(reference)s (%(type)s)") % {
            "reference": request.reference,
            "type": _type_label(request),
        }
        notify_after_commit(
            organization=request.organization,
            recipient_ids=team,
            kind="request_new",
            title=title,
            dedupe_key=f"request-new:{request.pk}",
            **_about(request),
        )
    return len(team)


def alert_request_routed_in(
    *, request: PrivacyRequest, from_organization: Organization, actor: User | None = None
) -> int:
    """A request routed here from the platform organization: tell this organization's privacy
    team (call inside this organization's tenant context)."""
    with _staff_language():
        title = _("Privacy request %(reference)s (%(type)s) was routed to you by %(from)s") % {
            "reference": request.reference,
            "type": _type_label(request),
            "from": from_organization.name,
        }
        return _tell(
            request,
            privacy_team(organization=request.organization),
            kind="request_routed_in",
            title=title,
            dedupe_key=f"request-routed-in:{request.pk}",
            exclude=actor,
        )


def alert_requester_replied(
    *, request: PrivacyRequest, message: RequestMessage, actor: User | None = None
) -> int:
    """The requester wrote: tell the assignee, or the privacy team when nobody (still able to
    work it) is assigned. `actor`: the member who entered a reply received by phone or mail."""
    assignee = _active_worker(organization=request.organization, user_id=request.assignee_id)
    recipients = [assignee] if assignee else privacy_team(organization=request.organization)
    with _staff_language():
        title = _("The requester replied on %(reference)s (%(type)s)") % {
            "reference": request.reference,
            "type": _type_label(request),
        }
        return _tell(
            request,
            recipients,
            kind="request_reply",
            title=title,
            dedupe_key=f"request-reply:{message.pk}",
            exclude=actor,
        )


def alert_request_assigned(
    *, request: PrivacyRequest, assignee: User, event: RequestEvent, actor: User | None = None
) -> int:
    """Tell the new assignee, unless they took the request themselves."""
    with _staff_language():
        title = _("%(reference)s (%(type)s) was assigned to you") % {
            "reference": request.reference,
            "type": _type_label(request),
        }
        return _tell(
            request,
            [assignee],
            kind="request_assigned",
            title=title,
            dedupe_key=f"request-assigned:{event.pk}",
            exclude=actor,
        )
