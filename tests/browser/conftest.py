"""Fixtures for browser journeys: Debian's Chromium through Playwright's sync API.

    browser        one headless Chromium for the session (/usr/bin/chromium)
    context, page  a fresh context and page per test, with base_url = live_server.url
    page_checked   page_checked(page) runs axe (WCAG 2.0/2.1 A and AA) on the current page
                   and fails listing the violations; call it after every navigation. It
                   also fails when the server has answered any request with a 5xx.

Every document a test's page shows must be checked: the `page` fixture fails a test that
visited a page it never passed to `page_checked`. On a failure the page is saved as a
screenshot under test-artifacts/.

No Chromium at /usr/bin/chromium is a failure, not a skip, unless K12CLOUD_SKIP_BROWSER=1.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Response,
    sync_playwright,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
TIMEOUT_MS = 10_000

_reports = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    item.stash.setdefault(_reports, {})[report.when] = report
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    reports = request.node.stash.get(_reports, {})
    return any(report.failed for report in reports.values())


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where screenshots go (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        message = (
            f"{CHROMIUM} is missing: browser journeys need Debian's chromium package "
            "(apt-get install chromium). Set K12CLOUD_SKIP_BROWSER=1 to skip them instead."
        )
        if os.environ.get("K12CLOUD_SKIP_BROWSER") == "1":
            pytest.skip(message)
        pytest.fail(message, pytrace=False)
    # While Playwright's sync API is up, this thread has an asyncio loop marked as running, so
    # Django's async-safety guard would refuse every ORM call of the tests (factories, the
    # flush between tests). The tests are plain synchronous code: the guard is a false alarm.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as instance:
            yield instance
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser, live_server: Any) -> Iterator[BrowserContext]:
    context = browser.new_context(
        base_url=live_server.url,
        locale="en-US",
        viewport={"width": 1280, "height": 800},
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    yield context
    context.close()


class AccessibilityAudit:
    """Runs axe on pages and remembers which documents were visited and which were checked."""

    def __init__(self) -> None:
        self.axe = Axe()
        self.visited: list[str] = []
        self.checked: set[str] = set()
        self.server_errors: list[str] = []

    def watch(self, page: Page) -> None:
        def navigated(frame: Any) -> None:
            if frame == page.main_frame:
                url = urldefrag(frame.url).url
                if url not in self.visited:
                    self.visited.append(url)

        def responded(response: Response) -> None:
            if response.status >= 500:
                request = response.request
                self.server_errors.append(f"{response.status} for {request.method} {request.url}")

        page.on("framenavigated", navigated)
        page.on("response", responded)

    def check(self, page: Page) -> Page:
        page.wait_for_load_state("load")
        if self.server_errors:
            pytest.fail(
                "the server answered with an error (its traceback is in the captured log): "
                + "; ".join(self.server_errors),
                pytrace=False,
            )
        results = self.axe.run(
            page,
            options={
                "runOnly": {"type": "tag", "values": WCAG_TAGS},
                "resultTypes": ["violations"],
            },
        )
        self.checked.add(urldefrag(page.url).url)
        violations = results.response["violations"]
        if violations:
            pytest.fail(describe_violations(page, violations), pytrace=False)
        return page

    def unchecked(self) -> list[str]:
        return [url for url in self.visited if url not in self.checked]


def describe_violations(page: Page, violations: list[dict[str, Any]]) -> str:
    lines = [f"axe found {len(violations)} WCAG 2.x A/AA violation(s) on {page.url}:"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact')}): {violation['help']}"
            f" [{violation['helpUrl']}]"
        )
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            html = re.sub(r"\s+", " ", node.get("html") or "")[:160]
            lines.append(f"    target {target}   {html}")
            for detail in (node.get("failureSummary") or "").splitlines():
                if detail.strip():
                    lines.append(f"      {detail.strip()}")
    return "\n".join(lines)


@pytest.fixture
def a11y_audit() -> AccessibilityAudit:
    return AccessibilityAudit()


@pytest.fixture
def page(
    context: BrowserContext,
    a11y_audit: AccessibilityAudit,
    artifacts_dir: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Page]:
    page = context.new_page()
    a11y_audit.watch(page)
    yield page
    failed = _failed(request)
    if failed:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        page.screenshot(path=artifacts_dir / f"{name}-failure.png", full_page=True)
    page.close()
    missed = a11y_audit.unchecked()
    if missed and not failed:
        pytest.fail(
            "pages visited without an axe check (call page_checked(page) after each "
            "navigation): " + ", ".join(missed),
            pytrace=False,
        )


@pytest.fixture
def page_checked(a11y_audit: AccessibilityAudit) -> Callable[[Page], Page]:
    """`page_checked(page)`: fail unless axe finds no WCAG 2.0/2.1 A/AA violation."""
    return a11y_audit.check
