"""Journey (issue #15, SIS part): a privacy officer adds a OneRoster CSV source, uploads a
malformed package (refused, the problem named by file, line and field), then a good one;
opens a parent's request, searches by name alone (refused), then by name and birth date
(one of the two Maria Garcias), confirms her, and sees her enrollments and the guardianship
check. Axe on every page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import BrowserContext, Page, expect

from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from privacy_requests.tests.factories import stored_request
from sources.tests.fixtures import oneroster_package

pytestmark = pytest.mark.browser


def signed_in_as(context: BrowserContext, live_server: Any, user: Any) -> None:
    cookie = sign_in(Client(), user).cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


def test_officer_uploads_a_package_and_confirms_the_requests_student(
    live_server: Any,
    context: BrowserContext,
    page: Page,
    page_checked: Callable[[Page], Page],
    tmp_path: Path,
) -> None:
    lincoln = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    officer = member(lincoln, Role.PRIVACY_OFFICER, full_name="Olga Officer")
    package = oneroster_package(schools=4, students_per_school=75)
    assert package.twins is not None
    _first, maria = package.twins
    request = stored_request(
        lincoln,
        relationship="parent",
        requester_name="Parent of Maria",
        requester_email=maria.guardian_email,
        subject_name="Maria Garcia",
        subject_birth_date=maria.birth_date,
    )
    signed_in_as(context, live_server, officer)

    page.goto("/o/lincoln-usd/")
    page_checked(page)
    page.get_by_role("navigation", name="Lincoln USD").get_by_role(
        "link", name="SIS sources"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("SIS sources")
    page_checked(page)
    page.get_by_label("Kind").select_option("oneroster_csv")
    page.get_by_label("Name", exact=True).fill("PowerSIS")
    page.get_by_role("button", name="Add the source").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("PowerSIS")
    page_checked(page)

    # a package with a bad birth date: refused, the problem named
    broken = tmp_path / "broken.zip"
    broken.write_bytes(
        oneroster_package(students_per_school=5, breaks=frozenset({"bad_birth_date"})).content
    )
    page.get_by_label("OneRoster CSV package (.zip)").set_input_files(str(broken))
    page.get_by_role("button", name="Import the package").click()
    expect(page.get_by_role("heading", name="Why the package was refused")).to_be_visible()
    problems = page.get_by_role("row", name="demographics.csv")
    expect(problems).to_contain_text("birthDate")
    expect(problems).to_contain_text("is not a date (YYYY-MM-DD)")
    page_checked(page)

    # the real export
    page.get_by_role("link", name="Back to PowerSIS").click()
    page_checked(page)
    good = tmp_path / "lincoln.zip"
    good.write_bytes(package.content)
    page.get_by_label("OneRoster CSV package (.zip)").set_input_files(str(good))
    page.get_by_role("button", name="Import the package").click()
    expect(page.get_by_role("table", name="Rows imported")).to_contain_text("users.csv")
    expect(
        page.get_by_role("table", name="Rows imported").get_by_role("row", name="demographics.csv")
    ).to_contain_text("300")
    page_checked(page)

    # the request's SIS page, from the request page
    page.goto(f"/o/lincoln-usd/requests/{request.pk}/")
    page_checked(page)
    page.get_by_role("link", name="SIS records: find and confirm the student").click()
    page_checked(page)
    page.get_by_label("First name").fill("Maria")
    page.get_by_label("Last name").fill("Garcia")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#id_birth_date_error")).to_contain_text("A name alone is not enough")
    expect(page.get_by_label("Birth date")).to_have_attribute("aria-invalid", "true")
    page_checked(page)
    page.get_by_label("Birth date").fill(maria.birth_date)
    page.get_by_role("button", name="Search", exact=True).click()
    candidates = page.get_by_role("table", name="Candidates")
    expect(candidates.get_by_role("row")).to_have_count(2)  # the header and one Maria
    expect(candidates).to_contain_text(maria.birth_date)
    expect(candidates).to_contain_text("Roosevelt Middle School 2")
    page_checked(page)
    candidates.get_by_role("button", name="Confirm Maria Garcia").click()
    expect(page.get_by_text("The student was confirmed for this request.")).to_be_visible()
    confirmed = page.get_by_role("region", name="Confirmed student")
    expect(confirmed).to_contain_text("The requester is a guardian linked in the SIS")
    expect(confirmed.get_by_role("table", name="Enrollments")).to_contain_text("Mathematics 2")
    page_checked(page)
