"""Helpers the browser journeys share (the fixtures are in conftest.py)."""

from __future__ import annotations

import importlib
import re
from typing import Any

from django.apps import apps
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, BrowserContext

from accounts.tests.factories import sign_in
from privacy_requests.rules.models import JurisdictionRule


def signed_in_context(browser: Browser, live_server: Any, user: Any) -> BrowserContext:
    """A browser context of its own (its own cookies) carrying a session of `user`, made by
    the test client."""
    context = browser.new_context(
        base_url=live_server.url, locale="en-US", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    cookie = sign_in(Client(), user).cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    return context


def link_in(body: str, path_prefix: str) -> str:
    """The path of the first link in an email body that starts with `path_prefix`."""
    found = re.search(rf"https?://[^/\s]+({re.escape(path_prefix)}\S+)", body)
    assert found is not None, body
    return found.group(1)


def ensure_reference_rules() -> None:
    """The jurisdiction rules the data migration loads (an earlier transactional test may
    have flushed them)."""
    if not JurisdictionRule.objects.exists():
        importlib.import_module("privacy_requests.migrations.0003_load_reference_rules").load(
            apps, None
        )
