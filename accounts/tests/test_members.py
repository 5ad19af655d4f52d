"""Member management and the invite / revoke side of invitations (organization pages)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import Invitation, Membership, Organization, User
from accounts.permissions import Role
from accounts.services.members import (
    LastAdminError,
    MemberError,
    membership_change_role,
    membership_deactivate,
)
from accounts.tests.factories import OrganizationFactory, member, sign_in
from accounts.tests.test_views import MEMBER_LIST_QUERIES
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context

pytestmark = pytest.mark.django_db


def events(org: Organization, action: Action) -> list[AuditEvent]:
    with tenant_context(org):
        return list(AuditEvent.objects.filter(organization=org, action=action.value).order_by("pk"))


def membership(org: Organization, user: User) -> Membership:
    with tenant_context(org):
        return Membership.objects.select_related("user").get(user=user)


def url(name: str, org: Organization, **kwargs: object) -> str:
    return reverse(f"accounts:{name}", kwargs={"org_slug": org.slug, **kwargs})


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD", time_zone="America/Denver")


@pytest.fixture
def admin(org: Organization) -> User:
    return member(org, Role.ORG_ADMIN, email="admin@lincoln.example", full_name="Ada Admin")


@pytest.fixture
def admin_client(admin: User) -> Client:
    return sign_in(Client(), admin)


def invite(client: Client, org: Organization, email: str, role: str = "viewer") -> Any:
    return client.post(url("invitation_create", org), {"email": email, "role": role})


# --- inviting ---------------------------------------------------------------------------------


def test_admin_invites_by_email_and_the_link_carries_a_secret_the_database_does_not(
    org: Organization, admin_client: Client, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(admin_client, org, "  New.Person@Example.ORG ", "privacy_staff")
    assert response.status_code == 302
    assert response["Location"] == url("invitation_list", org)

    with tenant_context(org):
        invitation = Invitation.objects.get()
    assert invitation.email == "new.person@example.org"
    assert invitation.role == Role.PRIVACY_STAFF
    assert invitation.expires_at - invitation.created_at == Invitation.VALID_FOR

    assert len(mail.outbox) == 1
    message = cast(EmailMultiAlternatives, mail.outbox[0])
    assert message.to == ["new.person@example.org"]
    assert "new.person" not in message.subject.lower() and "Ada" not in message.subject
    assert "Lincoln USD" in message.subject
    token = re.search(r"/invitations/([A-Za-z0-9_-]+)/", message.body).group(1)  # type: ignore[union-attr]
    assert len(token) >= 43
    assert invitation.token_hash == Invitation.hash_token(token) != token
    html = str(message.alternatives[0][0])
    assert f"/invitations/{token}/" in html and "Privacy staff" in html

    (event,) = events(org, Action.MEMBER_INVITED)
    assert event.target_id == str(invitation.pk)
    assert event.changes == {"role": "privacy_staff", "replaced_invitation_ids": []}

    listing = admin_client.get(url("invitation_list", org)).content.decode()
    assert "new.person@example.org" in listing and "Privacy staff" in listing


def test_reinviting_revokes_the_open_invitation(
    org: Organization, admin_client: Client, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invite(admin_client, org, "pat@example.org", "viewer")
        invite(admin_client, org, "PAT@example.org", "billing_contact")
    with tenant_context(org):
        first, second = Invitation.objects.order_by("pk")
    assert first.revoked_at is not None and second.is_open
    assert second.role == Role.BILLING_CONTACT
    first_token = re.search(r"/invitations/([\w-]+)/", mail.outbox[0].body).group(1)  # type: ignore[union-attr]
    assert Client().get(reverse("invitation_accept", args=[first_token])).status_code == 410
    invited = events(org, Action.MEMBER_INVITED)
    assert [e.changes["replaced_invitation_ids"] for e in invited] == [[], [first.pk]]


@pytest.mark.parametrize("active", [True, False], ids=["active", "deactivated"])
def test_inviting_a_member_is_refused_with_a_field_error(
    org: Organization, admin_client: Client, active: bool
) -> None:
    viewer = member(org, Role.VIEWER, email="vic@example.org")
    if not active:
        with tenant_context(org):
            Membership.objects.filter(user=viewer).update(is_active=False)
    response = invite(admin_client, org, "Vic@Example.org")
    assert response.status_code == 200
    error = response.context["form"].errors["email"][0]
    assert ("already a member" in error) if active else ("Reactivate" in error)
    assert 'aria-describedby="id_email_error"' in response.content.decode()
    with tenant_context(org):
        assert not Invitation.objects.exists()
    assert events(org, Action.MEMBER_INVITED) == []
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not-an-address", "role": "viewer"}, "email"),
        ({"email": "", "role": "viewer"}, "email"),
        ({"email": "ok@example.org", "role": "superuser"}, "role"),
    ],
)
def test_bad_invitation_input_gives_a_field_error(
    org: Organization, admin_client: Client, data: dict[str, str], field: str
) -> None:
    response = admin_client.post(url("invitation_create", org), data)
    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    # what was typed is kept
    assert f'value="{data["email"]}"' in response.content.decode() or not data["email"]
    with tenant_context(org):
        assert not Invitation.objects.exists()


def test_revoke_stops_the_link_and_is_audited_once(
    org: Organization, admin_client: Client, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invite(admin_client, org, "pat@example.org")
    token = re.search(r"/invitations/([\w-]+)/", mail.outbox[0].body).group(1)  # type: ignore[union-attr]
    with tenant_context(org):
        invitation = Invitation.objects.get()
    revoke = url("invitation_revoke", org, invitation_id=invitation.pk)
    assert admin_client.post(revoke).status_code == 302
    assert admin_client.post(revoke).status_code == 302  # again: a message, no second event
    assert len(events(org, Action.INVITATION_REVOKED)) == 1
    assert Client().get(reverse("invitation_accept", args=[token])).status_code == 410
    assert (
        "No invitations are pending"
        in admin_client.get(url("invitation_list", org)).content.decode()
    )


# --- roles, deactivation, the last admin ------------------------------------------------------


def test_admin_changes_a_role(org: Organization, admin_client: Client) -> None:
    viewer = member(org, Role.VIEWER)
    target = membership(org, viewer)
    response = admin_client.post(
        url("member_role_change", org, membership_id=target.pk), {"role": "privacy_officer"}
    )
    assert response.status_code == 302
    assert membership(org, viewer).role == Role.PRIVACY_OFFICER
    (event,) = events(org, Action.MEMBER_ROLE_CHANGED)
    assert event.changes == {"role": {"from": "viewer", "to": "privacy_officer"}}


def test_unknown_role_is_a_field_error_on_the_member_page(
    org: Organization, admin_client: Client
) -> None:
    target = membership(org, member(org, Role.VIEWER))
    response = admin_client.post(
        url("member_role_change", org, membership_id=target.pk), {"role": "owner"}
    )
    assert response.status_code == 200
    assert list(response.context["role_form"].errors) == ["role"]
    assert 'aria-describedby="id_role_error"' in response.content.decode()
    assert membership(org, target.user).role == Role.VIEWER
    assert events(org, Action.MEMBER_ROLE_CHANGED) == []


def test_the_last_admin_cannot_be_demoted_or_deactivated(
    org: Organization, admin: User, admin_client: Client
) -> None:
    own = membership(org, admin)
    # a deactivated admin does not count
    other = member(org, Role.ORG_ADMIN)
    with tenant_context(org):
        Membership.objects.filter(user=other).update(is_active=False)

    response = admin_client.post(
        url("member_role_change", org, membership_id=own.pk), {"role": "viewer"}
    )
    assert response.status_code == 200
    assert "last active admin" in response.context["role_form"].errors["role"][0]

    response = admin_client.post(url("member_deactivate", org, membership_id=own.pk), follow=True)
    assert "last active admin" in response.content.decode()

    own = membership(org, admin)
    assert own.role == Role.ORG_ADMIN and own.is_active
    assert events(org, Action.MEMBER_ROLE_CHANGED) == events(org, Action.MEMBER_DEACTIVATED) == []

    # with a second active admin, the first may step down
    with tenant_context(org):
        Membership.objects.filter(user=other).update(is_active=True)
    response = admin_client.post(
        url("member_role_change", org, membership_id=own.pk), {"role": "privacy_officer"}
    )
    assert response.status_code == 302
    assert membership(org, admin).role == Role.PRIVACY_OFFICER


def test_deactivated_member_is_refused_on_the_next_request_and_reactivated(
    org: Organization, admin_client: Client
) -> None:
    viewer = member(org, Role.VIEWER)
    viewer_client = sign_in(Client(), viewer)
    dashboard = url("dashboard", org)
    assert viewer_client.get(dashboard).status_code == 200  # the open session

    target = membership(org, viewer)
    assert (
        admin_client.post(url("member_deactivate", org, membership_id=target.pk)).status_code == 302
    )
    target = membership(org, viewer)
    assert not target.is_active and target.deactivated_at is not None

    assert viewer_client.get(dashboard).status_code == 404  # the same session, next request
    home = viewer_client.get("/")
    assert home.status_code == 200
    assert "not an active member of any organization" in home.content.decode()

    detail = admin_client.get(url("member_detail", org, membership_id=target.pk)).content.decode()
    assert "Deactivated" in detail and "Reactivate member" in detail

    assert (
        admin_client.post(url("member_reactivate", org, membership_id=target.pk)).status_code == 302
    )
    assert viewer_client.get(dashboard).status_code == 200
    (off,) = events(org, Action.MEMBER_DEACTIVATED)
    (on,) = events(org, Action.MEMBER_REACTIVATED)
    assert off.changes == {"is_active": False, "role": "viewer"}
    assert on.changes == {"is_active": True, "role": "viewer"}


def test_member_pages_show_last_sign_in_in_the_organization_time_zone_and_mfa(
    org: Organization, admin_client: Client
) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    seen = member(org, Role.VIEWER, email="seen@example.org")
    User.objects.filter(pk=seen.pk).update(last_login=datetime(2026, 3, 2, 17, 5, tzinfo=UTC))
    TOTPDevice.objects.create(user=seen, name="phone", confirmed=True)
    never = member(org, Role.VIEWER, email="never@example.org")
    TOTPDevice.objects.create(user=never, name="unfinished", confirmed=False)

    listing = admin_client.get(url("member_list", org))
    rows = {m.user.email: m for m in listing.context["memberships"]}
    assert rows["seen@example.org"].has_mfa is True
    assert rows["never@example.org"].has_mfa is False
    body = listing.content.decode()
    assert "March 2, 2026, 10:05 a.m." in body  # 17:05 UTC is 10:05 in Denver (MST)
    assert "Never" in body

    detail = admin_client.get(url("member_detail", org, membership_id=membership(org, seen).pk))
    assert "March 2, 2026, 10:05 a.m. MST" in detail.content.decode()
    assert detail.context["member"].has_mfa is True


# the member list's fixed queries; one page query (the member, with user and `has_mfa`)
# instead of the list's two (the paginator's count, one page); and the lockout status
# (accounts/members/_lockout.html)
MEMBER_DETAIL_QUERIES = MEMBER_LIST_QUERIES - 1 + 1


@pytest.mark.parametrize("devices", [0, 5])
def test_member_detail_query_count(
    org: Organization, admin_client: Client, django_assert_num_queries, devices: int
) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    target = membership(org, member(org, Role.VIEWER))
    for n in range(devices):
        TOTPDevice.objects.create(user=target.user, name=f"d{n}", confirmed=True)
    with django_assert_num_queries(MEMBER_DETAIL_QUERIES):
        response = admin_client.get(url("member_detail", org, membership_id=target.pk))
    assert response.context["member"].has_mfa is (devices > 0)


# --- permission and isolation -----------------------------------------------------------------

ACTIONS: dict[str, Callable[[Membership, Invitation], tuple[str, dict[str, str]]]] = {
    "invitation_revoke": lambda m, i: ("invitation_revoke", {"invitation_id": str(i.pk)}),
    "member_role_change": lambda m, i: ("member_role_change", {"membership_id": str(m.pk)}),
    "member_deactivate": lambda m, i: ("member_deactivate", {"membership_id": str(m.pk)}),
    "member_reactivate": lambda m, i: ("member_reactivate", {"membership_id": str(m.pk)}),
}


def _open_invitation(org: Organization) -> Invitation:
    with tenant_context(org):
        return Invitation.objects.create(
            organization=org,
            email="someone@example.org",
            role=Role.VIEWER,
            token_hash=Invitation.hash_token(f"t-{org.slug}"),
            expires_at=datetime(2100, 1, 1, tzinfo=UTC),
        )


def _state(org: Organization) -> tuple[list[tuple[int, str, bool]], list[tuple[int, bool]], int]:
    with tenant_context(org):
        members = list(Membership.objects.order_by("pk").values_list("pk", "role", "is_active"))
        invitations = [(i.pk, i.is_open) for i in Invitation.objects.order_by("pk")]
        audit = AuditEvent.objects.filter(organization=org).count()
    return members, invitations, audit


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("role", [r for r in Role if r != Role.ORG_ADMIN], ids=str)
def test_non_admin_roles_get_403_on_every_action(
    org: Organization, admin: User, role: Role, action: str
) -> None:
    actor = member(org, role)
    target = membership(org, member(org, Role.VIEWER))
    name, kwargs = ACTIONS[action](target, _open_invitation(org))
    client = sign_in(Client(), actor)
    before = _state(org)
    assert client.post(url(name, org, **kwargs), {"role": "org_admin"}).status_code == 403
    assert client.get(url("invitation_create", org)).status_code == 403
    assert invite(client, org, "x@example.org").status_code == 403
    assert _state(org) == before


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_admin_of_another_organization_cannot_act_on_its_ids(
    org: Organization, admin: User, action: str
) -> None:
    target = membership(org, member(org, Role.VIEWER))
    invitation = _open_invitation(org)
    other = OrganizationFactory(slug="hudson-csd")
    other_admin = member(other, Role.ORG_ADMIN)
    member(other, Role.ORG_ADMIN)  # so B's last-admin rule never answers first
    client = sign_in(Client(), other_admin)
    name, kwargs = ACTIONS[action](target, invitation)
    before = _state(org)
    # A's ids under B's own URL: not found in B
    assert client.post(url(name, other, **kwargs), {"role": "viewer"}).status_code == 404
    # A's URL: B's admin is no member of A
    assert client.post(url(name, org, **kwargs), {"role": "viewer"}).status_code == 404
    assert _state(org) == before


# --- the last-admin rule under concurrency ----------------------------------------------------


def _wait_for_lock_waiters(count: int, timeout: float = 30.0) -> None:
    """Wait until `count` sessions of this database wait for a lock (pg_locks shows every
    role's locks; pg_stat_activity hides other roles' wait state).

    The poll runs inside the test's transaction, where PostgreSQL caches pg_stat_activity at
    first use: the snapshot is cleared each time, or sessions that connect later stay unseen.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(DISTINCT l.pid) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                "WHERE NOT l.granted AND a.datname = current_database()"
            )
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.05)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.pid, l.locktype, l.mode, a.datname, current_database() FROM pg_locks l "
            "LEFT JOIN pg_stat_activity a USING (pid) WHERE NOT l.granted"
        )
        raise AssertionError(f"expected {count} sessions waiting for a lock: {cursor.fetchall()}")


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one_admin() -> None:
    org = OrganizationFactory(slug="race-usd")
    first, second = member(org, Role.ORG_ADMIN), member(org, Role.ORG_ADMIN)
    first_m, second_m = membership(org, first), membership(org, second)
    results: list[str] = []

    def run(work: Callable[[], object]) -> None:
        try:
            with tenant_context(org):
                work()
            results.append("ok")
        except LastAdminError:
            results.append("refused")
        except Exception as error:
            results.append(repr(error))
        finally:
            connection.close()

    threads = [
        threading.Thread(
            target=run,
            args=(
                lambda: membership_change_role(
                    organization=org, actor=second, membership_id=first_m.pk, role=Role.VIEWER
                ),
            ),
        ),
        threading.Thread(
            target=run,
            args=(
                lambda: membership_deactivate(
                    organization=org, actor=first, membership_id=second_m.pk
                ),
            ),
        ),
    ]
    # Hold the admins' rows so both services are in flight before either can finish.
    with tenant_context(org):
        list(Membership.objects.filter(role=Role.ORG_ADMIN).select_for_update())
        for thread in threads:
            thread.start()
        _wait_for_lock_waiters(2)
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(results) == ["ok", "refused"]
    with tenant_context(org):
        assert Membership.objects.filter(role=Role.ORG_ADMIN, is_active=True).count() == 1


def test_services_refuse_what_is_already_so(org: Organization, admin: User) -> None:
    target = membership(org, member(org, Role.VIEWER))
    with tenant_context(org), pytest.raises(MemberError, match="already has this role"):
        membership_change_role(
            organization=org, actor=admin, membership_id=target.pk, role=Role.VIEWER
        )
