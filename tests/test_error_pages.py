"""400, 403, 404, 429 and 500 are styled pages in the visitor's language (issue #16, item 7)."""

from __future__ import annotations

import logging

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from k12cloud.views import server_error

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_errors")]

SENTENCES = {
    400: {
        "en": ("Bad request", "The page could not understand this request."),
        "es": ("Solicitud incorrecta", "La página no pudo entender esta solicitud."),
    },
    403: {
        "en": ("Access denied", "You do not have permission to see this page."),
        "es": ("Acceso denegado", "No tiene permiso para ver esta página."),
    },
    404: {
        "en": ("Page not found", "There is no page at this address."),
        "es": ("Página no encontrada", "No hay ninguna página en esta dirección."),
    },
    429: {
        "en": ("Too many requests", "You have sent too many requests in a short time."),
        "es": ("Demasiadas solicitudes", "Ha enviado demasiadas solicitudes en poco tiempo."),
    },
    500: {
        "en": ("Something went wrong", "The portal hit an error and could not finish"),
        "es": ("Algo salió mal", "El portal tuvo un error y no pudo completar"),
    },
}


def _assert_styled(response: object, status: int, language: str) -> str:
    assert response.status_code == status  # type: ignore[attr-defined]
    html = response.content.decode()  # type: ignore[attr-defined]
    heading, sentence = SENTENCES[status][language]
    assert f'<html lang="{language}">' in html
    assert '<header class="site-header">' in html
    assert 'class="brand"' in html and "k12cloud" in html
    assert f'<h1 id="error-heading">{heading}</h1>' in html
    assert sentence in html
    assert 'href="/"' in html  # the way back home
    return html


@pytest.mark.parametrize("status", [400, 403, 404, 429, 500])
@pytest.mark.parametrize("language", ["en", "es"])
def test_each_status_is_a_styled_page_in_the_visitors_language(status: int, language: str) -> None:
    client = Client(raise_request_exception=False)
    response = client.get(f"/errors/{status}/", HTTP_ACCEPT_LANGUAGE=language)
    _assert_styled(response, status, language)


@pytest.mark.parametrize("status", [404, 429, 500])
def test_lang_parameter_chooses_spanish_as_on_the_public_pages(status: int) -> None:
    client = Client(raise_request_exception=False)
    response = client.get(f"/errors/{status}/?lang=es", HTTP_ACCEPT_LANGUAGE="en")
    _assert_styled(response, status, "es")


def test_unmatched_url_is_the_styled_404_without_the_exception_text() -> None:
    response = Client().get("/no/such/page/")
    html = _assert_styled(response, 404, "en")
    assert "Page not found" in html
    # the Http404's own text may name a model or a lookup: never shown
    missing = Client().get("/errors/404/")
    assert "No Organization matches" not in missing.content.decode()


def test_400_does_not_echo_the_request() -> None:
    html = _assert_styled(Client().get("/errors/400/"), 400, "en")
    assert "secret input" not in html


def test_api_404_stays_json() -> None:
    response = Client().get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "No API endpoint has this URL."}


def test_the_refusal_message_reaches_the_user_with_the_navigation() -> None:
    organization = OrganizationFactory.create()
    viewer = member(organization, Role.VIEWER)
    client = sign_in(Client(), viewer)
    url = reverse("accounts:member_list", kwargs={"org_slug": organization.slug})
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    html = response.content.decode()
    assert '<h1 id="error-heading">Access denied</h1>' in html
    assert "Your role does not allow this page." in html
    assert "You do not have permission to see this page." not in html  # the specific reason wins
    assert viewer.email in html  # the signed-in header: profile, sign out
    assert 'aria-label="Your organizations"' in html and organization.name in html


def test_500_page_needs_no_database_or_request_context(
    django_assert_num_queries: object,
) -> None:
    # a bare request: no user, no session, no middleware; the page asks nothing of the database
    request = RequestFactory().get("/anything/")
    with django_assert_num_queries(0):  # type: ignore[operator]
        response = server_error(request)
    _assert_styled(response, 500, "en")


@pytest.mark.parametrize(
    ("url", "status"), [("/errors/403/", 403), ("/errors/404/", 404), ("/nope/", 404)]
)
def test_refusals_and_missing_pages_log_one_line_without_a_traceback(
    url: str, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = Client().get(url)
    assert response.status_code == status
    records = [r for r in caplog.records if r.name == "django.request"]
    if status == 403:  # Django logs a refusal; a 404 from a handler is logged once as well
        assert records, "the refusal is logged"
    assert all(r.exc_info is None and not r.exc_text for r in records)
    assert all(r.levelno == logging.WARNING for r in records)


def test_a_server_error_keeps_its_traceback_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="django.request"):
        Client(raise_request_exception=False).get("/errors/500/")
    errors = [r for r in caplog.records if r.name == "django.request"]
    assert errors and errors[0].exc_info is not None


def test_the_refusal_message_is_in_the_members_language() -> None:
    organization = OrganizationFactory.create()
    client = sign_in(Client(), member(organization, Role.VIEWER))
    url = reverse("accounts:member_list", kwargs={"org_slug": organization.slug})
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Su función no le permite ver esta página." in html
    assert "Your role does not allow this page." not in html


@pytest.mark.urls("k12cloud.urls")
def test_under_debug_a_views_404_is_the_styled_page_not_djangos(settings: object) -> None:
    """`make run` has DEBUG on: a page refused as not found looks as it does in production."""
    settings.DEBUG = True  # type: ignore[attr-defined]
    organization = OrganizationFactory.create()
    client = sign_in(Client(), member(organization, Role.PRIVACY_STAFF))
    response = client.get(f"/o/{organization.slug}/billing/", HTTP_ACCEPT_LANGUAGE="en")
    html = _assert_styled(response, 404, "en")
    assert "Django tried these URL patterns" not in html and "technical" not in html.lower()
    assert "No such page." not in html  # the exception's text stays hidden
