"""Journey (issue #19, the full export): an organization admin starts an export, watches the
progress bar move to 100 % without reloading (a real Celery worker runs the export), and
downloads the ZIP. Every page visited is checked with axe."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from playwright.sync_api import Page, expect

from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from exports.tests.seeding import clone_requests
from k12cloud.notifications.tests import processes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = 3000


def test_an_admin_starts_an_export_watches_it_reach_100_and_downloads_it(
    live_server: Any,
    page: Page,
    page_checked: Callable[[Page], Page],
    tmp_path: Path,
) -> None:
    org = OrganizationFactory.create(slug="lincoln-usd", name="Lincoln USD")
    admin = member(org, Role.ORG_ADMIN, email="admin@lincoln.example")
    clone_requests(org, ROWS)
    root = tmp_path / "exports"
    root.mkdir()
    queue = processes.new_queue()
    storages = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    cookie = sign_in(Client(), admin).cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    log = tmp_path / "worker.log"
    worker = processes.start_worker(
        queue,
        log,
        concurrency=1,
        EXPORTS_STORAGE_ROOT=str(root),
        EXPORTS_CHUNK_SIZE="100",  # the bar moves in 30 steps
    )
    try:
        with override_settings(STORAGES=storages, EXPORTS_QUEUE=queue):
            page.goto("/o/lincoln-usd/")
            page_checked(page)
            page.get_by_role("navigation", name="Lincoln USD").get_by_role(
                "link", name="Export"
            ).click()
            page_checked(page)
            expect(page.get_by_role("heading", name="Export your data")).to_be_visible()
            page.get_by_role("button", name="Start a full export").click()
            page_checked(page)
            expect(page.get_by_text("The export has started")).to_be_visible()
            bar = page.get_by_role("progressbar")
            expect(bar).to_be_visible()
            status = page.locator("#export-progress-text")
            # the same page, never reloaded: the bar and the counts follow the worker
            page.evaluate("window.__notReloaded = true")
            expect(status).to_contain_text(re.compile(r"of \d+ rows"))
            expect(status).to_contain_text("(100 %)", timeout=180_000)
            expect(bar).to_have_attribute("value", "100")
            expect(status).to_contain_text("Completed")
            assert page.evaluate("window.__notReloaded") is True
            done = page.locator("[data-rows-done]").inner_text()
            assert int(done) == int(page.locator("[data-rows-total]").inner_text()) >= ROWS
            download_button = page.get_by_role("button", name="Download the ZIP")
            expect(download_button).to_be_visible()
            page_checked(page)

            with page.expect_download() as downloading:
                download_button.click()
            saved = tmp_path / "export.zip"
            downloading.value.save_as(saved)
    finally:
        processes.kill(worker)

    with zipfile.ZipFile(saved) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        requests = archive.read("tables/privacy_requests.PrivacyRequest.jsonl").splitlines()
    assert manifest["organization"]["slug"] == "lincoln-usd"
    assert manifest["requested_by"]["email"] == "admin@lincoln.example"
    assert len(requests) == ROWS
