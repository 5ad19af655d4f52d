"""Journey: repeated failed sign-ins lock an account; the admin unlocks it, or the lock lifts."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings as django_settings
from django.test import Client
from playwright.sync_api import BrowserContext, Page, expect

from accounts.models import Membership, Organization, User
from accounts.permissions import Role
from accounts.tests.factories import TEST_PASSWORD, OrganizationFactory, member, sign_in
from k12cloud.tenancy import tenant_context

pytestmark = pytest.mark.browser

EMAIL = "riley@lincoln.example"


def lincoln_with_viewer() -> tuple[Organization, User]:
    org = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    user = member(org, Role.VIEWER, email=EMAIL, full_name="Riley Viewer")
    EmailAddress.objects.create(user=user, email=EMAIL, verified=True, primary=True)
    return org, user


def act_as(context: BrowserContext, live_server: Any, user: User) -> None:
    """Give the browser a signed-in session of `user` (second factor passed), as tests do."""
    client = sign_in(Client(), user)
    key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": django_settings.SESSION_COOKIE_NAME, "value": key, "url": live_server.url}]
    )


def sign_in_with(page: Page, password: str) -> None:
    page.get_by_label("Email address", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def get_locked_out(page: Page, page_checked: Callable[[Page], Page]) -> None:
    page.goto("/accounts/login/")
    page_checked(page)
    for _ in range(4):
        sign_in_with(page, "not-the-password")
        expect(page.get_by_role("alert")).to_contain_text("not correct")
    page_checked(page)
    sign_in_with(page, "not-the-password")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in is locked for now")
    expect(page.get_by_role("alert")).to_contain_text("locked after 5 failed sign-in attempts")
    expect(page.get_by_text("administrator can unlock your account sooner")).to_be_visible()
    page_checked(page)
    # even the right password is refused while locked
    page.goto("/accounts/login/")
    sign_in_with(page, TEST_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in is locked for now")
    page_checked(page)


def test_admin_unlocks_a_locked_out_member(
    live_server: Any, context: BrowserContext, page: Page, page_checked: Callable[[Page], Page]
) -> None:
    org, viewer = lincoln_with_viewer()
    admin = member(org, Role.ORG_ADMIN, email="admin@lincoln.example", full_name="Ada Admin")
    with tenant_context(org):
        membership_id = Membership.objects.get(user=viewer).pk

    get_locked_out(page, page_checked)

    # the admin, in this browser, opens the member's page and unlocks them
    act_as(context, live_server, admin)
    page.goto(f"/o/lincoln-usd/members/{membership_id}/")
    section = page.get_by_role("region", name="Sign-in")
    expect(section).to_contain_text("Locked after repeated failed sign-ins")
    page_checked(page)
    section.get_by_role("button", name="Unlock sign-in now").click()
    expect(page).to_have_url(f"{live_server.url}/o/lincoln-usd/members/{membership_id}/")
    expect(page.get_by_role("status")).to_contain_text("Riley Viewer can sign in again.")
    expect(page.get_by_role("region", name="Sign-in")).to_contain_text("Not locked.")
    page_checked(page)

    # the member signs in again
    context.clear_cookies()
    page.goto("/accounts/login/")
    sign_in_with(page, TEST_PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/o/lincoln-usd/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Lincoln USD")
    page_checked(page)


def test_lock_lifts_by_itself_after_the_cool_off(
    live_server: Any, page: Page, page_checked: Callable[[Page], Page], settings: Any
) -> None:
    settings.AXES_COOLOFF_TIME = timedelta(seconds=3)
    lincoln_with_viewer()
    get_locked_out(page, page_checked)
    time.sleep(3.5)
    page.goto("/accounts/login/")
    sign_in_with(page, TEST_PASSWORD)
    expect(page).to_have_url(re.compile(r"/o/lincoln-usd/$"))
    page_checked(page)
