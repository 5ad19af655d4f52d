"""Journey (issue #16 item 8): an organization admin works the portal on a 390 px wide phone.

Every staff page of the journey fits the screen: the page itself never scrolls sideways (wide
tables scroll inside their own box), "Sign out" stays on screen, and axe passes at that width.
Screenshots of each page go to test-artifacts/small-screens-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import Page, expect

from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import TEST_PASSWORD, OrganizationFactory, member
from billing.tests.factories import annual_plan, invoice, stripe_customer
from k12cloud.tenancy import tenant_context
from privacy_requests.rules.models import OrganizationRuleSelection
from privacy_requests.tests.factories import received_request
from tests.browser.helpers import ensure_reference_rules

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 390, 844
LONG_NAME = "Maximiliana Alexandrina Featherstonehaugh-Montgomery-Wolfeschlegelsteinhausen"


# the innermost elements reaching past the right edge, to name the culprit in a failure
WIDER_THAN_THE_SCREEN = """() => {
  const past = (el) => el.getBoundingClientRect().right > window.innerWidth + 0.5;
  return [...document.querySelectorAll("body *")]
    .filter((el) => past(el) && ![...el.children].some(past))
    .slice(0, 5)
    .map((el) => el.outerHTML.slice(0, 160));
}"""


def assert_fits_the_screen(page: Page) -> None:
    page_width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert viewport == WIDTH
    if page_width > viewport:
        too_wide = page.evaluate(WIDER_THAN_THE_SCREEN)
        pytest.fail(f"{page.url} scrolls sideways ({page_width}px > {viewport}px): {too_wide}")
    sign_out = page.get_by_role("button", name="Sign out", exact=True)
    expect(sign_out).to_be_visible()
    box = sign_out.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, f"Sign out off screen: {box}"


def test_an_admin_works_every_staff_page_on_a_390px_screen(
    live_server: Any,
    page: Page,
    page_checked: Callable[[Page], Page],
    artifacts_dir: Path,
) -> None:
    ensure_reference_rules()
    org = OrganizationFactory(
        slug="pinecrest-unified-school-district",
        name="Pinecrest Unified School District of the Northern Valley",
        subdivision="CA",
        mfa_policy=Organization.MfaPolicy.NOBODY,
    )
    with tenant_context(org):
        OrganizationRuleSelection.objects.create(organization=org, rule_id="ccpa")
    email = "alexandra.administrator.longaddress@pinecrest-unified.example.org"
    admin = member(org, Role.ORG_ADMIN, email=email, full_name="Alexandra Administrator")
    EmailAddress.objects.create(user=admin, email=email, verified=True, primary=True)
    requests = [
        received_request(
            org,
            actor=admin,
            request_type=kind,
            requester_name=f"{LONG_NAME} {number}",
            requester_email=f"parent.with.a.very.long.address.{number}@families.example.org",
            subject_name=f"Studentname Withaverylongfamilyname-Andanotherone {number}",
        )
        for number, kind in enumerate(("access", "opt_out", "delete"), start=1)
    ]
    stripe_customer(org)
    annual_plan()
    invoice(org, number="K12-2026-0042-LONG-INVOICE-NUMBER")

    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    page.goto("/accounts/login/")
    page_checked(page)
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/o/{org.slug}/$"))

    base = f"/o/{org.slug}"
    first = requests[0].pk
    journey = {
        "dashboard": f"{base}/",
        "queue": f"{base}/requests/",
        "request": f"{base}/requests/{first}/",
        "fulfilment": f"{base}/requests/{first}/fulfilment/",
        "audit": f"{base}/audit/",
        "billing": f"{base}/billing/",
        "members": f"{base}/members/",
        "security": f"{base}/settings/",
    }
    for name, path in journey.items():
        response = page.goto(path)
        assert response is not None and response.status == 200, (name, path)
        page_checked(page)
        page.screenshot(path=artifacts_dir / f"small-screens-{name}.png", full_page=True)
        assert_fits_the_screen(page)
