"""Journey: a privacy officer opens the privacy metrics from the navigation, reads the chart's
table and downloads the CSV; privacy staff see it too, viewers have no link. Axe on each page."""

from __future__ import annotations

import csv
import importlib
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from k12cloud.tenancy import tenant_context
from privacy_requests.rules.models import JurisdictionRule
from privacy_requests.services import request_close, request_receive

pytestmark = pytest.mark.browser


def signed_in_as(context: BrowserContext, live_server: Any, user: Any) -> None:
    """The browser carries a session made by the test client (password and second factor)."""
    cookie = sign_in(Client(), user).cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


def test_officer_reads_and_exports_the_privacy_metrics(
    live_server: Any,
    context: BrowserContext,
    page: Page,
    page_checked: Callable[[Page], Page],
) -> None:
    if not JurisdictionRule.objects.exists():  # a transactional test flushed the rules table
        importlib.import_module("privacy_requests.migrations.0003_load_reference_rules").load(
            apps, None
        )
    lincoln = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    officer = member(lincoln, Role.PRIVACY_OFFICER, full_name="Olive Officer")
    with tenant_context(lincoln):
        for request_type, days_ago in (("access", 40), ("access", 20), ("delete", 10)):
            request = request_receive(
                organization=lincoln,
                request_type=request_type,
                channel="phone",
                relationship="parent",
                requester_name="Rosa Parent",
                received_at=timezone.now() - timedelta(days=days_ago),
            )
            if request_type == "delete":
                request_close(
                    request=request, actor=officer, outcome="denied", reason="No data held."
                )
    signed_in_as(context, live_server, officer)

    page.goto("/o/lincoln-usd/")
    page_checked(page)
    page.get_by_role("navigation", name="Lincoln USD").get_by_role("link", name="Metrics").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Privacy metrics")
    chart = page.get_by_role("img", name="Requests received, complied with and denied, by type")
    expect(chart).to_be_visible()
    page_checked(page)
    table = page.get_by_role("table", name="Figures")
    expect(table.get_by_role("row")).to_have_count(4)  # header, two types, the total
    access = table.get_by_role("row", name="Access (a copy of the data)")
    expect(access.get_by_role("cell").first).to_have_text("2")
    deletion = table.get_by_role("row", name="Deletion")
    expect(deletion.get_by_role("cell").nth(3)).to_have_text("1")  # denied
    expect(
        page.get_by_role("navigation", name="Lincoln USD").get_by_role("link", name="Metrics")
    ).to_have_attribute("aria-current", "page")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download these figures as CSV").click()
    rows = list(csv.DictReader(io.StringIO(download_info.value.path().read_text())))
    assert [(r["request_type"], r["received"], r["denied"]) for r in rows] == [
        ("access", "2", "0"),
        ("delete", "1", "1"),
        ("all", "3", "1"),
    ]


def test_viewers_have_no_metrics_link(
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
    expect(navigation.get_by_role("link", name="Requests")).to_be_visible()
    expect(navigation.get_by_role("link", name="Metrics")).to_have_count(0)
