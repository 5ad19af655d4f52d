"""Journey: an admin creates an API key, copies it from the one-time panel, then revokes it;
and a visitor starts single sign-on from the sign-in page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import Page, expect

from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import TEST_PASSWORD, OrganizationFactory, member

pytestmark = pytest.mark.browser

EMAIL = "avery@lincoln.example"


def sign_in_as_admin(page: Page, page_checked: Callable[[Page], Page]) -> None:
    org = OrganizationFactory(
        slug="lincoln-usd", name="Lincoln USD", mfa_policy=Organization.MfaPolicy.NOBODY
    )
    user = member(org, Role.ORG_ADMIN, email=EMAIL)
    EmailAddress.objects.create(user=user, email=EMAIL, verified=True, primary=True)
    page.goto("/accounts/login/")
    page_checked(page)
    page.get_by_label("Email address", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/o/lincoln-usd/$"))
    page_checked(page)


def test_admin_creates_copies_and_revokes_an_api_key(
    live_server: Any, page: Page, page_checked: Callable[[Page], Page]
) -> None:
    sign_in_as_admin(page, page_checked)
    page.get_by_role("navigation", name="Lincoln USD").get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API keys")
    expect(page.get_by_text("This organization has no API keys yet.")).to_be_visible()
    page_checked(page)

    # a bad name keeps the other choices and says what is wrong, next to the field
    page.get_by_label("Role").select_option(label="Privacy officer")
    page.get_by_role("button", name="Create API key").click()
    expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Role")).to_have_value("privacy_officer")
    page_checked(page)

    page.get_by_label("Name").fill("SIS sync")
    page.get_by_role("button", name="Create API key").click()
    token_field = page.get_by_label("API key", exact=True)
    expect(token_field).to_have_value(re.compile(r"^k12_[0-9a-f]{12}_"))
    expect(page.get_by_text("It is shown only this once")).to_be_visible()
    page_checked(page)
    token = token_field.input_value()

    # back to the list (a reload would resend the form and make a second key)
    page.get_by_role("navigation", name="Lincoln USD").get_by_role("link", name="API keys").click()
    expect(page.get_by_label("API key", exact=True)).to_have_count(0)
    assert token not in page.content()
    row = page.get_by_role("row").filter(has_text="SIS sync")
    expect(row).to_contain_text("Privacy officer")
    expect(row).to_contain_text("Never")  # not used yet
    row.get_by_role("link", name="Revoke SIS sync").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Revoke API key")
    page_checked(page)
    page.get_by_role("button", name="Revoke this key").click()
    expect(page.get_by_role("status")).to_contain_text("is revoked")
    expect(page.get_by_role("row").filter(has_text="SIS sync")).to_contain_text("Revoked")
    page_checked(page)


def test_single_sign_on_entry_explains_an_unknown_domain(
    live_server: Any, page: Page, page_checked: Callable[[Page], Page]
) -> None:
    page.goto("/accounts/login/")
    page_checked(page)
    page.get_by_role("link", name="Sign in with your organization's Google or Microsoft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Sign in with your organization's account"
    )
    page_checked(page)
    page.get_by_label("Work email address").fill("someone@elsewhere.example")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("Work email address")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("not set up for this address")).to_be_visible()
    page_checked(page)
