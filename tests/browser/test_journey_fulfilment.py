"""Journey (issue #9's acceptance): a parent sends an access request in Spanish and confirms
their email; privacy staff find it at the top of the queue, verify, acknowledge, extend with a
reason, message the parent, prepare the package and fulfil; the parent opens the portal from
the email and downloads the package. Every page visited, in both browsers, is checked with axe.

The browser solves the public form's proof of work itself (static/js/privacy-intake.js); the
links come from the emails the server sent (the in-memory mail outbox).
"""

from __future__ import annotations

import importlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from privacy_requests.rules.models import JurisdictionRule, OrganizationRuleSelection
from privacy_requests.status import Status
from privacy_requests.tests.factories import received_request
from tests.browser.helpers import signed_in_context

pytestmark = pytest.mark.browser


def link_in(body: str, kind: str) -> str:
    found = re.search(rf"https?://[^/\s]+(/privacy/sierra-usd/{kind}/\S+)", body)
    assert found is not None, body
    return found.group(1)


def test_a_spanish_access_request_from_the_form_to_the_download(
    live_server: Any,
    browser: Browser,
    page: Page,
    page_checked: Callable[[Page], Page],
    a11y_audit: Any,
    settings: Any,
) -> None:
    settings.PRIVACY_INTAKE_RATE_LIMIT = 1000  # the browser is always 127.0.0.1
    if not JurisdictionRule.objects.exists():  # flushed by an earlier transactional test
        importlib.import_module("privacy_requests.migrations.0003_load_reference_rules").load(
            apps, None
        )
    district = OrganizationFactory(slug="sierra-usd", name="Sierra USD", subdivision="CA")
    with tenant_context(district):
        OrganizationRuleSelection.objects.create(organization=district, rule_id="ccpa")
    staff = member(district, Role.PRIVACY_STAFF, full_name="Pat Staff")
    # two requests already in the queue, due later than the parent's will be: opt-outs, due
    # in 15 business days (CCPA), where an access request must be acknowledged in 10. (A time
    # of receipt in the future is refused.)
    for number in (1, 2):
        received_request(
            district,
            actor=staff,
            request_type="opt_out",
            requester_email=f"later{number}@example.org",
        )

    # --- the parent, in Spanish ---
    page.goto("/privacy/sierra-usd/?lang=es")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Solicitud de privacidad a Sierra USD"
    )
    page_checked(page)
    page.get_by_label("Ver mi información", exact=False).check()
    page.get_by_label("Soy madre, padre o tutor y pregunto por mi hijo o hija").check()
    page.get_by_label("Su nombre completo").fill("Rosa Delgado")
    page.get_by_label("Su correo electrónico").fill("rosa@example.org")
    page.get_by_label("Nombre completo de la persona").fill("Mateo Delgado")
    page.get_by_label("Fecha de nacimiento de la persona").fill("2015-04-02")
    page.get_by_role("button", name="Enviar mi solicitud").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Revise su correo electrónico")
    page_checked(page)
    with tenant_context(district):
        request = PrivacyRequest.objects.get(requester_email_index__isnull=False, channel="web")
    assert (request.language, request.request_type) == ("es", "access")

    [confirmation] = mail.outbox
    page.goto(link_in(confirmation.body, "confirm"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirme su correo electrónico")
    page_checked(page)
    page.get_by_role("button", name="Confirmar mi solicitud").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Su correo electrónico está confirmado"
    )
    page_checked(page)

    # --- privacy staff, in their own browser ---
    staff_context = signed_in_context(browser, live_server, staff)
    desk = staff_context.new_page()
    a11y_audit.watch(desk)
    try:
        desk.goto("/o/sierra-usd/requests/")
        first_row = desk.locator("table tbody tr").first
        expect(first_row).to_contain_text(request.reference)  # the earliest deadline
        page_checked(desk)
        first_row.get_by_role("link", name=request.reference).click()
        expect(desk.get_by_role("heading", level=1)).to_have_text(f"Request {request.reference}")
        page_checked(desk)

        verify = desk.locator("#verify_form")
        verify.get_by_label("How was identity checked?").select_option("records_match")
        verify.get_by_label("What was checked").fill("Birth date matched the SIS.")
        verify.get_by_role("button", name="Record verification").click()
        expect(desk.get_by_text("Identity verified.", exact=True)).to_be_visible()
        page_checked(desk)

        desk.locator("#acknowledge_form").get_by_role("button", name="Acknowledge").click()
        expect(desk.get_by_text("Receipt acknowledged.")).to_be_visible()
        page_checked(desk)

        status = desk.locator("#transition_form")
        status.get_by_label("New status").select_option("in_progress")
        status.get_by_role("button", name="Change status").click()
        expect(desk.locator(".lede")).to_contain_text("In progress")
        page_checked(desk)

        extend = desk.locator("#extend_form")
        extend.get_by_label("Reason for the extension").fill("Los expedientes están archivados.")
        extend.get_by_role("button", name="Extend").click()
        expect(desk.get_by_text("Deadline extended.")).to_be_visible()
        page_checked(desk)

        message = desk.locator("#message_form")
        message.get_by_label("Kind").select_option("to_requester")
        message.get_by_label("Text").fill("Estamos preparando su información.")
        message.get_by_role("button", name="Add").click()
        expect(desk.get_by_text("Message added.")).to_be_visible()
        page_checked(desk)

        # prepare the package from the request page, then check its contents and fulfil
        desk.get_by_role("button", name="Prepare package").click()
        expect(desk.get_by_role("heading", level=1)).to_have_text(
            f"Fulfil request {request.reference}"
        )
        expect(desk.get_by_text("Package prepared.", exact=False)).to_be_visible()
        contents = desk.get_by_role("table")
        for name in ("data.json", "requests.csv", "messages.csv", "summary.html"):
            expect(contents).to_contain_text(name)
        page_checked(desk)

        mail.outbox.clear()
        desk.locator("#fulfil_form").get_by_role("button", name="Fulfil").click()
        expect(desk.get_by_text("Request fulfilled.", exact=False)).to_be_visible()
        expect(desk.locator(".lede")).to_contain_text("Fulfilled")
        page_checked(desk)
    finally:
        staff_context.close()

    # --- the parent downloads it through the portal ---
    [ready] = mail.outbox
    assert (
        ready.subject == f"Su información está lista: solicitud de privacidad {request.reference}"
    )
    page.goto(link_in(ready.body, "portal"))
    page_checked(page)
    page.get_by_role("button", name="Abrir mi solicitud").click()
    expect(page.get_by_role("heading", name="Su información", exact=True)).to_be_visible()
    expect(page.get_by_text("Estamos preparando su información.")).to_be_visible()
    page_checked(page)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Descargar sus datos").click()
    download = download_info.value
    assert download.suggested_filename == f"privacy-request-{request.reference}.zip"
    with open(download.path(), "rb") as file:
        archive = zipfile.ZipFile(io.BytesIO(file.read()))
    assert sorted(archive.namelist()) == sorted(
        [
            "data.json",
            "account.csv",
            "memberships.csv",
            "requests.csv",
            "messages.csv",
            "audit_events.csv",
            "billing_contacts.csv",
            "summary.html",
            "index.json",
        ]
    )
    data = json.loads(archive.read("data.json"))
    assert data["request_reference"] == request.reference
    [row] = data["sections"]["requests"]["rows"]
    assert (row["requester_name"], row["subject_name"]) == ("Rosa Delgado", "Mateo Delgado")
    bodies = [m["body"] for m in data["sections"]["messages"]["rows"]]
    assert "Estamos preparando su información." in bodies
    summary = archive.read("summary.html").decode()
    assert '<html lang="es">' in summary and "Su información" in summary

    with tenant_context(district):
        done = PrivacyRequest.objects.get(pk=request.pk)
    assert done.status == Status.FULFILLED and done.extended_at is not None
