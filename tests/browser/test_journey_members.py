"""Journeys: an admin invites a viewer who accepts; a deactivated member's open session ends.

The admin's browser is signed in by a session cookie made with the test client (password and
second factor already done), so these journeys do not depend on the sign-in and MFA pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, expect

from accounts.models import Membership, Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from k12cloud.tenancy import tenant_context
from tests.browser.conftest import TIMEOUT_MS, AccessibilityAudit, _failed
from tests.browser.test_journey_mfa import code_from_key

pytestmark = pytest.mark.browser


@pytest.fixture
def lincoln() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


@pytest.fixture
def open_page(
    browser: Browser,
    live_server: Any,
    a11y_audit: AccessibilityAudit,
    artifacts_dir: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Callable[[User | None], Page]]:
    """open_page(user): a page in a browser context of its own, signed in as `user`."""
    contexts: list[BrowserContext] = []

    def open_as(user: User | None) -> Page:
        context = browser.new_context(base_url=live_server.url, locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        if user is not None:
            client = sign_in(Client(), user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
            )
        page = context.new_page()
        a11y_audit.watch(page)
        return page

    yield open_as
    failed = _failed(request)
    for n, context in enumerate(contexts):
        if failed:
            for page in context.pages:
                name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
                page.screenshot(path=artifacts_dir / f"{name}-{n}-failure.png", full_page=True)
        context.close()
    missed = a11y_audit.unchecked()
    if missed and not failed:
        pytest.fail(f"pages visited without an axe check: {missed}", pytrace=False)


def test_admin_invites_and_the_viewer_accepts(
    live_server: Any,
    lincoln: Organization,
    open_page: Callable[[User | None], Page],
    page_checked: Callable[[Page], Page],
) -> None:
    admin = member(lincoln, Role.ORG_ADMIN, email="ada@lincoln.example", full_name="Ada Admin")
    admin_page = open_page(admin)

    admin_page.goto("/o/lincoln-usd/members/")
    expect(admin_page.get_by_role("heading", level=1)).to_have_text("Members")
    page_checked(admin_page)
    admin_page.get_by_role("link", name="Invite a member").click()
    expect(admin_page.get_by_role("heading", level=1)).to_have_text("Invite a member")
    page_checked(admin_page)

    # a mistake first: the error is tied to its field and what was typed stays
    admin_page.get_by_label("Email address").fill("nia.example.org")
    admin_page.get_by_role("button", name="Send invitation").click()
    email_field = admin_page.get_by_label("Email address")
    expect(email_field).to_have_attribute("aria-invalid", "true")
    expect(admin_page.locator("#id_email_error")).to_contain_text("valid email")
    expect(email_field).to_have_value("nia.example.org")
    page_checked(admin_page)

    email_field.fill("nia@example.org")
    admin_page.get_by_label("Role").select_option(label="Viewer")
    admin_page.get_by_role("button", name="Send invitation").click()
    expect(admin_page.get_by_role("heading", level=1)).to_have_text("Pending invitations")
    expect(admin_page.get_by_role("status")).to_contain_text("Invitation sent to nia@example.org")
    expect(admin_page.get_by_role("cell", name="nia@example.org", exact=True)).to_be_visible()
    page_checked(admin_page)

    (message,) = mail.outbox
    link = re.search(r"https?://\S+/invitations/[\w-]+/", message.body).group(0)  # type: ignore[union-attr]
    assert link.startswith(live_server.url)

    invitee = open_page(None)
    invitee.goto(link)
    expect(invitee.get_by_role("heading", level=1)).to_have_text("Join Lincoln USD")
    page_checked(invitee)
    invitee.get_by_label("Full name").fill("Nia Newcomer")
    invitee.get_by_label("Password", exact=True).fill("violet-lantern-orbit-42")
    invitee.get_by_label("Password (again)").fill("violet-lantern-orbit-42")
    invitee.get_by_role("button", name="Create account and join").click()
    expect(invitee).to_have_url(f"{live_server.url}/o/lincoln-usd/")
    expect(invitee.get_by_role("heading", level=1)).to_have_text("Lincoln USD")
    expect(invitee.get_by_text("You are signed in as Viewer.")).to_be_visible()
    expect(invitee.get_by_role("status")).to_contain_text("Welcome to Lincoln USD")
    page_checked(invitee)

    # the link worked once
    invitee.goto(link)
    expect(invitee.get_by_role("heading", level=1)).to_have_text(
        "This invitation link cannot be used"
    )
    page_checked(invitee)

    admin_page.goto("/o/lincoln-usd/members/")
    row = admin_page.get_by_role("row").filter(has_text="nia@example.org")
    expect(row).to_contain_text("Nia Newcomer")
    expect(row).to_contain_text("Viewer")
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("Not set up")
    page_checked(admin_page)


def test_a_deactivated_members_open_session_is_refused_on_its_next_request(
    live_server: Any,
    lincoln: Organization,
    open_page: Callable[[User | None], Page],
    page_checked: Callable[[Page], Page],
) -> None:
    admin = member(lincoln, Role.ORG_ADMIN, email="ada@lincoln.example", full_name="Ada Admin")
    viewer = member(lincoln, Role.VIEWER, email="val@lincoln.example", full_name="Val Viewer")
    with tenant_context(lincoln):
        membership_id = Membership.objects.get(user=viewer).pk

    viewer_page = open_page(viewer)
    viewer_page.goto("/o/lincoln-usd/")
    expect(viewer_page.get_by_text("You are signed in as Viewer.")).to_be_visible()
    page_checked(viewer_page)

    admin_page = open_page(admin)
    admin_page.goto(f"/o/lincoln-usd/members/{membership_id}/")
    expect(admin_page.get_by_role("heading", level=1)).to_have_text("Val Viewer")
    page_checked(admin_page)
    admin_page.get_by_role("button", name="Deactivate member").click()
    expect(admin_page.get_by_role("status")).to_contain_text("Member deactivated")
    expect(admin_page.get_by_role("button", name="Reactivate member")).to_be_visible()
    page_checked(admin_page)

    # the viewer's open dashboard, reloaded
    response = viewer_page.reload()
    assert response is not None and response.status == 404
    page_checked(viewer_page)
    viewer_page.goto("/")
    expect(
        viewer_page.get_by_text("You are not an active member of any organization.")
    ).to_be_visible()
    page_checked(viewer_page)


def test_invited_privacy_staff_enrols_mfa_then_signs_in_with_a_code(
    live_server: Any,
    lincoln: Organization,
    open_page: Callable[[User | None], Page],
    page_checked: Callable[[Page], Page],
) -> None:
    """Invite → accept → forced MFA enrolment → sign out → sign in with password and TOTP."""
    admin = member(lincoln, Role.ORG_ADMIN, email="ada@lincoln.example", full_name="Ada Admin")
    admin_page = open_page(admin)
    admin_page.goto("/o/lincoln-usd/members/invite/")
    page_checked(admin_page)
    admin_page.get_by_label("Email address").fill("pat@lincoln.example")
    admin_page.get_by_label("Role").select_option(label="Privacy staff")
    admin_page.get_by_role("button", name="Send invitation").click()
    expect(admin_page.get_by_role("status")).to_contain_text("Invitation sent")
    page_checked(admin_page)
    (message,) = mail.outbox
    link = re.search(r"https?://\S+/invitations/[\w-]+/", message.body).group(0)  # type: ignore[union-attr]

    newcomer = open_page(None)
    newcomer.goto(link)
    page_checked(newcomer)
    newcomer.get_by_label("Full name").fill("Pat Privacy")
    newcomer.get_by_label("Password", exact=True).fill("violet-lantern-orbit-42")
    newcomer.get_by_label("Password (again)").fill("violet-lantern-orbit-42")
    newcomer.get_by_role("button", name="Create account and join").click()

    # privacy staff must use a second factor under the default policy: enrolment comes first
    expect(newcomer).to_have_url(re.compile(r"/accounts/mfa/enrol/"))
    page_checked(newcomer)
    key_text = newcomer.locator("#setup-key").inner_text()
    newcomer.get_by_label("Six-digit code from the app").fill(code_from_key(key_text))
    newcomer.get_by_role("button", name="Turn on two-step verification").click()
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("Save your recovery codes")
    page_checked(newcomer)
    newcomer.get_by_role("link", name="I have saved these codes, continue").click()
    expect(newcomer).to_have_url(f"{live_server.url}/o/lincoln-usd/")
    expect(newcomer.get_by_text("You are signed in as Privacy staff.")).to_be_visible()
    page_checked(newcomer)

    newcomer.get_by_role("button", name="Sign out").click()
    page_checked(newcomer)
    newcomer.get_by_label("Email address", exact=True).fill("pat@lincoln.example")
    newcomer.get_by_label("Password", exact=True).fill("violet-lantern-orbit-42")
    newcomer.get_by_role("button", name="Sign in", exact=True).click()
    expect(newcomer).to_have_url(f"{live_server.url}/accounts/mfa/verify/")
    page_checked(newcomer)
    # the enrolment used this time step's code; a code is never accepted twice
    newcomer.get_by_label("Authentication code").fill(code_from_key(key_text, steps_ahead=1))
    newcomer.get_by_role("button", name="Verify", exact=True).click()
    expect(newcomer).to_have_url(f"{live_server.url}/o/lincoln-usd/")
    expect(newcomer.get_by_text("You are signed in as Privacy staff.")).to_be_visible()
    page_checked(newcomer)

    # the admin sees the new member with two-step verification set up
    admin_page.goto("/o/lincoln-usd/members/")
    row = admin_page.get_by_role("row").filter(has_text="pat@lincoln.example")
    expect(row).to_contain_text("Privacy staff")
    expect(row).not_to_contain_text("Not set up")
    page_checked(admin_page)
