"""Journey (issue #17, incidents): BrightPath (a vendor) records and confirms a breach affecting
Lincoln USD and Hudson CSD and notifies both through the portal; Hudson (New York) sees its
state-report and families legs dated from the receipt, acknowledges, uploads a family list and
sends the notice in English and Spanish, and the leg is met; Lincoln acknowledges too; the
vendor sees both acknowledgements. Every page visited is checked with axe.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from incidents.models import Incident, IncidentLeg, NoticeDelivery
from incidents.tests.factories import _rules_loaded, scene
from k12cloud.notifications.models import OutboundEmail
from k12cloud.tenancy import tenant_context
from tests.browser.helpers import signed_in_context

pytestmark = pytest.mark.browser

NEW_YORK = ZoneInfo("America/New_York")


def _end_of_day(moment: datetime, days: int) -> str:
    local = moment.astimezone(NEW_YORK).date() + timedelta(days=days)
    return datetime.combine(local, time(23, 59, 59), tzinfo=NEW_YORK).strftime("%Y-%m-%d %H:%M %Z")


def test_a_vendor_breach_cascades_to_two_districts_and_hudson_notifies_families(
    live_server: Any,
    browser: Browser,
    page_checked: Callable[[Page], Page],
    tmp_path: Any,
) -> None:
    _rules_loaded()
    s = scene()

    # --- BrightPath records the incident, confirms it and notifies both districts ---
    vendor = signed_in_context(browser, live_server, s.vendor_officer)
    page = vendor.new_page()
    page.goto("/o/brightpath/incidents/")
    page_checked(page)
    page.get_by_role("link", name="Record an incident").click()
    page_checked(page)
    discovered = (datetime.now(ZoneInfo("America/Chicago")) - timedelta(days=1)).replace(
        second=0, microsecond=0
    )
    page.get_by_label("Title").fill("Reading reports exposed")
    page.get_by_label("What happened").fill("A storage bucket with reading reports was public.")
    page.get_by_label("Student information").check()
    page.get_by_label("Discovered at").fill(discovered.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Affected people by state or province").fill("NY=300, CA=200")
    page.get_by_role("button", name="Record the incident").click()
    page_checked(page)
    expect(page.get_by_role("heading", name=re.compile(r"Incident IN-"))).to_be_visible()
    page.get_by_label("New status").select_option("confirmed")
    page.get_by_role("button", name="Change status").click()
    page_checked(page)
    expect(page.locator(".lede strong")).to_have_text("Confirmed breach")
    page.get_by_label("Lincoln USD").check()
    page.get_by_label("Hudson CSD").check()
    page.get_by_role("button", name="Notify the districts through the portal").click()
    page_checked(page)
    expect(page.get_by_text("The districts were notified through the portal.")).to_be_visible()

    with tenant_context(s.hudson):
        received = Incident.objects.for_organization(s.hudson).get()
    assert received.notice_received_at is not None

    # --- Hudson sees its legs from the receipt, acknowledges, uploads families, sends ---
    hudson = signed_in_context(browser, live_server, s.hudson_admin)
    hpage = hudson.new_page()
    hpage.goto("/o/hudson-csd/")
    page_checked(hpage)
    expect(hpage.get_by_role("heading", name="Security incidents")).to_be_visible()
    hpage.get_by_role("link", name="Open the incident register").click()
    page_checked(hpage)
    hpage.get_by_role("link", name=received.reference).click()
    page_checked(hpage)
    cpo_row = hpage.locator("#leg-ny-edlaw-2d-agency-to-cpo")
    expect(cpo_row.locator(".leg-due")).to_have_text(_end_of_day(received.notice_received_at, 10))
    families_row = hpage.locator("#leg-ny-edlaw-2d-agency-to-individuals")
    expect(families_row.locator(".leg-due")).to_have_text(
        _end_of_day(received.notice_received_at, 60)
    )
    expect(hpage.locator("#vendor-leg")).to_contain_text("on time")
    hpage.get_by_role("button", name="Acknowledge receipt").click()
    page_checked(hpage)

    families = tmp_path / "families.csv"
    families.write_text(
        "name,email,language\nAna Ruiz,ana@example.org,es\nBo Li,bo@example.org,en\n",
        encoding="utf-8",
    )
    hpage.get_by_label("Who is on the list").select_option("families")
    hpage.get_by_label("CSV file").set_input_files(str(families))
    hpage.get_by_role("button", name="Upload the list").click()
    page_checked(hpage)
    expect(hpage.get_by_text("2 recipients uploaded.")).to_be_visible()
    families_row.get_by_role("link", name="Prepare notice").click()
    page_checked(hpage)
    hpage.get_by_role("button", name="Save and preview").click()
    page_checked(hpage)
    expect(hpage.get_by_role("heading", name=re.compile("^English: "))).to_be_visible()
    expect(hpage.get_by_role("heading", name=re.compile("^Español: "))).to_be_visible()
    hpage.get_by_role("button", name="Send the notice").click()
    page_checked(hpage)
    expect(hpage.locator("#notice-status")).to_have_text("Sent")
    expect(hpage.locator("#sent")).to_have_text("2")
    hpage.get_by_role("link", name="Back to the incident").click()
    page_checked(hpage)
    expect(families_row.locator(".leg-countdown")).to_contain_text("met")
    with tenant_context(s.hudson):
        assert NoticeDelivery.objects.count() == 2
        subjects = {
            email.to: email.subject
            for email in OutboundEmail.objects.filter(template="incidents/email/notice")
        }
        assert IncidentLeg.objects.get(leg="agency-to-individuals").met_at is not None
    assert subjects["ana@example.org"].startswith("Aviso de un incidente de seguridad")
    assert subjects["bo@example.org"].startswith("Notice of a security incident")

    # --- Lincoln acknowledges; the vendor sees both acknowledgements ---
    lincoln = signed_in_context(browser, live_server, s.lincoln_officer)
    lpage = lincoln.new_page()
    lpage.goto("/o/lincoln-usd/incidents/")
    page_checked(lpage)
    lpage.get_by_role("link", name=re.compile("IN-")).click()
    page_checked(lpage)
    lpage.get_by_role("button", name="Acknowledge receipt").click()
    page_checked(lpage)

    page.reload()
    page_checked(page)
    rows = page.locator("td.ack")
    expect(rows).to_have_count(2)
    expect(page.get_by_role("row", name=re.compile("Hudson CSD"))).to_contain_text(
        s.hudson_admin.full_name
    )
    expect(page.get_by_role("row", name=re.compile("Lincoln USD"))).to_contain_text(
        s.lincoln_officer.full_name
    )
    for context in (vendor, hudson, lincoln):
        context.close()
