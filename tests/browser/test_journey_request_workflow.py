"""Journey: staff enter a phone request, verify, acknowledge, start work, try an on-hold the rule
forbids, extend with a reason, add a message and fulfil it; every page checked with axe."""

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
from privacy_requests.models import PrivacyRequest
from privacy_requests.rules.models import JurisdictionRule, OrganizationRuleSelection

pytestmark = pytest.mark.browser


def signed_in_as(context: BrowserContext, live_server: Any, user: Any) -> None:
    """The browser carries a session made by the test client (password and second factor)."""
    cookie = sign_in(Client(), user).cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


def test_staff_work_a_phone_request_to_fulfilment(
    live_server: Any,
    context: BrowserContext,
    page: Page,
    page_checked: Callable[[Page], Page],
) -> None:
    if not JurisdictionRule.objects.exists():  # a transactional test flushed the rules table
        importlib.import_module("privacy_requests.migrations.0003_load_reference_rules").load(
            apps, None
        )
    lincoln = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD", subdivision="CA")
    with tenant_context(lincoln):
        OrganizationRuleSelection.objects.create(organization=lincoln, rule_id="ccpa")
    officer = member(lincoln, Role.PRIVACY_OFFICER, full_name="Olive Officer")
    signed_in_as(context, live_server, officer)

    # intake: a mistake first, then the phone request
    page.goto("/o/lincoln-usd/requests/new/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter a request")
    page_checked(page)
    page.get_by_label("How did the request arrive?").select_option("phone")
    page.get_by_label("What is asked for?").select_option("access")
    page.get_by_label("Requester's relationship to the person").select_option("parent")
    page.get_by_role("button", name="Record the request").click()
    name = page.get_by_label("Requester's name")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_requester_name_error")).to_be_visible()
    page_checked(page)
    name.fill("Rosa Parent")
    page.get_by_label("Requester's email address").fill("rosa.parent@example.org")
    page.get_by_label("Name of the person the data is about").fill("Sam Student")
    page.get_by_role("button", name="Record the request").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Request R-")
    expect(page.get_by_text("Binding rule", exact=True)).to_be_visible()
    page_checked(page)

    # verify identity (a staff decision), then acknowledge with the template text
    verify = page.locator("#verify_form")
    verify.get_by_label("How was identity checked?").select_option("records_match")
    verify.get_by_label("What was checked").fill("Address and birth date matched the SIS.")
    verify.get_by_role("button", name="Record verification").click()
    expect(page.get_by_text("Identity verified.", exact=True)).to_be_visible()
    page_checked(page)
    acknowledge = page.locator("#acknowledge_form")
    expect(acknowledge.get_by_label("Message to the requester")).to_contain_text(
        "We have received your privacy request"
    )
    acknowledge.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Receipt acknowledged.")).to_be_visible()
    page_checked(page)

    # start work; the menu offers only legal moves: no "on hold" (CCPA does not allow
    # stopping the clock) and nothing "unverified" once identity is verified
    status = page.locator("#transition_form")
    status.get_by_label("New status").select_option("in_progress")
    status.get_by_role("button", name="Change status").click()
    expect(page.locator(".lede")).to_contain_text("In progress")
    page_checked(page)
    offered = page.locator("#transition_form").get_by_label("New status")
    expect(offered.locator("option")).to_have_text(["Withdrawn by the requester"])

    # extend once, with a reason; the form shows the notice the requester is sent
    expect(page.locator(".notice-preview")).to_contain_text("We will respond by")
    extend = page.locator("#extend_form")
    extend.get_by_label("Reason for the extension").fill("The records are in the archive.")
    extend.get_by_role("button", name="Extend").click()
    expect(page.get_by_text("Deadline extended.")).to_be_visible()
    expect(page.get_by_text("Extended to", exact=True)).to_be_visible()
    expect(page.locator("#extend_form")).to_have_count(0)  # once only
    page_checked(page)

    # a message to the requester, then fulfil
    message = page.locator("#message_form")
    message.get_by_label("Kind").select_option("to_requester")
    message.get_by_label("Text").fill("Your records are ready.")
    message.get_by_role("button", name="Add").click()
    expect(page.get_by_text("Your records are ready.")).to_be_visible()
    page_checked(page)
    close = page.locator("#close_form")
    close.get_by_label("Outcome").select_option("fulfilled")
    close.get_by_role("button", name="Close the request").click()
    expect(page.get_by_text("Request closed.")).to_be_visible()
    expect(page.locator(".lede")).to_contain_text("Fulfilled")
    page_checked(page)

    with tenant_context(lincoln):
        done = PrivacyRequest.objects.get()
    assert done.status == "fulfilled" and done.extended_at is not None
