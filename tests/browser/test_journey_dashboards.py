"""Journey (issue #16 item 1): each role opens the organization dashboard, with seeded data, on
a 1280 px screen and on a 390 px phone: the role's panels, a figure followed to the queue it
counts, axe on every page, and no sideways page scroll at 390 px."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from accounts.models import ApiKey, Invitation, Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from billing.models import Subscription
from billing.tests.factories import annual_plan, invoice, purchase_order
from k12cloud.tenancy import tenant_context
from privacy_requests.models import RequestMessage
from privacy_requests.queue.selectors import organization_today
from privacy_requests.tests.factories import stored_request
from retention.models import LegalHold
from tests.browser.test_journey_small_screens import HEIGHT, WIDTH, assert_fits_the_screen

pytestmark = pytest.mark.browser

LONG_NAME = "Maximiliana Alexandrina Featherstonehaugh-Montgomery-Wolfeschlegelsteinhausen"
REPLY = "Thank you, here is the signed declaration you asked for about my daughter's records"

# what each role's dashboard must show: panel headings, and a phrase of each panel
EXPECTED: dict[Role, tuple[list[str], list[str]]] = {
    Role.PRIVACY_OFFICER: (["Privacy requests"], ["Assigned to me", "Latest replies"]),
    Role.PRIVACY_STAFF: (["Privacy requests"], ["Assigned to me", "Latest replies"]),
    Role.VIEWER: (["Privacy requests"], ["Next deadlines"]),
    Role.ORG_ADMIN: (
        ["Compliance posture", "Open requests", "Retention", "Billing"],
        ["have no second factor", "pending invitation", "Next de-identification"],
    ),
    Role.BILLING_CONTACT: (["Billing"], ["overdue invoice", "renews on", "valid today"]),
}


def seed(org: Organization, worker: User) -> None:
    today = organization_today(org)
    now = timezone.now()
    requests = [
        stored_request(
            org,
            next_due_on=today + timedelta(days=offset),
            status=status,
            assignee=worker if n % 2 else None,
            requester_name=f"{LONG_NAME} {n}",
        )
        for n, (offset, status) in enumerate(
            [(-4, "received"), (1, "verified"), (3, "acknowledged"), (20, "in_progress")]
        )
    ]
    with tenant_context(org):
        for row in requests[:3]:
            RequestMessage.objects.create(
                organization=org, request=row, direction="from_requester", body=REPLY * 3
            )
        Invitation.objects.create(
            organization=org,
            email="new.member@lincoln.example",
            role=Role.VIEWER,
            token_hash="a" * 64,
            expires_at=now + timedelta(days=5),
        )
        ApiKey.objects.create(
            organization=org,
            name="Student information system",
            role=Role.VIEWER,
            prefix="dashpfx1",
            secret_hash="0" * 64,
            expires_at=now + timedelta(days=12),
        )
        LegalHold.objects.create(
            organization=org,
            scope=LegalHold.Scope.CATEGORY,
            category="notifications",
            reason="Litigation",
            ends_on=timezone.localdate() + timedelta(days=60),
        )
        Subscription.objects.create(
            organization=org,
            stripe_subscription_id="sub_dashboard",
            plan=annual_plan(),
            status="active",
            current_period_start=now - timedelta(days=30),
            current_period_end=now + timedelta(days=335),
            created=now - timedelta(days=30),
            stripe_updated=now,
        )
    invoice(org, created=now - timedelta(days=45), number="K12-2026-0042-LONG-INVOICE-NUMBER")
    invoice(org, created=now - timedelta(days=3))
    purchase_order(org, "PO-2026-000123-DISTRICT-PURCHASING")


@pytest.mark.parametrize("role", list(EXPECTED), ids=lambda r: r.value)
def test_each_role_reads_its_dashboard_at_1280_and_390_px(
    role: Role,
    live_server: Any,
    context: BrowserContext,
    page: Page,
    page_checked: Callable[[Page], Page],
    artifacts_dir: Path,
) -> None:
    org = OrganizationFactory(
        slug="pinecrest-unified-school-district",
        name="Pinecrest Unified School District of the Northern Valley",
        mfa_policy=Organization.MfaPolicy.NOBODY,
    )
    user = member(org, role, email=f"{role.value}@pinecrest.example", full_name="Dana Member")
    worker = user if role in (Role.PRIVACY_OFFICER, Role.PRIVACY_STAFF) else member(org)
    member(org, Role.VIEWER)  # a member without a second factor
    seed(org, worker)
    cookie = sign_in(Client(), user).cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    headings, phrases = EXPECTED[role]

    page.goto(f"/o/{org.slug}/")
    for heading in headings:
        expect(page.get_by_role("heading", name=heading, level=2)).to_be_visible()
    for phrase in phrases:
        expect(page.get_by_text(phrase).first).to_be_visible()
    expect(page.get_by_text("will appear here")).to_have_count(0)
    if role == Role.VIEWER:
        expect(page.get_by_text(LONG_NAME)).to_have_count(0)
        expect(page.get_by_text(REPLY[:30])).to_have_count(0)
    if role in (Role.PRIVACY_OFFICER, Role.PRIVACY_STAFF):
        expect(page.get_by_text(REPLY[:30]).first).to_be_visible()
    page_checked(page)
    page.screenshot(path=artifacts_dir / f"dashboard-{role.value}-1280.png", full_page=True)

    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    page.reload()
    page_checked(page)
    page.screenshot(path=artifacts_dir / f"dashboard-{role.value}-390.png", full_page=True)
    assert_fits_the_screen(page)

    if role != Role.BILLING_CONTACT:
        # a figure leads to the queue showing exactly what it counts
        page.locator("#figure-overdue").click()
        expect(page).to_have_url(f"{live_server.url}/o/{org.slug}/requests/?overdue=on")
        expect(page.locator("tbody tr")).to_have_count(1)
        page_checked(page)
        assert_fits_the_screen(page)
