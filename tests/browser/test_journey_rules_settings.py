"""Journey: a privacy officer sets the organization's deadline rules (a rule choice, a contract
rule with a mistake corrected, a closure), sees an open request flagged, and applies the
recomputed dates from the request page. Every page passes axe."""

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
from privacy_requests.rules.models import ContractRule, JurisdictionRule
from privacy_requests.tests.factories import received_request

pytestmark = pytest.mark.browser


def test_officer_sets_deadline_rules_and_reviews_a_flagged_request(
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
    officer = member(lincoln, Role.PRIVACY_OFFICER, email="pia@lincoln.example")
    request = received_request(lincoln, request_type="delete", requester_name="Rosa Parent")
    cookie = sign_in(Client(), officer).cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )

    page.goto("/o/lincoln-usd/")
    page_checked(page)
    page.get_by_role("navigation", name="Lincoln USD").get_by_role(
        "link", name="Deadline rules"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Deadline rules")
    page_checked(page)

    # the rules that apply: add GDPR to the defaults
    page.get_by_label("General Data Protection Regulation (EU/UK)", exact=False).check()
    page.get_by_role("button", name="Save the rules").click()
    expect(page.get_by_text("The rules that apply were saved.")).to_be_visible()
    page_checked(page)

    # a contract rule, first with a mistake: the summary links to the field
    form = page.locator("#contract_form")
    form.get_by_label("Short name").fill("dpa-delete")
    form.get_by_label("Name", exact=True).fill("DPA deletion")
    form.get_by_label("Source").fill("District DPA §9")
    form.get_by_label("Deletion", exact=True).check()
    form.get_by_label("Respond within").fill("0")
    form.get_by_role("button", name="Save the contract rule").click()
    summary = page.locator("#contract_form-errors")
    expect(summary).to_be_visible()
    page_checked(page)
    summary.get_by_role("link", name="Respond within", exact=False).click()
    expect(page).to_have_url(
        f"{live_server.url}/o/lincoln-usd/settings/deadlines/contract-rules/#id_contract-respond_amount"
    )
    page.locator("#id_contract-respond_amount").fill("7")
    page.locator("#contract_form").get_by_role("button", name="Save the contract rule").click()
    expect(page.get_by_text("Contract rule “DPA deletion” saved.")).to_be_visible()
    expect(page.get_by_role("link", name="Edit DPA deletion")).to_be_visible()
    page_checked(page)
    with tenant_context(lincoln):
        assert ContractRule.objects.get().respond_amount == 7

    # a closed day
    closure = page.locator("#closure_form")
    closure.get_by_label("Closed on").fill("2026-12-24")
    closure.get_by_label("Reason (optional)").fill("Winter break")
    closure.get_by_role("button", name="Add the closed day").click()
    expect(page.get_by_text("2026-12-24 is recorded as closed.")).to_be_visible()
    expect(page.get_by_role("button", name="Remove Dec. 24, 2026")).to_be_visible()
    page_checked(page)

    # the open request was flagged: the queue says so, the request page offers the review
    page.get_by_role("navigation", name="Lincoln USD").get_by_role("link", name="Requests").click()
    expect(page.get_by_text("dates to review")).to_be_visible()
    page_checked(page)
    page.get_by_role("link", name=request.reference).click()
    expect(page.get_by_role("heading", name="Deadlines to review")).to_be_visible()
    page_checked(page)
    page.get_by_role("button", name="Apply the recomputed dates").click()
    expect(page.get_by_text("Dates reviewed.")).to_be_visible()
    expect(page.get_by_role("heading", name="Deadlines to review")).to_have_count(0)
    page_checked(page)
    with tenant_context(lincoln):
        stored = PrivacyRequest.objects.get(pk=request.pk)
    assert stored.deadline_snapshot_stale_since is None
    assert stored.deadlines["binding_rule"] == "contract:dpa-delete"
