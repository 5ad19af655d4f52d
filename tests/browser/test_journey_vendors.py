"""Journey (issue #15, vendors): district staff forward a parent's access request to BrightPath
(an organization here) and to QuizCraft (by email); BrightPath's privacy officer answers with
an export in BrightPath's own portal; QuizCraft answers "no records" through its emailed link;
the district sees both answers on the request. Every page visited is checked with axe.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, Page, expect

from accounts.tests.factories import sign_in
from k12cloud.notifications.models import OutboundEmail
from k12cloud.tenancy import tenant_context
from tests.browser.helpers import signed_in_context
from vendors.models import TaskStatus, VendorTask
from vendors.tests.factories import district_request, scene

pytestmark = pytest.mark.browser


def test_a_request_forwarded_to_two_vendors_and_answered_by_both(
    live_server: Any,
    browser: Browser,
    page: Page,
    page_checked: Callable[[Page], Page],
    tmp_path: Any,
) -> None:
    s = scene()
    pr = district_request(s.district, respond_by=date(2030, 6, 28))
    cookie = sign_in(Client(), s.district_staff).cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )

    # --- the district forwards the request ---
    page.goto(f"/o/lincoln-usd/requests/{pr.pk}/")
    page_checked(page)
    page.get_by_role("link", name="Forward to vendors and follow their answers").click()
    page_checked(page)
    page.get_by_label("BrightPath Learning").check()
    page.get_by_label("QuizCraft").check()
    page.get_by_label("Student's name").check()
    page.get_by_label("Student ID", exact=True).check()
    page.get_by_label("Student ID (if shared)").fill("S-100")
    page.get_by_label("Instructions to the vendor").fill("All reading logs, please.")
    page.get_by_role("button", name="Forward").click()
    page_checked(page)
    expect(
        page.get_by_role("heading", name=re.compile("BrightPath Learning · VT-"))
    ).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("QuizCraft · VT-"))).to_be_visible()

    # --- BrightPath answers in its own portal ---
    vendor = signed_in_context(browser, live_server, s.vendor_staff)
    vendor_page = vendor.new_page()
    vendor_page.goto("/o/brightpath/vendors/inbox/")
    page_checked(vendor_page)
    vendor_page.get_by_role("link", name=re.compile("VR-")).click()
    page_checked(vendor_page)
    expect(vendor_page.get_by_text("Student ID: S-100")).to_be_visible()
    expect(vendor_page.get_by_text("parent@example.org")).to_have_count(0)
    export = tmp_path / "maya-export.csv"
    export.write_text("student_id,reading_level\nS-100,B\n")
    vendor_page.get_by_label("Your answer").select_option("export")
    vendor_page.get_by_label(re.compile("Files")).set_input_files(str(export))
    vendor_page.get_by_role("button", name="Send the answer").click()
    page_checked(vendor_page)
    expect(vendor_page.get_by_text("Your answer was sent to Lincoln USD.")).to_be_visible()
    vendor.close()

    # --- QuizCraft answers through its emailed link ---
    with tenant_context(s.district):
        body = OutboundEmail.objects.get(template="vendors/email/task_link").body_text
    link = re.search(r"https?://[^/\s]+(/vendor-tasks/\S+)", body)
    assert link is not None
    off_portal = browser.new_context(base_url=live_server.url, locale="en-US")
    off_page = off_portal.new_page()
    off_page.goto(link.group(1))
    page_checked(off_page)
    off_page.get_by_role("button", name="Open the task").click()
    page_checked(off_page)
    off_page.get_by_role("combobox", name="Your answer").select_option("no_records")
    off_page.get_by_label(re.compile("Note")).fill("No account matches S-100.")
    off_page.get_by_label("Your name").fill("Dana Ortiz")
    off_page.get_by_label("Your email address").fill("dana@quizcraft.example")
    off_page.get_by_role("button", name="Send the answer").click()
    page_checked(off_page)
    expect(off_page.get_by_role("heading", name="Answer sent")).to_be_visible()
    off_portal.close()

    # --- the district sees both answers ---
    page.reload()
    page_checked(page)
    expect(page.get_by_text("maya-export.csv")).to_be_visible()
    expect(page.get_by_text("Dana Ortiz")).to_be_visible()
    with tenant_context(s.district):
        statuses = sorted(VendorTask.objects.values_list("status", flat=True))
    assert statuses == [TaskStatus.ANSWERED, TaskStatus.ANSWERED]
