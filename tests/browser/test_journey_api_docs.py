"""Journey (issue #16, item 12): an integrator opens /api/docs/ and sees the API's operations.

The page used to stay blank: the Content Security Policy blocked drf-spectacular's inline
start-up script. Swagger UI now comes from our static files and starts from one
(k12cloud/api_docs.py); the browser reports no CSP violation and the operations list renders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect

from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in

pytestmark = pytest.mark.browser


def test_the_api_docs_render_their_operations_under_the_csp(
    live_server: Any, page: Page, page_checked: Callable[[Page], Page]
) -> None:
    org = OrganizationFactory(slug="lincoln-usd")
    admin = member(org, Role.ORG_ADMIN, email="admin@lincoln.example")
    cookie = sign_in(Client(), admin).cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(live_server.url) else outside.append(request.url)
        ),
    )

    response = page.goto("/api/docs/")
    assert response is not None and response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp

    # the operations, grouped by tag, as Swagger UI lists them
    operations = page.locator(".opblock-summary-path")
    expect(operations.first).to_be_visible()
    assert operations.count() >= 5
    paths = operations.all_inner_texts()
    assert any(path.startswith("/api/v1/") for path in paths), paths
    expect(page.get_by_role("heading", name="k12cloud portal API")).to_be_visible()
    page_checked(page)

    assert [text for text in console if "Content Security Policy" in text] == []
    assert outside == []  # Swagger UI's files are ours, not a CDN's
