"""Journey: an admin reads the security settings pages and their own sessions, then the
privacy staff queue with a request in it. Every page passes axe."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client
from playwright.sync_api import BrowserContext, Page, expect

from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from privacy_requests.rules.models import JurisdictionRule
from privacy_requests.tests.factories import received_request

pytestmark = pytest.mark.browser


def test_admin_visits_security_settings_sessions_and_the_queue(
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
    admin = member(lincoln, Role.ORG_ADMIN, email="ada@lincoln.example", full_name="Ada Admin")
    request = received_request(lincoln, requester_name="Rosa Parent")
    cookie = sign_in(Client(), admin).cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    nav = page.get_by_role("navigation", name="Lincoln USD")

    page.goto("/o/lincoln-usd/")
    page_checked(page)
    nav.get_by_role("link", name="Security").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Security")
    page_checked(page)
    for link in ("Change session limits", "Set up single sign-on", "Edit the IP allowlist"):
        page.get_by_role("link", name=link).click()
        page_checked(page)
        page.go_back()
        page_checked(page)

    page.goto("/accounts/sessions/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page_checked(page)

    page.goto("/o/lincoln-usd/")
    nav = page.get_by_role("navigation", name="Lincoln USD")
    nav.get_by_role("link", name="Requests").click()
    expect(page.get_by_role("link", name=request.reference)).to_be_visible()
    expect(page.get_by_text("Rosa Parent")).to_be_visible()
    page_checked(page)
