"""Journey: an admin saves an IP allowlist that excludes their own address, confirms, and is
refused from then on with a clear page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from playwright.sync_api import BrowserContext, Page, expect

from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import unscoped_all_tenants

pytestmark = pytest.mark.browser


def test_allowlist_excluding_yourself_then_refusal(
    live_server: Any, context: BrowserContext, page: Page, page_checked: Callable[[Page], Page]
) -> None:
    org = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    admin = member(org, Role.ORG_ADMIN, email="admin@lincoln.example")
    key = sign_in(Client(), admin).cookies[django_settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": django_settings.SESSION_COOKIE_NAME, "value": key, "url": live_server.url}]
    )

    page.goto("/o/lincoln-usd/settings/network/")
    expect(page.get_by_role("heading", level=1)).to_have_text("IP allowlist")
    expect(page.get_by_text("Your current address: 127.0.0.1")).to_be_visible()
    page_checked(page)

    # a typo is pointed out by line, and nothing is saved
    page.get_by_label("Allowed networks").fill("203.0.113.0/24\n203.0.113.300")
    page.get_by_role("button", name="Save allowlist").click()
    expect(page.get_by_label("Allowed networks")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("Line 2: “203.0.113.300” is not an IPv4 or IPv6")).to_be_visible()
    page_checked(page)

    # the live server sees 127.0.0.1: a list without it needs explicit confirmation
    page.get_by_label("Allowed networks").fill("203.0.113.0/24")
    page.get_by_role("button", name="Save allowlist").click()
    expect(page.get_by_text("Your current address (127.0.0.1) is not in this list")).to_be_visible()
    confirm = page.get_by_label("I understand that I will lose access from my current address.")
    expect(confirm).not_to_be_checked()
    page_checked(page)
    confirm.check()
    page.get_by_role("button", name="Save allowlist").click()

    # saved: the redirect back to the settings page is already refused
    expect(page.get_by_role("heading", level=1)).to_have_text("Access refused from this network")
    expect(page.get_by_role("alert")).to_contain_text(
        "Lincoln USD allows its pages to be opened only from its approved networks"
    )
    expect(page.get_by_role("alert")).to_contain_text("127.0.0.1")
    page_checked(page)

    page.goto("/o/lincoln-usd/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Access refused from this network")
    page_checked(page)

    assert Organization.objects.get(slug="lincoln-usd").ip_allowlist == ["203.0.113.0/24"]
    with unscoped_all_tenants(reason="test reads audit events"):
        assert AuditEvent.objects.filter(action=Action.IP_ALLOWLIST_CHANGED.value).count() == 1
        assert AuditEvent.objects.filter(action=Action.ACCESS_REFUSED_BY_IP.value).count() == 2
