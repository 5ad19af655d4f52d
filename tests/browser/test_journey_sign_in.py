"""Journey: a member of two districts signs in, opens one dashboard and switches to the other."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import Page, expect

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import TEST_PASSWORD, OrganizationFactory, member

pytestmark = pytest.mark.browser

EMAIL = "avery@lincoln.example"


def member_of_two_districts() -> User:
    # No second factor in this journey (test_journey_mfa.py has it): Lincoln's policy would
    # send its admin to MFA enrolment first.
    lincoln = OrganizationFactory(
        slug="lincoln-usd", name="Lincoln USD", mfa_policy=Organization.MfaPolicy.NOBODY
    )
    hudson = OrganizationFactory(slug="hudson-csd", name="Hudson CSD", time_zone="America/New_York")
    user = member(lincoln, Role.ORG_ADMIN, email=EMAIL, full_name="Avery Admin")
    member(hudson, Role.VIEWER, email=EMAIL)  # the same user: the factory gets by email
    # sign-in requires a verified address (ACCOUNT_EMAIL_VERIFICATION = "mandatory")
    EmailAddress.objects.create(user=user, email=EMAIL, verified=True, primary=True)
    return user


def test_member_signs_in_and_switches_organization(
    live_server: Any,
    page: Page,
    page_checked: Callable[[Page], Page],
    artifacts_dir: Path,
) -> None:
    member_of_two_districts()

    # "/" sends a visitor to the sign-in page
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the k12cloud portal")
    page_checked(page)

    page.get_by_label("Email address", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    with page.expect_response(lambda r: r.request.method == "POST") as sign_in:
        page.get_by_role("button", name="Sign in", exact=True).click()
    assert sign_in.value.status == 302, (
        f"signing in answered {sign_in.value.status} instead of redirecting "
        "(the server's traceback is in the captured log)"
    )

    # two memberships: the organization chooser at "/", sorted by name
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your organizations")
    chooser = page.get_by_role("main").get_by_role("link")
    expect(chooser).to_have_text(["Hudson CSD", "Lincoln USD"])
    page_checked(page)

    chooser.first.click()
    expect(page).to_have_url(f"{live_server.url}/o/hudson-csd/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hudson CSD")
    expect(page.get_by_text("You are signed in as Viewer.")).to_be_visible()
    page_checked(page)

    # keyboard: the first Tab lands on the skip link, which shows itself and leads to <main>
    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Skip to main content")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()

    # the organization switcher in the header
    switcher = page.get_by_role("navigation", name="Your organizations")
    summary = switcher.locator("summary")
    expect(summary).to_contain_text("Hudson CSD")
    to_lincoln = switcher.get_by_role("link", name="Lincoln USD")
    expect(to_lincoln).to_be_hidden()
    summary.click()
    expect(to_lincoln).to_be_visible()
    expect(switcher.get_by_role("link", name="Hudson CSD")).to_have_attribute(
        "aria-current", "page"
    )
    page_checked(page)  # again, with the switcher open
    page.screenshot(path=artifacts_dir / "journey-sign-in-switcher-open.png")

    to_lincoln.click()
    expect(page).to_have_url(f"{live_server.url}/o/lincoln-usd/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Lincoln USD")
    expect(page.get_by_text("You are signed in as Organization admin.")).to_be_visible()
    expect(page.get_by_role("heading", name="Members by role")).to_be_visible()
    expect(switcher.locator("summary")).to_contain_text("Lincoln USD")
    page_checked(page)
    page.screenshot(path=artifacts_dir / "journey-sign-in-dashboard.png", full_page=True)


def test_wrong_password_is_announced_on_the_sign_in_page(
    live_server: Any, page: Page, page_checked: Callable[[Page], Page]
) -> None:
    member_of_two_districts()

    page.goto("/accounts/login/")
    page_checked(page)
    page.get_by_label("Email address", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill("not-the-password")
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("alert")).to_contain_text("not correct")
    expect(page.get_by_label("Email address", exact=True)).to_have_value(EMAIL)
    page_checked(page)
