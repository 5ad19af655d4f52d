"""The requester portal: /privacy/<org-slug>/status/ (ask for a link), the single-use link,
the portal session and its page (status, dates, messages, reply, files placeholder)."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail, signing
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context, unscoped_all_tenants
from privacy_requests.models import PrivacyRequest, RequesterToken, RequestMessage
from privacy_requests.portal.views import PORTAL_SESSION_KEY
from privacy_requests.services import request_close, request_message_add
from privacy_requests.tests.factories import received_request

pytestmark = pytest.mark.usefixtures("reference_rules")

EMAIL = "rosa.parent@example.org"
LINK = re.compile(r"http://testserver(/privacy/[^/\s]+/portal/[^/\s]+/\?lang=\w+)")


@pytest.fixture
def org(db: None) -> Organization:
    return OrganizationFactory(slug="maple-sd", name="Maple SD", subdivision="OR")


@pytest.fixture
def staff(org: Organization) -> User:
    return member(org, Role.PRIVACY_OFFICER, email="officer@maple.example")


@pytest.fixture
def client() -> Client:
    # a fresh address per test: the rate limit's counters live in Redis
    return Client(REMOTE_ADDR=f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.9")


@pytest.fixture
def privacy_request(org: Organization) -> PrivacyRequest:
    return received_request(org, requester_email=EMAIL, channel="web")


@pytest.fixture
def ask(client: Client, django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """POST the "email me a link" form."""

    def post(organization: Organization, email: str, reference: str, lang: str = "en") -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"/privacy/{organization.slug}/status/?lang={lang}",
                {"email": email, "reference": reference},
            )

    return post


def events(action: Action) -> int:
    with unscoped_all_tenants(reason="test counts audit events of every tenant"):
        return AuditEvent.objects.filter(action=action.value).count()


def link_in(message: Any) -> str:
    found = LINK.search(message.body)
    assert found is not None, message.body
    return found.group(1)


def open_portal(client: Client, ask: Callable[..., Any], request: PrivacyRequest) -> Any:
    mail.outbox.clear()
    ask(request.organization, EMAIL, request.reference)
    [message] = mail.outbox
    return client.post(link_in(message))


def page_text(response: Any) -> str:
    """The page without the CSRF token (which differs between responses)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


# --- asking for a link ----------------------------------------------------------------------


def test_the_link_form(client: Client, org: Organization) -> None:
    response = client.get(f"/privacy/{org.slug}/status/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Follow your privacy request" in page
    assert 'autocomplete="email"' in page


def test_a_link_is_sent_only_on_a_match_but_the_answer_is_the_same(
    ask: Callable[..., Any], org: Organization, privacy_request: PrivacyRequest
) -> None:
    reference = privacy_request.reference
    other_org = OrganizationFactory(slug="oak-sd", name="Oak SD")
    misses = [
        ask(org, "someone.else@example.org", reference),
        ask(org, EMAIL, "R-AAAA-BBBB"),
        ask(other_org, EMAIL, reference),  # the right pair at the wrong organization
    ]
    assert mail.outbox == []
    assert events(Action.REQUEST_PORTAL_LINK_SENT) == 0

    # typed differently: the address's case, the reference in lower case with spaces
    hit = ask(org, "Rosa.Parent@Example.org", f" {reference.lower()} ")

    assert [r.status_code for r in misses] == [200, 200, 200]
    assert hit.status_code == 200
    assert page_text(hit) == page_text(misses[0]) == page_text(misses[1])
    [message] = mail.outbox
    assert isinstance(message, EmailMultiAlternatives)
    assert message.to == [EMAIL]
    assert reference in message.subject and "Maple SD" in message.subject
    assert EMAIL not in message.subject and "Rosa" not in message.subject
    assert "24 hours" in message.body
    assert link_in(message) in str(message.alternatives[0][0])
    assert events(Action.REQUEST_PORTAL_LINK_SENT) == 1
    with unscoped_all_tenants(reason="test reads the audit event"):
        event = AuditEvent.objects.get(action=Action.REQUEST_PORTAL_LINK_SENT.value)
    assert "@" not in str(event.changes)
    with tenant_context(org):
        token = RequesterToken.objects.get(purpose=RequesterToken.Purpose.PORTAL)
    assert abs(token.expires_at - token.created_at - timedelta(hours=24)) < timedelta(seconds=5)


def test_bad_input_gets_field_errors_and_sends_nothing(
    ask: Callable[..., Any], org: Organization, privacy_request: PrivacyRequest
) -> None:
    response = ask(org, "not-an-address", "")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter an email address like name@example.com." in page
    assert "Enter the reference of your request." in page
    assert 'aria-describedby="id_email_helptext id_email_error"' in page or (
        'aria-invalid="true"' in page
    )
    assert mail.outbox == []


def test_a_closed_request_is_reachable_for_90_days(
    ask: Callable[..., Any], org: Organization, privacy_request: PrivacyRequest, staff: User
) -> None:
    with tenant_context(org):
        request_close(request=privacy_request, actor=staff, outcome="denied", reason="Not ours.")
    ask(org, EMAIL, privacy_request.reference)
    assert len(mail.outbox) == 1
    with time_machine.travel(timezone.now() + timedelta(days=91)):
        ask(org, EMAIL, privacy_request.reference)
    assert len(mail.outbox) == 1


def test_the_link_form_is_rate_limited_apart_from_the_intake(
    client: Client,
    ask: Callable[..., Any],
    org: Organization,
    privacy_request: PrivacyRequest,
    settings: Any,
) -> None:
    settings.PRIVACY_INTAKE_RATE_LIMIT = 2
    ask(org, "a@example.org", privacy_request.reference)
    ask(org, "b@example.org", privacy_request.reference)
    refused = ask(org, EMAIL, privacy_request.reference)
    assert refused.status_code == 429
    assert "Too many tries" in refused.content.decode()
    assert mail.outbox == []  # the right pair is refused too once the window is used up
    assert 0 < int(refused["Retry-After"]) <= settings.PRIVACY_INTAKE_RATE_WINDOW_SECONDS
    from privacy_requests.intake import rate_limit

    # the intake form's own counter (same address) is separate
    ip = client.defaults["REMOTE_ADDR"]
    assert rate_limit.submission_reserve(organization_id=org.pk, client_ip=ip).allowed


def test_a_malformed_link_request_does_not_use_up_the_window(
    ask: Callable[..., Any], org: Organization, privacy_request: PrivacyRequest, settings: Any
) -> None:
    settings.PRIVACY_INTAKE_RATE_LIMIT = 1
    assert ask(org, "not-an-email", privacy_request.reference).status_code == 400
    assert ask(org, EMAIL, privacy_request.reference).status_code == 200
    assert len(mail.outbox) == 1
    assert ask(org, EMAIL, privacy_request.reference).status_code == 429


# --- the single-use link --------------------------------------------------------------------


def test_the_link_opens_the_portal_once(
    client: Client, ask: Callable[..., Any], privacy_request: PrivacyRequest
) -> None:
    ask(privacy_request.organization, EMAIL, privacy_request.reference)
    link = link_in(mail.outbox[0])

    shown = client.get(link)  # a mail scanner's GET uses nothing
    assert shown.status_code == 200
    assert "Open my request" in shown.content.decode()
    assert events(Action.REQUEST_PORTAL_OPENED) == 0

    opened = client.post(link)
    assert opened.status_code == 302
    assert opened["Location"] == f"/privacy/{privacy_request.organization.slug}/portal/?lang=en"
    assert events(Action.REQUEST_PORTAL_OPENED) == 1
    assert client.get(opened["Location"]).status_code == 200

    again = Client().post(link)
    assert again.status_code == 410
    assert "already used" in again.content.decode()
    assert events(Action.REQUEST_PORTAL_OPENED) == 1


def test_the_link_expires_after_24_hours(
    client: Client, ask: Callable[..., Any], privacy_request: PrivacyRequest
) -> None:
    ask(privacy_request.organization, EMAIL, privacy_request.reference)
    link = link_in(mail.outbox[0])
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        assert client.get(link).status_code == 410
        response = client.post(link)
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert PORTAL_SESSION_KEY not in client.session


def test_a_new_link_replaces_the_old_one(
    client: Client, ask: Callable[..., Any], privacy_request: PrivacyRequest
) -> None:
    ask(privacy_request.organization, EMAIL, privacy_request.reference)
    ask(privacy_request.organization, EMAIL, privacy_request.reference)
    first, second = (link_in(m) for m in mail.outbox)
    assert first != second
    assert client.post(first).status_code == 410
    assert client.post(second).status_code == 302


def test_unknown_links_and_links_of_another_organization_are_404(
    client: Client, ask: Callable[..., Any], privacy_request: PrivacyRequest
) -> None:
    other = OrganizationFactory(slug="oak-sd")
    assert client.get("/privacy/maple-sd/portal/not-a-token/").status_code == 404
    ask(privacy_request.organization, EMAIL, privacy_request.reference)
    link = link_in(mail.outbox[0])
    assert client.post(link.replace("/maple-sd/", f"/{other.slug}/")).status_code == 404
    assert client.post(link).status_code == 302  # still unused


# --- the portal page ------------------------------------------------------------------------


def test_the_portal_shows_status_dates_and_messages_but_never_internal_notes(
    client: Client, ask: Callable[..., Any], privacy_request: PrivacyRequest, staff: User
) -> None:
    org = privacy_request.organization
    with tenant_context(org):
        request_message_add(
            request=privacy_request,
            actor=staff,
            direction="to_requester",
            body="Please send a copy of your ID.",
        )
        request_message_add(
            request=privacy_request,
            actor=staff,
            direction="internal",
            body="Caller sounded unsure; check records.",
        )
    opened = open_portal(client, ask, privacy_request)
    response = client.get(opened["Location"])
    page = response.content.decode()

    assert response.status_code == 200
    assert privacy_request.reference in page
    assert "See my information" in page  # the type, in plain words
    assert "Received" in page
    assert privacy_request.respond_by is not None
    assert privacy_request.acknowledge_by is not None
    assert date_format(privacy_request.respond_by, "DATE_FORMAT") in page
    assert date_format(privacy_request.acknowledge_by, "DATE_FORMAT") in page
    assert "America/Los_Angeles" in page
    assert "Please send a copy of your ID." in page
    assert "Caller sounded unsure" not in page
    # nothing to download before a package is delivered (privacy_requests.fulfilment)
    assert "Download your data" not in page
    assert EMAIL not in page  # nothing the page does not need


def test_a_reply_is_recorded_from_the_requester(
    client: Client, ask: Callable[..., Any], privacy_request: PrivacyRequest
) -> None:
    org = privacy_request.organization
    open_portal(client, ask, privacy_request)
    before = events(Action.REQUEST_MESSAGE_ADDED)

    empty = client.post(f"/privacy/{org.slug}/portal/reply/?lang=en", {"body": "   "})
    assert empty.status_code == 400
    assert "Write your message." in empty.content.decode()

    sent = client.post(
        f"/privacy/{org.slug}/portal/reply/?lang=en", {"body": "Attached is my ID number."}
    )
    assert sent.status_code == 302
    with tenant_context(org):
        [message] = RequestMessage.objects.filter(request=privacy_request)
    assert message.direction == RequestMessage.Direction.FROM_REQUESTER
    assert message.author is None
    assert message.body == "Attached is my ID number."
    assert events(Action.REQUEST_MESSAGE_ADDED) == before + 1
    page = client.get(sent["Location"]).content.decode()
    assert "Your message was sent." in page
    assert "Attached is my ID number." in page
    assert "You wrote" in page


def test_a_portal_session_cannot_read_another_request(
    client: Client, ask: Callable[..., Any], privacy_request: PrivacyRequest
) -> None:
    org = privacy_request.organization
    other = received_request(org, requester_email="other.parent@example.org")
    open_portal(client, ask, privacy_request)
    assert privacy_request.reference in client.get(f"/privacy/{org.slug}/portal/").content.decode()

    # the session is edited to name the other request (its signature no longer matches)
    session = client.session
    payload, signature = session[PORTAL_SESSION_KEY].split(":", 1)
    data = json.loads(signing.b64_decode(payload.encode()))
    assert data["r"] == privacy_request.pk
    data["r"] = other.pk
    forged = signing.b64_encode(json.dumps(data, separators=(",", ":")).encode()).decode()
    session[PORTAL_SESSION_KEY] = f"{forged}:{signature}"
    session.save()
    response = client.get(f"/privacy/{org.slug}/portal/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"/privacy/{org.slug}/status/")
    assert other.reference not in client.get(response["Location"]).content.decode()
    reply = client.post(f"/privacy/{org.slug}/portal/reply/", {"body": "Sneaky."})
    assert reply.status_code == 302
    with tenant_context(org):
        assert not RequestMessage.objects.exists()


def test_a_portal_session_is_for_its_organization_only(
    client: Client, ask: Callable[..., Any], privacy_request: PrivacyRequest
) -> None:
    other_org = OrganizationFactory(slug="oak-sd")
    open_portal(client, ask, privacy_request)
    response = client.get(f"/privacy/{other_org.slug}/portal/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"/privacy/{other_org.slug}/status/")


def test_the_portal_session_ends_after_an_hour_and_on_sign_out(
    client: Client, ask: Callable[..., Any], privacy_request: PrivacyRequest
) -> None:
    org = privacy_request.organization
    open_portal(client, ask, privacy_request)
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert client.get(f"/privacy/{org.slug}/portal/").status_code == 302

    open_portal(client, ask, privacy_request)
    assert client.get(f"/privacy/{org.slug}/portal/").status_code == 200
    assert client.get(f"/privacy/{org.slug}/portal/sign-out/").status_code == 405
    signed_out = client.post(f"/privacy/{org.slug}/portal/sign-out/")
    assert signed_out.status_code == 200
    assert "You left your request page" in signed_out.content.decode()
    assert client.get(f"/privacy/{org.slug}/portal/").status_code == 302


def test_without_a_session_the_portal_sends_you_to_the_link_form(
    client: Client, org: Organization
) -> None:
    response = client.get(f"/privacy/{org.slug}/portal/")
    assert response.status_code == 302
    assert response["Location"] == f"/privacy/{org.slug}/status/?lang=en&ended=1"
    assert client.post(f"/privacy/{org.slug}/portal/reply/", {"body": "x"}).status_code == 302
    assert client.get("/privacy/no-such-district/portal/").status_code == 404


# --- Spanish --------------------------------------------------------------------------------


def test_a_spanish_request_gets_its_email_and_portal_in_spanish(
    client: Client, ask: Callable[..., Any], org: Organization
) -> None:
    request = received_request(org, requester_email=EMAIL, channel="web", language="es")
    ask(org, EMAIL, request.reference)  # the form itself was in English
    [message] = mail.outbox
    assert message.subject.startswith("Su enlace para seguir la solicitud de privacidad")
    link = link_in(message)
    assert link.endswith("?lang=es")
    opened = client.post(link)
    page = client.get(opened["Location"]).content.decode()
    assert '<html lang="es">' in page
    assert "Su solicitud de privacidad" in page
    assert "Cerrar la página de mi solicitud" in page
    english = client.get(f"/privacy/{org.slug}/portal/?lang=en").content.decode()
    assert "Your privacy request" in english
