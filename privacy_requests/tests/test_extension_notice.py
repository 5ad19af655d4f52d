"""The written notice of an extension: the reason and the new date, sent to the requester
before the original deadline (in the outbox, on the thread and the timeline), in the request's
language; the extend form shows the notice before staff submit it."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from audit.models import AuditEvent
from k12cloud.notifications.models import OutboundEmail
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest, RequestEvent, RequestMessage
from privacy_requests.rules.models import OrganizationRuleSelection
from privacy_requests.services import (
    RequestActionRefused,
    request_acknowledge,
    request_extend,
    request_transition,
    request_verify,
)
from privacy_requests.status import Status
from privacy_requests.tests.factories import received_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

LA = ZoneInfo("America/Los_Angeles")
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=LA)  # CCPA: respond by 16 April, +45 = 31 May
BEFORE_DEADLINE = datetime(2026, 4, 1, 9, 0, tzinfo=LA)


@pytest.fixture
def org() -> Organization:
    organization = OrganizationFactory(slug="lincoln-usd", subdivision="CA", name="Lincoln USD")
    with tenant_context(organization):
        OrganizationRuleSelection.objects.create(organization=organization, rule_id="ccpa")
    return organization


@pytest.fixture
def staff(org: Organization) -> User:
    return member(org, Role.PRIVACY_STAFF)


def working(org: Organization, staff: User, **fields: object) -> PrivacyRequest:
    """A verified, acknowledged request in progress (the acknowledgement sends no message)."""
    request = received_request(org, actor=staff, received_at=MONDAY, **fields)
    with tenant_context(org):
        request = request_verify(request=request, actor=staff, method="records_match")
        request = request_acknowledge(request=request, actor=staff)
        return request_transition(request=request, to_status=Status.IN_PROGRESS, actor=staff)


def outbox(org: Organization) -> list[OutboundEmail]:
    with tenant_context(org):
        return list(OutboundEmail.objects.order_by("pk"))


def extension_audits(request: PrivacyRequest) -> int:
    with tenant_context(request.organization_id):
        return AuditEvent.objects.filter(
            action="requests.extended", target_id=str(request.pk)
        ).count()


@pytest.mark.parametrize(
    ("language", "subject", "expected"),
    [
        (
            "en",
            "Your privacy request {reference}",
            [
                "We need more time to respond to your privacy request, reference {reference}, "
                "to Lincoln USD.",
                "We will respond by May 31, 2026 instead of April 16, 2026.",
                "The reason: Records are archived off site.",
                "The rules that apply to your request allow one extension, with this notice "
                "before the original deadline.",
            ],
        ),
        (
            "es",
            "Su solicitud de privacidad {reference}",
            [
                "Necesitamos más tiempo para responder a su solicitud de privacidad, "
                "referencia {reference}, a Lincoln USD.",
                "Responderemos antes del 31 de mayo de 2026 en lugar del 16 de abril de 2026.",
                "El motivo: Records are archived off site.",
                "Las normas que se aplican a su solicitud permiten una prórroga, con este "
                "aviso antes del plazo original.",
            ],
        ),
    ],
)
def test_extending_sends_one_notice_in_the_requests_language(
    org: Organization, staff: User, language: str, subject: str, expected: list[str]
) -> None:
    request = working(org, staff, language=language)
    assert outbox(org) == []
    with time_machine.travel(BEFORE_DEADLINE), tenant_context(org):
        request_extend(request=request, actor=staff, reason="Records are archived off site.")
        [message] = RequestMessage.objects.filter(request=request)
        event = RequestEvent.objects.get(request=request, kind="extended")
    [email] = outbox(org)
    assert email.to == "rosa.parent@example.org"
    assert email.subject == subject.format(reference=request.reference)
    for line in expected:
        assert line.format(reference=request.reference) in email.body_text
    # the same text is on the request's thread, as a message to the requester
    assert message.direction == RequestMessage.Direction.TO_REQUESTER
    assert message.body in email.body_text
    assert message.author == staff
    # the timeline's extension event points at the notice; one audit event
    assert event.data == {
        "extended_respond_by": "2026-05-31",
        "notice_message_id": message.pk,
        "notice_emailed": True,
        "reason_given": False,
    }
    assert extension_audits(request) == 1


def test_without_an_email_address_the_notice_is_kept_on_the_thread(
    org: Organization, staff: User
) -> None:
    request = working(org, staff, requester_email="")
    with time_machine.travel(BEFORE_DEADLINE), tenant_context(org):
        request_extend(request=request, actor=staff, reason="Archived.")
        [message] = RequestMessage.objects.filter(request=request)
        event = RequestEvent.objects.get(request=request, kind="extended")
    assert outbox(org) == []
    assert "We will respond by May 31, 2026" in message.body
    assert event.data["notice_emailed"] is False
    assert event.data["notice_message_id"] == message.pk


def test_nothing_is_sent_when_the_extension_is_refused(org: Organization, staff: User) -> None:
    request = working(org, staff)
    # after the original deadline (16 April)
    late = datetime(2026, 4, 17, 9, 0, tzinfo=LA)
    with (
        time_machine.travel(late),
        tenant_context(org),
        pytest.raises(RequestActionRefused, match="has passed"),
    ):
        request_extend(request=request, actor=staff, reason="Archived.")
    # a second extension
    with time_machine.travel(BEFORE_DEADLINE), tenant_context(org):
        request_extend(request=request, actor=staff, reason="Archived.")
        with pytest.raises(RequestActionRefused, match="already extended"):
            request_extend(request=request, actor=staff, reason="Again.")
    # a request the status machine does not let be extended (closed as withdrawn)
    other = working(org, staff, requester_email="other.parent@example.org")
    with time_machine.travel(BEFORE_DEADLINE), tenant_context(org):
        request_transition(request=other, to_status=Status.WITHDRAWN, actor=staff)
        with pytest.raises(RequestActionRefused):
            request_extend(request=other, actor=staff, reason="Archived.")
        assert not RequestMessage.objects.filter(request=other).exists()
    assert len(outbox(org)) == 1  # only the granted extension's notice
    assert extension_audits(request) == 1 and extension_audits(other) == 0


def _detail(org: Organization, request: PrivacyRequest) -> str:
    return reverse(
        "accounts:request_detail", kwargs={"org_slug": org.slug, "request_id": request.pk}
    )


def test_the_extend_form_previews_the_notice_with_the_new_date(
    org: Organization, staff: User
) -> None:
    request = working(org, staff, language="es")
    with time_machine.travel(BEFORE_DEADLINE):
        response = sign_in(Client(), staff).get(_detail(org, request))
    assert response.status_code == 200
    preview = response.context["extension_notice_preview"]
    # in the requester's language, the computed new date, a placeholder for the reason
    assert "Responderemos antes del 31 de mayo de 2026 en lugar del 16 de abril de 2026." in preview
    assert "[el motivo que usted indique]" in preview
    html = response.content.decode()
    assert "31 de mayo de 2026" in html
    assert "Extending emails this notice to the requester" in html


def test_the_preview_tells_staff_to_send_it_when_there_is_no_email(
    org: Organization, staff: User
) -> None:
    request = working(org, staff, requester_email="")
    with time_machine.travel(BEFORE_DEADLINE):
        html = sign_in(Client(), staff).get(_detail(org, request)).content.decode()
    assert "May 31, 2026" in html
    assert "you must send it to the requester by the channel the request came in (Phone)" in html


def test_a_second_extension_offers_no_preview(org: Organization, staff: User) -> None:
    request = working(org, staff)
    with time_machine.travel(BEFORE_DEADLINE):
        with tenant_context(org):
            request_extend(request=request, actor=staff, reason="Archived.")
        response = sign_in(Client(), staff).get(_detail(org, request))
    assert "extension_notice_preview" not in response.context


def test_the_requester_reads_the_notice_in_the_portal(
    org: Organization, staff: User, django_capture_on_commit_callbacks: Any
) -> None:
    request = working(org, staff)
    with time_machine.travel(BEFORE_DEADLINE), tenant_context(org):
        request_extend(request=request, actor=staff, reason="Records are archived off site.")
    client = Client(REMOTE_ADDR=f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.7")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/privacy/{org.slug}/status/",
            {"email": "rosa.parent@example.org", "reference": request.reference},
        )
    [link_email] = mail.outbox
    found = re.search(
        r"http://testserver(/privacy/[^/\s]+/portal/[^/\s]+/\?lang=\w+)", link_email.body
    )
    assert found is not None
    page = client.get(client.post(found.group(1))["Location"]).content.decode()
    assert "We will respond by May 31, 2026 instead of April 16, 2026." in page
    assert "The reason: Records are archived off site." in page
