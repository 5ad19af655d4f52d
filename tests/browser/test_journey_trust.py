"""Journeys (issue #18, trust center): ops staff publish a material DPA change in the admin; a
district admin sees the banner, reads the diff and accepts; a billing contact sees the
maintenance banner; the public status page shows the window and the availability bars.
Every page visited is checked with axe.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, UserFactory, member
from k12cloud.tenancy import tenant_context
from tests.browser.helpers import signed_in_context
from trust.banners import platform_banners_refresh
from trust.models import DpaAcceptance, HealthCheck, MaintenanceKind, MaintenanceWindow
from trust.tests.factories import DPA_V2, forget_trust_cache, published

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _clean_trust_cache() -> Iterator[None]:
    forget_trust_cache()
    yield
    forget_trust_cache()


def test_ops_publish_a_material_dpa_change_and_a_district_admin_accepts_it(
    live_server: Any,
    browser: Browser,
    page: Page,
    page_checked: Callable[[Page], Page],
) -> None:
    district = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    admin = member(district, Role.ORG_ADMIN, email="admin@lincoln.example")
    published(effective_on=timezone.now().date())  # version 1, in effect
    ops = UserFactory(email="ops@k12.example", is_staff=True, is_superuser=True)
    effective = (timezone.now() + timedelta(days=31)).date().isoformat()

    # --- ops staff draft version 2 and publish it in the admin ---
    ops_context = signed_in_context(browser, live_server, ops)
    ops_page = ops_context.new_page()
    ops_page.goto("/admin/trust/documentversion/add/")
    page_checked(ops_page)
    ops_page.get_by_label("Document").select_option("dpa")
    ops_page.get_by_label("Body (Markdown)").fill(DPA_V2)
    ops_page.get_by_label("Summary of changes").fill("Deletion within 30 days; breach notice.")
    ops_page.get_by_label("Material change").check()
    ops_page.get_by_label("Effective on (UTC date)").fill(effective)
    ops_page.get_by_role("button", name="Save", exact=True).click()
    page_checked(ops_page)
    ops_page.get_by_role("checkbox", name=re.compile("Data Processing Addendum draft")).check()
    ops_page.get_by_label("Action:").select_option("publish")
    ops_page.get_by_role("button", name="Go").click()
    page_checked(ops_page)
    expect(
        ops_page.get_by_text(re.compile("Published Data Processing Addendum v2"))
    ).to_be_visible()
    ops_context.close()

    # --- the district admin sees the banner, reads the diff, accepts ---
    admin_context = signed_in_context(browser, live_server, admin)
    admin_page = admin_context.new_page()
    admin_page.goto("/o/lincoln-usd/")
    page_checked(admin_page)
    banners = admin_page.get_by_role("region", name="Notices from k-12.cloud")
    expect(
        banners.get_by_text(
            f"Data Processing Addendum version 2 takes effect on {effective} (UTC)."
        )
    ).to_be_visible()
    expect(banners.get_by_text("Please review the Data Processing Addendum.")).to_be_visible()
    banners.get_by_role("link", name="What changed in Data Processing Addendum version 2").click()
    page_checked(admin_page)
    expect(admin_page.get_by_role("heading", level=1)).to_have_text(
        "What changed in Data Processing Addendum version 2"
    )
    expect(admin_page.get_by_text("Breaches are notified within 72 hours.")).to_be_visible()
    admin_page.goto("/o/lincoln-usd/")
    page_checked(admin_page)
    admin_page.get_by_role("link", name="Review and accept the DPA").click()
    page_checked(admin_page)
    expect(
        admin_page.get_by_text("Your organization has not accepted the DPA yet.")
    ).to_be_visible()
    # the admin accepts the announced version 2 (the one whose diff they read)
    version_2 = admin_page.get_by_role("region", name=re.compile("DPA version 2, effective"))
    version_2.get_by_role("checkbox").check()
    version_2.get_by_role("button", name="Accept DPA version 2").click()
    page_checked(admin_page)
    expect(
        admin_page.get_by_text("Accepted: DPA version 2. Your receipt is below.")
    ).to_be_visible()
    expect(admin_page.get_by_text("Your organization accepted DPA version 2.")).to_be_visible()
    expect(
        admin_page.get_by_role("link", name=re.compile(r"Signed receipt DPA-\d+-\d+ \(PDF\)"))
    ).to_be_visible()
    expect(admin_page.get_by_text("Please review the Data Processing Addendum.")).to_have_count(0)
    admin_context.close()
    with tenant_context(district):
        acceptance = DpaAcceptance.objects.get()
        assert acceptance.user_id == admin.pk and acceptance.ip_address == "127.0.0.1"
        assert acceptance.version.number == 2


def test_a_billing_contact_sees_the_maintenance_banner_and_the_status_page_shows_it(
    live_server: Any,
    browser: Browser,
    page: Page,
    page_checked: Callable[[Page], Page],
) -> None:
    district = OrganizationFactory(
        slug="lincoln-usd", name="Lincoln USD", kind=Organization.Kind.DISTRICT
    )
    billing = member(district, Role.BILLING_CONTACT, email="billing@lincoln.example")
    now = timezone.now().replace(second=0, microsecond=0)
    # scheduled a week ago for five days from now: announced in the portal from 7 days ahead
    MaintenanceWindow.objects.create(
        kind=MaintenanceKind.PLANNED,
        starts_at=now + timedelta(days=5),
        ends_at=now + timedelta(days=5, hours=2),
        services=["web", "api"],
        summary="Database upgrade",
    )
    HealthCheck.objects.bulk_create(
        HealthCheck(
            minute=now - timedelta(minutes=n),
            web=n not in (10, 11),
            database=True,
            redis=True,
            worker=True,
            beat=True,
        )
        for n in range(1, 3 * 24 * 60)
    )
    platform_banners_refresh()

    context = signed_in_context(browser, live_server, billing)
    billing_page = context.new_page()
    billing_page.goto("/o/lincoln-usd/")
    page_checked(billing_page)
    banner = billing_page.get_by_role("region", name="Notices from k-12.cloud")
    expect(banner.get_by_text("Planned maintenance:")).to_be_visible()
    expect(banner.get_by_text(re.compile("Database upgrade"))).to_be_visible()
    expect(banner.get_by_text(re.compile(r"\(America/Los_Angeles\)"))).to_be_visible()
    banner.get_by_role("link", name="Status page").click()
    page_checked(billing_page)
    expect(billing_page.get_by_role("heading", name="Service status")).to_be_visible()
    expect(billing_page.get_by_text(re.compile("Database upgrade"))).to_be_visible()
    bars = billing_page.get_by_role("img", name="Daily availability, last 90 days")
    expect(bars).to_be_visible()
    expect(bars.locator("rect")).to_have_count(90)
    expect(billing_page.get_by_text(re.compile(r"Last 30 days: 99\.9\d %"))).to_be_visible()
    billing_page.get_by_role("link", name="Español").click()
    page_checked(billing_page)
    expect(billing_page.get_by_role("heading", name="Estado del servicio")).to_be_visible()
    context.close()
