"""Journey: an admin whose organization requires passkeys registers one at first sign-in (with
Chromium's virtual authenticator), signs out, signs in with password and passkey, signs out,
and signs in with the passkey alone (the organization allows it)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import Page, expect

from accounts.mfa.models import WebAuthnCredential
from accounts.permissions import Role
from accounts.tests.factories import TEST_PASSWORD, OrganizationFactory, member
from audit.models import AuditEvent
from k12cloud.tenancy import unscoped_all_tenants

pytestmark = pytest.mark.browser

EMAIL = "avery@lincoln.example"


def virtual_authenticator(page: Page) -> dict[str, Any]:
    """A platform authenticator (like Touch ID) that keeps passkeys and verifies the user."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return {"cdp": cdp, "id": added["authenticatorId"]}


def sign_out(page: Page, page_checked: Callable[[Page], Page]) -> None:
    page.goto("/accounts/logout/")
    page_checked(page)
    page.get_by_role("button", name=re.compile("Sign out")).click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page_checked(page)


def test_admin_registers_a_passkey_signs_out_and_signs_in_with_it(
    live_server: Any,
    page: Page,
    page_checked: Callable[[Page], Page],
    artifacts_dir: Path,
    settings: Any,
) -> None:
    settings.WEBAUTHN_RP_ID = "localhost"
    settings.WEBAUTHN_ORIGINS = [live_server.url]
    assert live_server.url.startswith("http://localhost:")
    lincoln = OrganizationFactory.create(
        slug="lincoln-usd",
        name="Lincoln USD",
        mfa_require_passkey_for_admins=True,
        passkey_sign_in_allowed=True,
    )
    user = member(lincoln, Role.ORG_ADMIN, email=EMAIL, full_name="Avery Admin")
    EmailAddress.objects.create(user=user, email=EMAIL, verified=True, primary=True)
    authenticator = virtual_authenticator(page)

    # first sign-in: the password, then straight to registering a passkey
    page.goto("/accounts/login/")
    page_checked(page)
    page.get_by_label("Email address", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/accounts/mfa/passkeys/new/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a passkey or security key")
    expect(page.get_by_text("requires a passkey for your role")).to_be_visible()
    page_checked(page)
    page.screenshot(path=artifacts_dir / "journey-passkey-register.png", full_page=True)

    page.get_by_label("Name this passkey").fill("Work laptop")
    page.get_by_role("button", name="Add passkey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Save your recovery codes")
    page_checked(page)
    page.get_by_role("link", name="I have saved these codes, continue").click()
    expect(page).to_have_url(f"{live_server.url}/o/lincoln-usd/")
    page_checked(page)

    credentials = authenticator["cdp"].send(
        "WebAuthn.getCredentials", {"authenticatorId": authenticator["id"]}
    )["credentials"]
    assert len(credentials) == 1 and credentials[0]["isResidentCredential"]
    passkey = WebAuthnCredential.objects.get(user=user)
    assert passkey.name == "Work laptop"

    page.goto("/accounts/mfa/")
    expect(page.get_by_role("cell", name="Work laptop", exact=True)).to_be_visible()
    page_checked(page)
    page.screenshot(path=artifacts_dir / "journey-passkey-overview.png", full_page=True)

    # second sign-in: password, then the passkey (a code would not do for this role)
    sign_out(page, page_checked)
    page.get_by_label("Email address", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/accounts/mfa/verify/passkey/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in with your passkey")
    page_checked(page)
    page.get_by_role("button", name="Use my passkey").click()
    expect(page).to_have_url(f"{live_server.url}/o/lincoln-usd/")
    page_checked(page)
    passkey.refresh_from_db()
    assert passkey.last_used_at is not None

    # third sign-in: the passkey alone
    sign_out(page, page_checked)
    page.get_by_role("link", name="Sign in with a passkey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in with a passkey")
    page_checked(page)
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page).to_have_url(f"{live_server.url}/o/lincoln-usd/")
    page_checked(page)
    page.screenshot(path=artifacts_dir / "journey-passkey-signed-in.png", full_page=True)

    with unscoped_all_tenants(reason="test: reading audit events"):
        actions = list(
            AuditEvent.objects.filter(target_id=str(user.pk))
            .order_by("pk")
            .values_list("action", flat=True)
        )
    assert actions.count("auth.signed_in") == 3
    assert "mfa.passkey_registered" in actions and "mfa.verification_failed" not in actions
