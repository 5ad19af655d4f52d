"""Journey: an organization admin opens Retention from the navigation, reads the schedules,
shortens a period, places a legal hold (first with a mistake, corrected from the error
summary) and releases it; a viewer has no link. Axe on each page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in

pytestmark = pytest.mark.browser


def signed_in_as(context: BrowserContext, live_server: Any, user: Any) -> None:
    cookie = sign_in(Client(), user).cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


def test_admin_reads_schedules_and_places_and_releases_a_hold(
    live_server: Any,
    context: BrowserContext,
    page: Page,
    page_checked: Callable[[Page], Page],
) -> None:
    lincoln = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    admin = member(lincoln, Role.ORG_ADMIN, full_name="Ada Admin")
    signed_in_as(context, live_server, admin)

    page.goto("/o/lincoln-usd/")
    page_checked(page)
    navigation = page.get_by_role("navigation", name="Lincoln USD")
    navigation.get_by_role("link", name="Retention").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Data retention")
    page_checked(page)
    schedules = page.get_by_role("table", name="Schedules")
    expect(schedules.get_by_role("row", name="Audit events")).to_contain_text("2555 days")
    expect(navigation.get_by_role("link", name="Retention")).to_have_attribute(
        "aria-current", "page"
    )

    # shorten a period
    page.get_by_label("Data category", exact=True).select_option("notifications")
    page.get_by_label("Keep for (days)").fill("90")
    page.get_by_role("button", name="Save the period").click()
    expect(
        page.get_by_role("table", name="Schedules").get_by_role("row", name="Notifications")
    ).to_contain_text("90 days (shortened)")
    page_checked(page)

    # a mistake first: no reason
    page.get_by_label("End date").fill((timezone.localdate() + timedelta(days=60)).isoformat())
    page.get_by_role("button", name="Place the hold").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("The hold was not placed")
    page_checked(page)
    summary.get_by_role("link", name="Reason: This field is required.").click()
    expect(page.get_by_label("Reason")).to_be_focused()
    page.get_by_label("Reason").fill("Records request from the state auditor")
    page.get_by_label("End date").fill((timezone.localdate() + timedelta(days=60)).isoformat())
    page.get_by_role("button", name="Place the hold").click()

    holds = page.get_by_role("table", name="Legal holds")
    expect(holds.get_by_role("row", name="The whole organization")).to_contain_text("In force")
    page_checked(page)
    holds.get_by_role("button", name="Release").click()
    expect(holds.get_by_role("row", name="The whole organization")).to_contain_text("Released")
    page_checked(page)


def test_viewers_have_no_retention_link(
    live_server: Any,
    context: BrowserContext,
    page: Page,
    page_checked: Callable[[Page], Page],
) -> None:
    lincoln = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    viewer = member(lincoln, Role.VIEWER, full_name="Vic Viewer")
    signed_in_as(context, live_server, viewer)
    page.goto("/o/lincoln-usd/")
    page_checked(page)
    navigation = page.get_by_role("navigation", name="Lincoln USD")
    expect(navigation.get_by_role("link", name="Retention")).to_have_count(0)
