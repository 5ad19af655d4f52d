"""Journey: an organization admin reads, filters, pages through and exports the audit log."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import BrowserContext, Page, expect

from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from audit.actions import Action
from audit.context import Actor
from audit.services import record

pytestmark = pytest.mark.browser


def signed_in_as(context: BrowserContext, live_server: Any, user: Any) -> None:
    """The browser carries a session made by the test client (password and second factor)."""
    cookie = sign_in(Client(), user).cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


def test_admin_filters_pages_and_exports_the_audit_log(
    live_server: Any,
    context: BrowserContext,
    page: Page,
    page_checked: Callable[[Page], Page],
) -> None:
    lincoln = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    admin = member(lincoln, Role.ORG_ADMIN, email="ada@lincoln.example", full_name="Ada Admin")
    # more role changes than one page holds (50), by the system, then the admin's own events
    for n in range(55):
        record(
            Action.MEMBER_ROLE_CHANGED,
            organization=lincoln,
            target=("accounts.membership", n),
            changes={"role": ["viewer", "privacy_staff"]},
            actor=Actor.system("journey"),
        )
    signed_in_as(context, live_server, admin)

    page.goto("/o/lincoln-usd/")
    page_checked(page)
    page.get_by_role("navigation", name="Lincoln USD").get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    page_checked(page)
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(51)  # header + one page

    page.get_by_role("link", name="Older events").click()
    expect(page.get_by_role("link", name="Newer events")).to_be_visible()
    page_checked(page)

    # a filter with a mistake: the error names the field, nothing is listed
    page.get_by_label("Target type").fill("not a type")
    page.get_by_role("button", name="Show events").click()
    expect(page.get_by_label("Target type")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_target_type_error")).to_contain_text("app.model")
    page_checked(page)

    page.get_by_label("Target type").fill("accounts.membership")
    page.get_by_label("Target id").fill("7")
    page.get_by_role("button", name="Show events").click()
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("members.role_changed")
    page_checked(page)

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export CSV").click()
    exported = download_info.value.path().read_text()
    records = list(csv.DictReader(io.StringIO(exported)))
    assert [(r["action"], r["target_id"]) for r in records] == [("members.role_changed", "7")]
