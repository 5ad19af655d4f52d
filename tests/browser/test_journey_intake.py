"""Journey: a parent sends a privacy request in Spanish and confirms their email address.

The browser solves the form's proof of work itself (static/js/privacy-intake.js); the
confirmation link comes from the email the server sent (the in-memory mail outbox).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.core import mail
from playwright.sync_api import Page, expect

from accounts.tests.factories import OrganizationFactory
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from privacy_requests.rules.models import JurisdictionRule
from privacy_requests.status import Status

pytestmark = pytest.mark.browser

reference_migration = importlib.import_module(
    "privacy_requests.migrations.0003_load_reference_rules"
)


def test_parent_submits_in_spanish_and_confirms_their_email(
    live_server: Any, page: Page, page_checked: Callable[[Page], Page], settings: Any
) -> None:
    # the browser is always 127.0.0.1, and the rate limit's counters outlive a test database
    settings.PRIVACY_INTAKE_RATE_LIMIT = 1000
    if not JurisdictionRule.objects.exists():  # flushed by an earlier transactional test
        reference_migration.load(apps, None)
    district = OrganizationFactory(slug="sierra-usd", name="Sierra USD", subdivision="CA")

    page.goto("/privacy/sierra-usd/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Privacy request to Sierra USD")
    page_checked(page)

    page.get_by_role("navigation", name="Language").get_by_role("link", name="Español").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Solicitud de privacidad a Sierra USD"
    )
    page_checked(page)

    # sending with nothing filled in: errors in Spanish, tied to their fields
    page.get_by_role("button", name="Enviar mi solicitud").click()
    expect(page.get_by_role("alert")).to_contain_text("Su solicitud todavía no se envió")
    expect(page.get_by_label("Su correo electrónico")).to_have_attribute("aria-invalid", "true")
    page_checked(page)

    page.get_by_label("Revisar los expedientes educativos", exact=False).check()
    page.get_by_label("Soy madre, padre o tutor y pregunto por mi hijo o hija").check()
    page.get_by_label("Su nombre completo").fill("Rosa Delgado")
    page.get_by_label("Su correo electrónico").fill("rosa@example.org")
    page.get_by_label("Nombre completo de la persona").fill("Mateo Delgado")
    page.get_by_label("Escuela de la persona (opcional)").fill("Escuela Sierra")
    page.get_by_label("Fecha de nacimiento de la persona").fill("2015-04-02")
    page.get_by_label("Algo más que debamos saber (opcional)").fill("Calificaciones de 2024")
    page.get_by_role("button", name="Enviar mi solicitud").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Revise su correo electrónico")
    with tenant_context(district):
        request = PrivacyRequest.objects.get()
        assert (request.language, request.request_type) == ("es", "ferpa_inspect")
        assert request.channel == PrivacyRequest.Channel.WEB
    expect(page.get_by_text(request.reference)).to_be_visible()
    page_checked(page)

    [email] = mail.outbox
    assert email.subject.startswith("Confirme su solicitud de privacidad")
    link = re.search(r"https?://[^/\s]+(/privacy/sierra-usd/confirm/\S+)", email.body)
    assert link is not None
    page.goto(link.group(1))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirme su correo electrónico")
    page_checked(page)

    page.get_by_role("button", name="Confirmar mi solicitud").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Su correo electrónico está confirmado"
    )
    page_checked(page)
    with tenant_context(district):
        request.refresh_from_db()
        assert request.email_confirmed_at is not None
        assert request.status == Status.AWAITING_VERIFICATION

    page.goto(link.group(1))  # the link works once
    expect(page.get_by_role("heading", level=1)).to_have_text("Este enlace no se puede usar")
    page_checked(page)
