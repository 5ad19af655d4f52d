"""Sessions: key rotation, tracking, idle and absolute timeouts, "your sessions", policy page."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Membership, Organization, User
from accounts.permissions import Role
from accounts.security.models import UserSession
from accounts.tests.factories import (
    TEST_PASSWORD,
    OrganizationFactory,
    UserFactory,
    member,
    sign_in,
)
from accounts.tests.test_views import DASHBOARD_QUERIES
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def events(action: Action) -> list[AuditEvent]:
    with unscoped_all_tenants(reason="test reads audit events"):
        return list(AuditEvent.objects.filter(action=action.value).order_by("pk"))


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


@pytest.fixture
def admin(org: Organization) -> User:
    user = member(org, Role.ORG_ADMIN, email="admin@lincoln.example")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def dashboard(org: Organization) -> str:
    return reverse("accounts:dashboard", kwargs={"org_slug": org.slug})


def password_sign_in(user: User, user_agent: str = FIREFOX, **extra: str) -> Client:
    """Signs in through the sign-in form, then passes the second factor as `sign_in` does."""
    client = Client(HTTP_USER_AGENT=user_agent, **extra)
    response = client.post("/accounts/login/", {"login": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    device, _ = TOTPDevice.objects.get_or_create(user=user, defaults={"name": "App"})
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


# --- sign-in, tracking and audit ----------------------------------------------------------------


def test_sign_in_rotates_the_session_key(admin: User) -> None:
    client = Client()
    session = client.session
    session["before"] = "sign-in"
    session.save()
    anonymous_key = session.session_key
    client.post("/accounts/login/", {"login": admin.email, "password": TEST_PASSWORD})
    assert client.session.session_key != anonymous_key
    assert not Session.objects.filter(session_key=anonymous_key).exists()


def test_sign_in_is_tracked_and_audited_once(admin: User) -> None:
    client = password_sign_in(admin, REMOTE_ADDR="198.51.100.7")
    row = UserSession.objects.get(user=admin)
    assert row.session_key == client.session.session_key
    assert row.ip_address == "198.51.100.7"
    assert row.user_agent == FIREFOX
    (event,) = events(Action.SIGNED_IN)
    assert event.organization_id is None
    assert event.actor_user_id == admin.pk
    assert event.target_id == str(admin.pk)


def test_sign_out_is_audited_once_and_forgets_the_session(admin: User) -> None:
    client = password_sign_in(admin)
    client.post(reverse("account_logout"))
    assert len(events(Action.SIGNED_OUT)) == 1
    assert not UserSession.objects.filter(user=admin).exists()


def test_password_change_is_audited_and_ends_other_sessions(admin: User) -> None:
    here = sign_in(Client(), admin)
    elsewhere = sign_in(Client(), admin)
    response = here.post(
        reverse("account_change_password"),
        {
            "oldpassword": TEST_PASSWORD,
            "password1": "a-new-long-passphrase-9",
            "password2": "a-new-long-passphrase-9",
        },
    )
    assert response.status_code == 302
    (event,) = events(Action.PASSWORD_CHANGED)
    assert event.changes == {"other_sessions_ended": 1}
    assert here.get(reverse("profile")).status_code == 200  # this session continues
    assert elsewhere.get(reverse("profile")).status_code == 302  # signed out
    assert UserSession.objects.filter(user=admin).count() == 1


# --- timeouts -------------------------------------------------------------------------------


def test_idle_session_ends_with_a_message_and_an_event(org: Organization, admin: User) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = sign_in(Client(), admin)
        key = client.session.session_key
        clock.shift(timedelta(minutes=29))
        assert client.get(dashboard(org)).status_code == 200
        clock.shift(timedelta(minutes=30, seconds=30))
        response = client.get(dashboard(org))
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next=/o/{org.slug}/"
        page = client.get(response["Location"]).content.decode()
        assert "You were signed out after 30 minutes without activity" in page
        assert not Session.objects.filter(session_key=key).exists()
        assert not UserSession.objects.filter(session_key=key).exists()
        assert client.get(dashboard(org)).status_code == 302  # still signed out
    (event,) = events(Action.SESSION_EXPIRED)
    assert event.changes == {"reason": "idle", "idle_minutes": 30, "absolute_hours": 12}
    assert event.actor_user_id == admin.pk


def test_activity_keeps_the_session_until_the_absolute_limit(
    org: Organization, admin: User
) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = sign_in(Client(), admin)
        for _ in range(35):  # 11 h 40 min of activity every 20 minutes
            clock.shift(timedelta(minutes=20))
            assert client.get(dashboard(org)).status_code == 200
        clock.shift(timedelta(minutes=20, seconds=1))
        response = client.get(dashboard(org))
        assert response.status_code == 302
        page = client.get(response["Location"]).content.decode()
        assert "Your session reached its limit of 12 hours" in page
    (event,) = events(Action.SESSION_EXPIRED)
    assert event.changes["reason"] == "absolute"


def test_the_strictest_organization_policy_applies(org: Organization, admin: User) -> None:
    strict = OrganizationFactory(slug="hudson-csd", session_idle_timeout_minutes=10)
    member(strict, Role.VIEWER, email=admin.email)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = sign_in(Client(), admin)
        clock.shift(timedelta(minutes=9))
        assert client.get(dashboard(org)).status_code == 200
        clock.shift(timedelta(minutes=10, seconds=30))
        assert client.get(dashboard(org)).status_code == 302


def test_a_policy_change_reaches_signed_in_members_within_a_minute(
    org: Organization, admin: User
) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = sign_in(Client(), admin)
        Organization.objects.filter(pk=org.pk).update(session_absolute_timeout_hours=1)
        clock.shift(timedelta(minutes=30))
        assert client.get(dashboard(org)).status_code == 200
        clock.shift(timedelta(minutes=29))
        assert client.get(dashboard(org)).status_code == 200
        clock.shift(timedelta(minutes=1, seconds=5))
        assert client.get(dashboard(org)).status_code == 302


def test_users_without_a_membership_get_the_defaults(db: None) -> None:
    ops = UserFactory(email="ops@k12.example", is_staff=True)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = sign_in(Client(), ops)
        clock.shift(timedelta(minutes=29))
        assert client.get(reverse("profile")).status_code == 200
        clock.shift(timedelta(minutes=31))
        assert client.get(reverse("profile")).status_code == 302


def test_the_api_gets_a_401_when_the_session_ended(org: Organization, admin: User) -> None:
    url = reverse("accounts_api:organization_detail", kwargs={"org_slug": org.slug})
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = sign_in(Client(), admin)
        clock.shift(timedelta(minutes=45))
        response = client.get(url)
    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"


def test_a_role_change_rotates_the_session_key(org: Organization, admin: User) -> None:
    viewer = member(org, Role.VIEWER, email="viewer@lincoln.example")
    client = sign_in(Client(), viewer)
    key = client.session.session_key
    assert client.get(dashboard(org)).status_code == 200
    assert client.session.session_key == key
    with tenant_context(org):
        Membership.objects.filter(user=viewer).update(role=Role.ORG_ADMIN)
    assert client.get(dashboard(org)).status_code == 200
    new_key = client.session.session_key
    assert new_key != key
    assert not Session.objects.filter(session_key=key).exists()
    assert UserSession.objects.get(user=viewer).session_key == new_key
    assert client.get(dashboard(org)).status_code == 200


# --- cost --------------------------------------------------------------------------------------

# Once a minute, a request also: re-reads the memberships (1; shared with organization pages,
# so 0 on them), updates the UserSession row (1) and saves the session (savepoint, UPDATE,
# release: 3 in a test transaction).
REFRESH_QUERIES_ON_ORGANIZATION_PAGES = 4


def test_no_queries_added_within_a_minute(
    org: Organization, admin: User, django_assert_num_queries
) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = sign_in(Client(), admin)
        clock.shift(timedelta(seconds=59))
        with django_assert_num_queries(DASHBOARD_QUERIES):
            assert client.get(dashboard(org)).status_code == 200


def test_the_refresh_once_a_minute_costs_a_fixed_few_queries(
    org: Organization, admin: User, django_assert_num_queries
) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = sign_in(Client(), admin)
        clock.shift(timedelta(minutes=5))
        with django_assert_num_queries(DASHBOARD_QUERIES + REFRESH_QUERIES_ON_ORGANIZATION_PAGES):
            assert client.get(dashboard(org)).status_code == 200
        row = UserSession.objects.get(user=admin)
        assert row.last_seen_at == timezone.now()


# --- your sessions ---------------------------------------------------------------------------


def test_session_list_shows_each_browser(admin: User) -> None:
    here = password_sign_in(admin, FIREFOX, REMOTE_ADDR="198.51.100.7")
    password_sign_in(admin, SAFARI, REMOTE_ADDR="2001:db8::7")
    other_user = UserFactory(email="someone@else.example")
    sign_in(Client(), other_user)
    response = here.get(reverse("session_list"))
    assert response.status_code == 200
    rows = response.context["sessions"]
    # the most recently active first
    assert [(s["browser"], s["is_current"]) for s in rows] == [
        ("Safari on iOS", False),
        ("Firefox on Windows", True),
    ]
    body = response.content.decode()
    assert "198.51.100.7" in body and "2001:db8::7" in body
    assert "this session" in body


def test_sign_out_everywhere_else(admin: User) -> None:
    here = sign_in(Client(), admin)
    others = [sign_in(Client(), admin) for _ in range(2)]
    response = here.post(reverse("session_revoke_others"), follow=True)
    assert "You are signed out of 2 other sessions." in response.content.decode()
    assert here.get(reverse("profile")).status_code == 200
    assert all(c.get(reverse("profile")).status_code == 302 for c in others)
    (event,) = events(Action.SESSIONS_REVOKED)
    assert event.changes == {"sessions": 2, "current_included": False}
    assert event.organization_id is None


def test_sign_out_everywhere(admin: User) -> None:
    here = sign_in(Client(), admin)
    elsewhere = sign_in(Client(), admin)
    response = here.post(reverse("session_revoke_all"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert here.get(reverse("profile")).status_code == 302
    assert elsewhere.get(reverse("profile")).status_code == 302
    assert not UserSession.objects.filter(user=admin).exists()
    (event,) = events(Action.SESSIONS_REVOKED)
    assert event.changes == {"sessions": 2, "current_included": True}


def test_revoking_never_touches_another_users_sessions(admin: User) -> None:
    someone = UserFactory(email="someone@else.example")
    theirs = sign_in(Client(), someone)
    sign_in(Client(), admin).post(reverse("session_revoke_all"))
    assert theirs.get(reverse("profile")).status_code == 200


# --- the policy page -------------------------------------------------------------------------


def policy_url(org: Organization) -> str:
    return reverse("accounts:session_policy", kwargs={"org_slug": org.slug})


def test_policy_page_saves_and_audits(org: Organization, admin: User) -> None:
    client = sign_in(Client(), admin)
    assert 'value="30"' in client.get(policy_url(org)).content.decode()
    response = client.post(policy_url(org), {"idle_minutes": "15", "absolute_hours": "12"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.session_idle_timeout_minutes, org.session_absolute_timeout_hours) == (15, 12)
    (event,) = events(Action.SESSION_POLICY_CHANGED)
    assert event.organization_id == org.pk
    assert event.changes == {"session_idle_timeout_minutes": {"from": 30, "to": 15}}
    client.post(policy_url(org), {"idle_minutes": "15", "absolute_hours": "12"})
    assert len(events(Action.SESSION_POLICY_CHANGED)) == 1  # no change, no event


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"idle_minutes": "4", "absolute_hours": "12"},
            "idle_minutes",
            "greater than or equal to 5",
        ),
        (
            {"idle_minutes": "30", "absolute_hours": "25"},
            "absolute_hours",
            "less than or equal to 24",
        ),
        ({"idle_minutes": "abc", "absolute_hours": "12"}, "idle_minutes", "Enter a whole number"),
        ({"idle_minutes": "120", "absolute_hours": "1"}, "idle_minutes", "must not be longer"),
    ],
)
def test_policy_page_rejects_bad_values(
    org: Organization, admin: User, data: dict[str, str], field: str, message: str
) -> None:
    response = sign_in(Client(), admin).post(policy_url(org), data)
    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert f'id="id_{field}_error"' in response.content.decode()
    org.refresh_from_db()
    assert (org.session_idle_timeout_minutes, org.session_absolute_timeout_hours) == (30, 12)
    assert events(Action.SESSION_POLICY_CHANGED) == []
