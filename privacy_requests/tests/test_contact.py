"""The privacy contact: every email to a requester carries it as Reply-To (none when unset), the
emails and pages say truly where a reply goes, and admins and privacy officers set it."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.notifications.models import OutboundEmail
from k12cloud.tenancy import tenant_context
from privacy_requests.contact import organization_privacy_contact_set
from privacy_requests.intake.services import WebSubmission, web_request_receive
from privacy_requests.portal.services import portal_link_send
from privacy_requests.routing import request_route
from privacy_requests.rules.models import OrganizationRuleSelection
from privacy_requests.services import request_acknowledge
from privacy_requests.tests.factories import received_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

CONTACT = "privacy@lincolnusd.org"


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


@pytest.fixture
def officer(org: Organization) -> User:
    return member(org, Role.PRIVACY_OFFICER, email="olga@lincoln.example")


def requester_mail(address: str = "rosa.parent@example.org") -> list[Any]:
    return [m for m in mail.outbox if m.to == [address]]


def every_requester_email(org: Organization, officer: User, commit: Any) -> None:
    """A confirmation link, a portal link and an acknowledgement (a message to the requester)."""
    with tenant_context(org), commit(execute=True):
        request = web_request_receive(
            organization=org,
            submission=WebSubmission(
                request_type="access",
                relationship="parent",
                requester_name="Rosa Parent",
                requester_email="rosa.parent@example.org",
            ),
            language="es",
            gpc_signal=False,
            gpc_means_opt_out=False,
            confirm_url_for=lambda token: f"https://portal.example/confirm/{token}/",
        ).request
    with tenant_context(org), commit(execute=True):
        portal_link_send(request=request, portal_url_for=lambda t: f"https://portal.example/{t}/")
    with tenant_context(org), commit(execute=True):
        request_acknowledge(request=request, actor=officer, message="We have your request.")


def test_requester_emails_reply_to_the_privacy_contact(
    org: Organization, officer: User, django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_context(org):
        assert organization_privacy_contact_set(organization=org, actor=officer, email=CONTACT)
    every_requester_email(org, officer, django_capture_on_commit_callbacks)
    sent = requester_mail()
    assert len(sent) == 3
    assert all(message.reply_to == [CONTACT] for message in sent)
    assert all(message.extra_headers.get("Reply-To") is None for message in sent)
    assert f"Reply-To: {CONTACT}" in sent[-1].message().as_string()
    with tenant_context(org):
        rows = list(OutboundEmail.objects.order_by("pk"))
        assert {row.reply_to for row in rows} == {CONTACT}  # the record of what was sent
    # the message says where the reply goes, in the requester's language
    assert CONTACT in sent[-1].body
    assert "Su respuesta a este correo llega al equipo de privacidad" in sent[-1].body


def test_without_a_contact_there_is_no_reply_to_and_the_email_says_replies_are_not_read(
    org: Organization, officer: User, django_capture_on_commit_callbacks: Any
) -> None:
    every_requester_email(org, officer, django_capture_on_commit_callbacks)
    sent = requester_mail()
    assert len(sent) == 3
    assert all(message.reply_to == [] for message in sent)
    assert "Reply-To" not in sent[-1].message().as_string()
    ack = sent[-1].body
    assert "no se leen" in ack  # "Replies to this email are not read", in Spanish
    assert "/privacy/lincoln-usd/status/?lang=es" in ack


def test_a_routed_request_replies_go_to_the_organization_that_handles_it(
    org: Organization, django_capture_on_commit_callbacks: Any
) -> None:
    platform = OrganizationFactory(
        slug="k12cloud", name="k-12.cloud", kind=Organization.Kind.PLATFORM, time_zone="UTC"
    )
    for organization in (platform, org):
        with tenant_context(organization):
            OrganizationRuleSelection.objects.create(organization=organization, rule_id="ferpa")
    with tenant_context(org):
        organization_privacy_contact_set(organization=org, actor=None, email=CONTACT)
    request = received_request(platform, request_type="ferpa_inspect")
    with tenant_context(platform), django_capture_on_commit_callbacks(execute=True):
        request_route(request=request, to_organization=org, actor=None)
    [routed] = requester_mail()
    assert routed.reply_to == [CONTACT]


def test_the_contact_page_sets_clears_and_refuses_a_bad_address(
    org: Organization, officer: User
) -> None:
    client = sign_in(Client(), officer)
    page = reverse("accounts:privacy_contact", kwargs={"org_slug": org.slug})
    assert "No privacy contact is set" in client.get(page).content.decode()
    bad = client.post(page, {"email": "not an address"})
    assert bad.status_code == 200
    assert 'aria-invalid="true"' in bad.content.decode()
    org.refresh_from_db()
    assert org.privacy_contact_email == ""
    assert client.post(page, {"email": " Privacy@LincolnUSD.org "}).status_code == 302
    org.refresh_from_db()
    assert org.privacy_contact_email == CONTACT
    assert f"Replies now go to {CONTACT}" in client.get(page).content.decode()
    with tenant_context(org):
        [event] = AuditEvent.objects.filter(action=Action.PRIVACY_CONTACT_CHANGED.value)
    assert event.changes == {"from_domain": None, "to_domain": "lincolnusd.org"}
    assert CONTACT not in str(event.changes)  # the domain only
    assert client.post(page, {"email": ""}).status_code == 302
    org.refresh_from_db()
    assert org.privacy_contact_email == ""
    # staff may not change it (the permission table has every role)
    staff = member(org, Role.PRIVACY_STAFF)
    assert sign_in(Client(), staff).post(page, {"email": CONTACT}).status_code == 403


def test_the_request_page_tells_staff_where_replies_go(org: Organization, officer: User) -> None:
    request = received_request(org)
    client = sign_in(Client(), officer)
    page = reverse(
        "accounts:request_detail", kwargs={"org_slug": org.slug, "request_id": request.pk}
    )
    assert "Emails to requesters have no reply address" in client.get(page).content.decode()
    with tenant_context(org):
        organization_privacy_contact_set(organization=org, actor=officer, email=CONTACT)
    html = client.get(page).content.decode()
    assert f"the reply goes to {CONTACT}" in html


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_unusable_link_page_says_truly_where_to_get_help(
    org: Organization, officer: User, language: str
) -> None:
    url = reverse(
        "privacy_intake:confirm_email", kwargs={"org_slug": org.slug, "token": "no-such-token"}
    )
    html = Client().get(f"{url}?lang={language}").content.decode()
    status_page = f"/privacy/lincoln-usd/status/?lang={language}"
    if language == "en":
        assert "replies to it are not read" in html
    else:
        assert "las respuestas no se leen" in html
    assert status_page in html
    with tenant_context(org):
        organization_privacy_contact_set(organization=org, actor=officer, email=CONTACT)
    html = Client().get(f"{url}?lang={language}").content.decode()
    assert CONTACT in html and status_page not in html
    if language == "en":
        assert "reply to the email we sent you or write to" in html
