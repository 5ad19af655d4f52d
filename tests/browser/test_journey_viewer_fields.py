"""Journey: a viewer follows the queue and opens a request: references, statuses, deadlines
and the assignee, with every personal section marked as hidden for their role; the queue
does not offer the requester-email search. Every page passes axe."""

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
from k12cloud.tenancy import tenant_context
from privacy_requests.rules.models import JurisdictionRule
from privacy_requests.services import request_message_add, request_verify
from privacy_requests.tests.factories import received_request

pytestmark = pytest.mark.browser


def test_a_viewer_reads_the_register_and_no_personal_data(
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
    viewer = member(lincoln, Role.VIEWER, email="vic@lincoln.example", full_name="Vic Viewer")
    request = received_request(
        lincoln, requester_name="Rosa Parent", subject_name="Sam Student", details="Sam's file"
    )
    with tenant_context(lincoln):
        request_verify(request=request, actor=admin, method="in_person_id", evidence="ID 4471")
        request_message_add(request=request, actor=admin, direction="internal", body="Call Rosa")
    cookie = sign_in(Client(), viewer).cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )

    page.goto("/o/lincoln-usd/requests/")
    expect(page.get_by_role("link", name=request.reference)).to_be_visible()
    expect(page.get_by_text("hidden for your role")).to_be_visible()
    expect(page.get_by_label("Requester email")).to_have_count(0)
    expect(page.get_by_role("columnheader", name="Requester")).to_have_count(0)
    page_checked(page)

    page.get_by_role("link", name=request.reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(request.reference)
    expect(page.get_by_text("Evidence hidden for your role")).to_be_visible()
    expect(page.get_by_text("Content hidden for your role")).to_be_visible()
    body = page.content()
    for value in ("Rosa Parent", "Sam Student", "Sam's file", "ID 4471", "Call Rosa"):
        assert value not in body
    page_checked(page)
