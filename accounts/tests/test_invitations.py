"""The public invitation link: create or link the account, once, within 7 days."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import Invitation, Membership, Organization, User
from accounts.permissions import Role
from accounts.services.members import (
    InvitationUnusable,
    NewAccount,
    invitation_accept,
    invitation_create,
)
from accounts.tests.factories import TEST_PASSWORD, OrganizationFactory, member, sign_in
from accounts.tests.test_members import _wait_for_lock_waiters, events
from audit.actions import Action
from k12cloud.tenancy import tenant_context

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 4, 15, 0, tzinfo=UTC)
NEW_PASSWORD = "violet-lantern-orbit-42"


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


@pytest.fixture
def admin(org: Organization) -> User:
    return member(org, Role.ORG_ADMIN, email="admin@lincoln.example")


def create_invitation(
    org: Organization, admin: User, email: str, role: Role = Role.VIEWER
) -> tuple[Invitation, str]:
    """An invitation made through the service; returns it and its link path."""
    links: list[str] = []
    with tenant_context(org):
        invitation = invitation_create(
            organization=org,
            actor=admin,
            email=email,
            role=role,
            accept_url_for=lambda token: links.append(token) or f"https://portal.test/{token}",  # type: ignore[func-returns-value]
        )
    return invitation, reverse("invitation_accept", kwargs={"token": links[0]})


def reload(org: Organization, invitation: Invitation) -> Invitation:
    with tenant_context(org):
        return Invitation.objects.get(pk=invitation.pk)


def new_account_data(**overrides: str) -> dict[str, str]:
    return {
        "full_name": "Nia Newcomer",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        **overrides,
    }


# --- a new account ----------------------------------------------------------------------------


def test_accepting_creates_the_account_signs_in_and_opens_the_dashboard(
    org: Organization, admin: User
) -> None:
    invitation, link = create_invitation(org, admin, "Nia@Example.org", Role.PRIVACY_STAFF)
    client = Client()
    page = client.get(link)
    assert page.status_code == 200
    assert "Join Lincoln USD" in page.content.decode()

    response = client.post(link, new_account_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:dashboard", kwargs={"org_slug": org.slug})

    user = User.objects.get(email="nia@example.org")
    assert user.full_name == "Nia Newcomer" and user.check_password(NEW_PASSWORD)
    assert EmailAddress.objects.filter(user=user, verified=True, primary=True).count() == 1
    assert int(client.session[SESSION_KEY]) == user.pk
    with tenant_context(org):
        membership = Membership.objects.get(user=user)
    assert membership.role == Role.PRIVACY_STAFF and membership.is_active
    invitation = reload(org, invitation)
    assert invitation.accepted_by == user and invitation.accepted_at is not None

    (event,) = events(org, Action.INVITATION_ACCEPTED)
    assert event.actor_user_id == user.pk
    assert event.target_id == str(membership.pk)
    assert event.changes == {
        "invitation_id": invitation.pk,
        "role": "privacy_staff",
        "new_account": True,
    }


def test_the_new_account_can_sign_in_with_its_password(org: Organization, admin: User) -> None:
    _, link = create_invitation(org, admin, "nia@example.org")
    Client().post(link, new_account_data())
    client = Client()
    response = client.post(
        reverse("account_login"), {"login": "nia@example.org", "password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert SESSION_KEY in client.session


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"password1": "short", "password2": "short"}, "password1"),
        ({"password1": "nia-newcomer-1", "password2": "nia-newcomer-1"}, "password1"),
        ({"password2": "something-else-entirely"}, "password2"),
        ({"full_name": "   "}, "full_name"),
    ],
)
def test_bad_account_input_is_a_field_error_and_keeps_the_link_usable(
    org: Organization, admin: User, overrides: dict[str, str], field: str
) -> None:
    invitation, link = create_invitation(org, admin, "nia@example.org")
    response = Client().post(link, new_account_data(**overrides))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert f'aria-describedby="id_{field}' in response.content.decode()
    assert not User.objects.filter(email="nia@example.org").exists()
    assert reload(org, invitation).is_open
    assert Client().get(link).status_code == 200


# --- once, and for 7 days ---------------------------------------------------------------------


def test_the_link_works_exactly_once(org: Organization, admin: User) -> None:
    _, link = create_invitation(org, admin, "nia@example.org")
    assert Client().post(link, new_account_data()).status_code == 302
    again = Client().post(link, new_account_data(full_name="Someone Else"))
    assert again.status_code == 410
    assert "already been accepted" in again.content.decode()
    assert Client().get(link).status_code == 410
    assert User.objects.get(email="nia@example.org").full_name == "Nia Newcomer"
    assert len(events(org, Action.INVITATION_ACCEPTED)) == 1


def test_the_link_expires_after_7_days(org: Organization, admin: User) -> None:
    with time_machine.travel(NOW, tick=False):
        _, link = create_invitation(org, admin, "nia@example.org")
    with time_machine.travel(NOW + timedelta(days=7) - timedelta(seconds=1), tick=False):
        assert Client().get(link).status_code == 200
    with time_machine.travel(NOW + timedelta(days=7), tick=False):
        page = Client().get(link)
        assert page.status_code == 410
        body = page.content.decode()
        assert "expired" in body and "Ask your organization's administrator" in body
        assert Client().post(link, new_account_data()).status_code == 410
    assert not User.objects.filter(email="nia@example.org").exists()


def test_an_expiring_link_is_refused_by_the_service_too(org: Organization, admin: User) -> None:
    # the page found it usable, but it expired before the accept ran
    with time_machine.travel(NOW, tick=False):
        invitation, _ = create_invitation(org, admin, "nia@example.org")
    with (
        time_machine.travel(NOW + timedelta(days=8), tick=False),
        tenant_context(org),
        pytest.raises(InvitationUnusable) as refused,
    ):
        invitation_accept(
            organization=org,
            invitation_id=invitation.pk,
            user=None,
            new_account=NewAccount(full_name="Nia", password=NEW_PASSWORD),
        )
    assert refused.value.reason == "expired"


def test_unknown_and_revoked_links(org: Organization, admin: User) -> None:
    unknown = Client().get(reverse("invitation_accept", args=["no-such-token"]))
    assert unknown.status_code == 404
    assert "Ask your organization's administrator" in unknown.content.decode()
    invitation, link = create_invitation(org, admin, "nia@example.org")
    with tenant_context(org):
        Invitation.objects.filter(pk=invitation.pk).update(revoked_at=NOW)
    assert Client().get(link).status_code == 410


# --- an existing account ----------------------------------------------------------------------


def test_existing_account_signs_in_then_confirms(org: Organization, admin: User) -> None:
    other_org = OrganizationFactory(slug="hudson-csd")
    existing = member(other_org, Role.VIEWER, email="pat@example.org")
    invitation, link = create_invitation(org, admin, "PAT@example.org", Role.BILLING_CONTACT)

    anonymous = Client().get(link)
    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"{reverse('account_login')}?next={link}"

    client = sign_in(Client(), existing)
    confirm = client.get(link)
    assert confirm.status_code == 200
    assert 'method="post"' in confirm.content.decode()
    with tenant_context(org):
        assert not Membership.objects.filter(user=existing).exists()  # GET changes nothing

    response = client.post(link)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:dashboard", kwargs={"org_slug": org.slug})
    with tenant_context(org):
        assert Membership.objects.get(user=existing).role == Role.BILLING_CONTACT
    assert User.objects.filter(email__iexact="pat@example.org").count() == 1
    assert reload(org, invitation).accepted_by == existing
    (event,) = events(org, Action.INVITATION_ACCEPTED)
    assert event.changes["new_account"] is False
    assert client.get(response["Location"]).status_code == 200


def test_signed_in_as_someone_else_is_refused(org: Organization, admin: User) -> None:
    invitation, link = create_invitation(org, admin, "nia@example.org")
    intruder = member(OrganizationFactory(slug="hudson-csd"), Role.VIEWER)
    client = sign_in(Client(), intruder)
    for response in (client.get(link), client.post(link, new_account_data())):
        assert response.status_code == 403
        assert "for another account" in response.content.decode()
        assert "nia@example.org" not in response.content.decode()
    assert reload(org, invitation).is_open
    with tenant_context(org):
        assert not Membership.objects.filter(user=intruder).exists()


def test_a_deactivated_member_is_not_reactivated_by_an_invitation(
    org: Organization, admin: User
) -> None:
    invitation, link = create_invitation(org, admin, "pat@example.org")
    # deactivated after the invitation was sent
    pat = member(org, Role.VIEWER, email="pat@example.org")
    with tenant_context(org):
        Membership.objects.filter(user=pat).update(is_active=False)
    client = sign_in(Client(), pat)
    for response in (client.get(link), client.post(link)):
        assert response.status_code == 409
        assert "Ask one of its administrators to reactivate" in response.content.decode()
    with tenant_context(org):
        assert not Membership.objects.get(user=pat).is_active
    assert reload(org, invitation).is_open
    assert events(org, Action.INVITATION_ACCEPTED) == []


# --- two acceptances at once ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_acceptances_make_one_account() -> None:
    org = OrganizationFactory(slug="race-usd")
    invitation, _ = create_invitation(org, member(org, Role.ORG_ADMIN), "nia@example.org")
    results: list[str] = []

    def accept(name: str) -> None:
        try:
            with tenant_context(org):
                invitation_accept(
                    organization=org,
                    invitation_id=invitation.pk,
                    user=None,
                    new_account=NewAccount(full_name=name, password=TEST_PASSWORD),
                )
            results.append("ok")
        except InvitationUnusable as refused:
            results.append(refused.reason)
        except Exception as error:
            results.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(n,)) for n in ("First", "Second")]
    with tenant_context(org):
        Invitation.objects.select_for_update().get(pk=invitation.pk)
        for thread in threads:
            thread.start()
        _wait_for_lock_waiters(2)
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(results) == ["accepted", "ok"]
    assert User.objects.filter(email="nia@example.org").count() == 1
    with tenant_context(org):
        assert Membership.objects.filter(user__email="nia@example.org").count() == 1
    assert len(events(org, Action.INVITATION_ACCEPTED)) == 1
