"""Members' sign-ins and second-factor events on their organization's audit log.

They happen on the platform chain (a user is not tied to one organization); a copy lands on
the chain of each organization where the user is an active member (audit.services.
MEMBER_COPIES), so the organization's auditor reads them on its own audit page and each chain
still verifies on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa.services import recovery_codes_generate
from accounts.models import Membership, Organization, User
from accounts.permissions import Role
from accounts.tests.factories import TEST_PASSWORD, OrganizationFactory, member, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from audit.sealing import seal_chains
from audit.verification import verify_chains
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 15, 0, 10, tzinfo=UTC)  # 10 s into a 30 s TOTP step
MEMBER_ACTIONS = {
    Action.MEMBER_SIGNED_IN.value,
    Action.MEMBER_SIGN_IN_FAILED.value,
    Action.MEMBER_MFA_ENROLLED.value,
    Action.MEMBER_RECOVERY_CODE_USED.value,
}


def person(org: Organization, role: Role, email: str) -> User:
    user = member(org, role, email=email)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def sign_in_form(client: Client, email: str, password: str = TEST_PASSWORD) -> None:
    client.post(reverse("account_login"), {"login": email, "password": password})


def totp_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def member_events_on_page(client: Client, org: Organization, target: User) -> dict[str, dict]:
    """The member_security events about `target` on the organization's audit page."""
    url = reverse("accounts:audit_event_list", kwargs={"org_slug": org.slug})
    response = client.get(url)
    assert response.status_code == 200
    return {
        row["event"].action: row
        for row in response.context["events"]
        if row["event"].target_id == str(target.pk)
        and row["event"].action.startswith("member_security.")
    }


def test_a_members_sign_ins_and_second_factor_appear_on_their_organizations_log_only() -> None:
    with time_machine.travel(NOW, tick=False) as clock:
        lincoln = OrganizationFactory.create(slug="lincoln-usd", name="Lincoln USD")
        hudson = OrganizationFactory.create(slug="hudson-csd", name="Hudson CSD")
        lincoln_admin = sign_in(Client(), member(lincoln, Role.ORG_ADMIN, email="a@lincoln.ex"))
        hudson_admin = sign_in(Client(), member(hudson, Role.ORG_ADMIN, email="a@hudson.ex"))
        officer = person(lincoln, Role.PRIVACY_OFFICER, "officer@lincoln.example")

        # sign-in with the password, then the authenticator set-up the policy asks for
        client = Client()
        sign_in_form(client, officer.email)
        client.get(reverse("mfa_enrol"))
        device = TOTPDevice.objects.get(user=officer, confirmed=False)
        response = client.post(reverse("mfa_enrol"), {"code": totp_code(device)})
        assert response.status_code in (200, 302)
        assert TOTPDevice.objects.filter(user=officer, confirmed=True).exists()
        # a wrong password
        sign_in_form(Client(), officer.email, "wrong-password-123")
        # a recovery code as the second step, in a new session
        clock.shift(60)
        codes = recovery_codes_generate(user=officer)
        later = Client()
        sign_in_form(later, officer.email)
        later.post(reverse("mfa_verify"), {"code": codes[0]})
        # a failed sign-in for an address without an account concerns no member
        sign_in_form(Client(), "nobody@lincoln.example", "wrong-password-123")

        shown = member_events_on_page(lincoln_admin, lincoln, officer)
        assert set(shown) == MEMBER_ACTIONS
        assert str(shown[Action.MEMBER_SIGNED_IN.value]["action_label"]) == "Member signed in"
        assert "platform_event_id" in shown[Action.MEMBER_RECOVERY_CODE_USED.value]["changes"]
        assert member_events_on_page(hudson_admin, hudson, officer) == {}

    # each copy names its platform event, with the same actor, time and target
    with unscoped_all_tenants(reason="test reads both chains"):
        copies = list(
            AuditEvent.objects.filter(
                organization=lincoln, target_id=str(officer.pk), action__in=MEMBER_ACTIONS
            )
        )
        originals = AuditEvent.objects.in_bulk([c.changes["platform_event_id"] for c in copies])
        unknown = AuditEvent.objects.filter(
            action=Action.SIGN_IN_FAILED.value, changes__account_exists=False
        )
        assert unknown.count() == 1 and unknown.get().organization_id is None
        assert not AuditEvent.objects.filter(
            action=Action.MEMBER_SIGN_IN_FAILED.value, target_id=""
        ).exists()
    for copy in copies:
        original = originals[copy.changes["platform_event_id"]]
        assert original.organization_id is None
        assert copy.action == "member_security." + original.action.split(".", 1)[1].replace(
            "enrolled", "mfa_enrolled"
        )
        assert (copy.actor_kind, copy.actor_user_id, copy.occurred_at, copy.ip_address) == (
            original.actor_kind,
            original.actor_user_id,
            original.occurred_at,
            original.ip_address,
        )
        assert {k: v for k, v in copy.changes.items() if k != "platform_event_id"} == (
            original.changes
        )

    # once sealed, every chain verifies: the platform's, Lincoln's (with the copies), Hudson's
    assert seal_chains() > 0
    report = verify_chains()
    assert report.intact, report.problems
    assert report.awaiting_seal == 0
    for org in (lincoln, hudson):
        out = StringIO()
        call_command("audit_verify", "--organization", org.slug, stdout=out)
        assert "all intact" in out.getvalue()


def test_a_member_of_two_organizations_is_on_both_logs_and_not_where_inactive() -> None:
    lincoln = OrganizationFactory(slug="lincoln-usd")
    hudson = OrganizationFactory(slug="hudson-csd")
    former = OrganizationFactory(slug="former-usd")
    user = person(lincoln, Role.PRIVACY_STAFF, "two@example.org")
    with tenant_context(hudson):
        Membership.objects.create(organization=hudson, user=user, role=Role.VIEWER)
    with tenant_context(former):
        Membership.objects.create(organization=former, user=user, role=Role.VIEWER, is_active=False)

    sign_in_form(Client(), user.email)

    for org, expected in ((lincoln, 1), (hudson, 1), (former, 0)):
        with tenant_context(org):
            copies = AuditEvent.objects.filter(action=Action.MEMBER_SIGNED_IN.value)
            assert copies.count() == expected, org.slug
    assert verify_chains().intact
