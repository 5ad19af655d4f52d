"""Journey: an admin who must use MFA enrols at first sign-in, then signs in with a TOTP code."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django_otp.oath import TOTP
from playwright.sync_api import Page, expect

from accounts.permissions import Role
from accounts.tests.factories import TEST_PASSWORD, OrganizationFactory, member

pytestmark = pytest.mark.browser

EMAIL = "avery@lincoln.example"


def code_from_key(key_text: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for the typed setup key."""
    totp = TOTP(base64.b32decode(key_text.replace(" ", "")), step=30, t0=0, digits=6)
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def sign_in_with_password(page: Page) -> None:
    page.get_by_label("Email address", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_admin_enrols_at_first_sign_in_then_signs_in_with_a_code(
    live_server: Any,
    page: Page,
    page_checked: Callable[[Page], Page],
    artifacts_dir: Path,
) -> None:
    lincoln = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")  # default policy
    user = member(lincoln, Role.ORG_ADMIN, email=EMAIL, full_name="Avery Admin")
    EmailAddress.objects.create(user=user, email=EMAIL, verified=True, primary=True)

    page.goto("/accounts/login/")
    page_checked(page)
    sign_in_with_password(page)

    # taken to enrolment before anything else
    expect(page).to_have_url(f"{live_server.url}/accounts/mfa/enrol/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-step verification")
    expect(page.get_by_role("img", name="QR code with your setup key")).to_be_visible()
    page_checked(page)
    page.screenshot(path=artifacts_dir / "journey-mfa-enrol.png", full_page=True)
    key_text = page.locator("#setup-key").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{1,4})+", key_text), key_text

    # other pages send the user back here
    page.goto("/accounts/profile/")
    expect(page).to_have_url(re.compile(r"/accounts/mfa/enrol/\?next="))
    page_checked(page)

    page.get_by_label("Six-digit code from the app").fill(code_from_key(key_text))
    page.get_by_role("button", name="Turn on two-step verification").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Save your recovery codes")
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    expect(codes.first).to_have_text(re.compile(r"^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$"))
    page_checked(page)

    # `next` was the profile page the user had asked for
    page.get_by_role("link", name="I have saved these codes, continue").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/profile/")
    page_checked(page)
    page.goto("/")
    expect(page).to_have_url(f"{live_server.url}/o/lincoln-usd/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Lincoln USD")
    page_checked(page)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page_checked(page)

    # password, then the second step
    sign_in_with_password(page)
    expect(page).to_have_url(f"{live_server.url}/accounts/mfa/verify/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-step verification")
    page_checked(page)

    code_field = page.get_by_label("Authentication code")
    right = code_from_key(key_text, steps_ahead=1)  # the enrolment used this step's code
    code_field.fill("000000" if right != "000000" else "111111")
    page.get_by_role("button", name="Verify", exact=True).click()
    expect(page.locator("#id_code_error")).to_contain_text("not valid")
    expect(code_field).to_have_attribute("aria-invalid", "true")
    page_checked(page)

    time.sleep(1.2)  # one wrong code: django-otp waits a second before the next try
    code_field.fill(code_from_key(key_text, steps_ahead=1))
    page.get_by_role("button", name="Verify", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/o/lincoln-usd/")
    expect(page.get_by_text("You are signed in as Organization admin.")).to_be_visible()
    page_checked(page)

    # the organization's policy page
    page.goto("/o/lincoln-usd/settings/mfa/")
    policy = page.get_by_role("group", name="Who must use a second factor")
    expect(policy.get_by_label("Admins and privacy roles")).to_be_checked()
    page_checked(page)
    policy.get_by_label("Everyone").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Who must use two-step verification: Every")
    page_checked(page)


def test_member_turns_optional_mfa_on_and_off_after_confirming_the_password(
    live_server: Any, page: Page, page_checked: Callable[[Page], Page]
) -> None:
    lincoln = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    user = member(lincoln, Role.VIEWER, email=EMAIL)  # the default policy does not require it
    EmailAddress.objects.create(user=user, email=EMAIL, verified=True, primary=True)

    page.goto("/accounts/login/")
    page_checked(page)
    sign_in_with_password(page)
    expect(page).to_have_url(f"{live_server.url}/o/lincoln-usd/")
    page_checked(page)

    page.goto("/accounts/mfa/")
    expect(page.get_by_text("Off: signing in needs only your password.")).to_be_visible()
    page_checked(page)
    page.get_by_role("link", name="Set up two-step verification").click()
    key_text = page.locator("#setup-key").inner_text()
    page_checked(page)
    page.get_by_label("Six-digit code from the app").fill(code_from_key(key_text))
    page.get_by_role("button", name="Turn on two-step verification").click()
    page_checked(page)
    page.get_by_role("link", name="I have saved these codes, continue").click()
    page_checked(page)

    page.goto("/accounts/mfa/")
    expect(page.get_by_text("On: signing in asks for a code")).to_be_visible()
    page_checked(page)
    page.get_by_role("link", name="Turn off two-step verification").click()

    # the password again first
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it is you")
    page_checked(page)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(f"{live_server.url}/accounts/mfa/disable/")
    page_checked(page)
    page.get_by_role("button", name="Turn off two-step verification").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/mfa/")
    expect(page.get_by_role("status")).to_contain_text("Two-step verification is off.")
    page_checked(page)
