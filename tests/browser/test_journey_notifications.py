"""Journeys: a privacy officer sees the bell's unread count, reads notifications, picks a
digest; a new public request and a parent's reply light the privacy team's bells.

Signed in by a session cookie (as the members journey), with an axe check on every page.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.core import mail
from playwright.sync_api import Page, expect

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import member
from k12cloud.notifications.models import NotificationPreference
from k12cloud.notifications.services import notify
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from privacy_requests.rules.models import JurisdictionRule
from tests.browser.test_journey_members import lincoln, open_page  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

reference_migration = importlib.import_module(
    "privacy_requests.migrations.0003_load_reference_rules"
)


def test_the_bell_the_list_and_the_digest_choice(
    live_server: Any,
    lincoln: Organization,  # noqa: F811
    open_page: Callable[[User | None], Page],  # noqa: F811
    page_checked: Callable[[Page], Page],
) -> None:
    officer = member(lincoln, Role.PRIVACY_OFFICER, email="pat@lincoln.example")
    with tenant_context(lincoln):
        for title in ("PR-0007 is due Friday", "PR-0008 was assigned to you"):
            notify(
                organization=lincoln,
                recipients=[officer],
                kind="reminder",
                title=title,
                url="/o/lincoln-usd/",
            )
    page = open_page(officer)
    page.goto("/o/lincoln-usd/")
    bell = page.get_by_role("link", name="Notifications")
    expect(bell).to_contain_text("(2 unread)")
    page_checked(page)

    bell.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    expect(page.get_by_text("2 unread notifications.")).to_be_visible()
    page_checked(page)

    page.get_by_role("button", name="Mark as read: PR-0007 is due Friday").click()
    expect(page.get_by_text("1 unread notification.")).to_be_visible()
    expect(page.get_by_role("link", name="Notifications")).to_contain_text("(1 unread)")
    page_checked(page)

    page.get_by_role("button", name="Open: PR-0008 was assigned to you").click()
    expect(page).to_have_url(f"{live_server.url}/o/lincoln-usd/")
    expect(page.get_by_role("link", name="Notifications")).not_to_contain_text("unread")
    page_checked(page)

    page.goto("/o/lincoln-usd/notifications/")
    page_checked(page)
    page.get_by_role("link", name="Email settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notification email settings")
    page_checked(page)
    page.get_by_label("One digest email each morning").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved: One digest email each morning.")
    expect(page.get_by_label("One digest email each morning")).to_be_checked()
    page_checked(page)
    with tenant_context(lincoln):
        assert NotificationPreference.objects.get(user=officer).delivery == "digest"


def test_a_new_public_request_and_a_parents_reply_light_the_bell(
    lincoln: Organization,  # noqa: F811
    open_page: Callable[[User | None], Page],  # noqa: F811
    page_checked: Callable[[Page], Page],
    settings: Any,
) -> None:
    """Issue #16 item 2: the privacy team hears of a public request once its email is
    confirmed, and of the parent's reply from the portal."""
    settings.PRIVACY_INTAKE_RATE_LIMIT = 1000  # the browser is always 127.0.0.1
    if not JurisdictionRule.objects.exists():  # flushed by an earlier transactional test
        reference_migration.load(apps, None)
    officer = member(lincoln, Role.PRIVACY_OFFICER, email="pat@lincoln.example")
    staff = member(lincoln, Role.PRIVACY_STAFF, email="sam@lincoln.example")
    desks = {user.email: open_page(user) for user in (officer, staff)}

    def bell(desk: Page) -> Any:
        desk.goto("/o/lincoln-usd/")
        page_checked(desk)
        return desk.get_by_role("link", name="Notifications")

    for desk in desks.values():
        expect(bell(desk)).not_to_contain_text("unread")

    # --- a parent sends a request through the public form and confirms the address ---
    parent = open_page(None)
    parent.goto("/privacy/lincoln-usd/")
    page_checked(parent)
    parent.get_by_label("Inspect education records", exact=False).check()
    parent.get_by_label("I am a parent or guardian asking about my child").check()
    parent.get_by_label("Your full name").fill("Rosa Delgado")
    parent.get_by_label("Your email address").fill("rosa@example.org")
    parent.get_by_label("Their full name").fill("Mateo Delgado")
    parent.get_by_label("Their date of birth").fill("2015-04-02")
    parent.get_by_role("button", name="Send my request").click()
    expect(parent.get_by_role("heading", level=1)).to_have_text("Check your email")
    page_checked(parent)
    with tenant_context(lincoln):
        request = PrivacyRequest.objects.get()
    # not confirmed yet: it may be spam, nobody is told
    for desk in desks.values():
        expect(bell(desk)).not_to_contain_text("unread")

    [confirm] = mail.outbox
    parent.goto(link_in(confirm.body, "confirm"))
    page_checked(parent)
    parent.get_by_role("button", name="Confirm my request").click()
    expect(parent.get_by_role("heading", level=1)).to_have_text("Your email address is confirmed")
    page_checked(parent)
    for desk in desks.values():
        expect(bell(desk)).to_contain_text("(1 unread)")

    # --- the parent writes from the request's status page ---
    mail.outbox.clear()
    parent.goto("/privacy/lincoln-usd/status/")
    page_checked(parent)
    parent.get_by_label("Your email address").fill("rosa@example.org")
    parent.get_by_label("Request reference").fill(request.reference)
    parent.get_by_role("button", name="Email me a link").click()
    page_checked(parent)
    [portal] = mail.outbox
    parent.goto(link_in(portal.body, "portal"))
    page_checked(parent)
    parent.get_by_role("button", name="Open my request").click()
    parent.get_by_label("Your message").fill("Is there any news?")
    parent.get_by_role("button", name="Send my message").click()
    expect(parent.get_by_text("Is there any news?")).to_be_visible()
    page_checked(parent)

    # nobody is assigned: the whole privacy team hears of the reply
    for desk in desks.values():
        expect(bell(desk)).to_contain_text("(2 unread)")
    desk = desks[officer.email]
    bell(desk).click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("Notifications")
    expect(desk.get_by_text(f"The requester replied on {request.reference}")).to_be_visible()
    expect(desk.get_by_text(f"New privacy request {request.reference}")).to_be_visible()
    page_checked(desk)


def link_in(body: str, kind: str) -> str:
    found = re.search(rf"https?://[^/\s]+(/privacy/lincoln-usd/{kind}/\S+)", body)
    assert found is not None, body
    return found.group(1)
