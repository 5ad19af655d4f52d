"""Journey: a privacy officer sees the bell's unread count, reads notifications, picks a digest.

Signed in by a session cookie (as the members journey), with an axe check on every page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import member
from k12cloud.notifications.models import NotificationPreference
from k12cloud.notifications.services import notify
from k12cloud.tenancy import tenant_context
from tests.browser.test_journey_members import lincoln, open_page  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


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
