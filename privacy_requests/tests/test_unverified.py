"""Web requests whose email is never confirmed: one reminder with a fresh link after 24 hours,
closed as unverified after 7 days with a message; the legal deadlines never move."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.notifications.models import OutboundEmail
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest, RequesterToken, RequestEvent
from privacy_requests.services import request_confirm_email
from privacy_requests.status import Status
from privacy_requests.tests.factories import received_request
from privacy_requests.tracking.services import unconfirmed_requests_process
from privacy_requests.tracking.tasks import unconfirmed_for_organization

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

RECEIVED = datetime(2026, 11, 2, 18, 0, tzinfo=UTC)  # Monday 10:00 in Los Angeles


@pytest.fixture
def org() -> Organization:
    organization = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    member(organization, Role.PRIVACY_OFFICER)
    return organization


def web_request(org: Organization, **fields: object) -> PrivacyRequest:
    values: dict[str, object] = {"channel": "web", "requester_email": "rosa@example.org"}
    values.update(fields)
    return received_request(org, received_at=RECEIVED, **values)


def run(org: Organization, after: timedelta) -> tuple[int, int]:
    with time_machine.travel(RECEIVED + after, tick=False), tenant_context(org):
        result = unconfirmed_requests_process(organization=org)
    return result.reminded, result.closed


def reload(org: Organization, request: PrivacyRequest) -> PrivacyRequest:
    with tenant_context(org):
        return PrivacyRequest.objects.get(pk=request.pk)


def emails(org: Organization) -> list[OutboundEmail]:
    with tenant_context(org):
        rows = list(OutboundEmail.objects.order_by("pk"))
        for row in rows:  # decrypt inside the context
            _ = (row.to, row.body_text, row.body_html)
        return rows


def audit_count(org: Organization, action: Action) -> int:
    with tenant_context(org):
        return AuditEvent.objects.filter(action=action.value).count()


def test_one_reminder_after_24_hours_with_a_working_link(org: Organization) -> None:
    request = web_request(org)
    assert run(org, timedelta(hours=23)) == (0, 0)
    assert run(org, timedelta(hours=25)) == (1, 0)
    assert run(org, timedelta(hours=26)) == (0, 0)
    assert run(org, timedelta(days=3)) == (0, 0)
    request = reload(org, request)
    assert request.confirmation_reminder_sent_at == RECEIVED + timedelta(hours=25)
    assert audit_count(org, Action.REQUEST_CONFIRMATION_REMINDED) == 1
    with tenant_context(org):
        assert RequestEvent.objects.filter(
            request=request, kind="confirmation_reminder_sent"
        ).exists()

    [email] = emails(org)
    assert email.to == "rosa@example.org"
    assert email.subject == f"Reminder: confirm your privacy request {request.reference}"
    assert "Rosa" not in email.subject
    assert email.dedupe_key == f"confirm-reminder:{request.pk}"
    match = re.search(r"http://\S+/privacy/lincoln-usd/confirm/(\S+)/\?lang=en", email.body_text)
    assert match, email.body_text
    assert "9 November 2026" in email.body_text  # the day it would close
    # the fresh link is a real single-use confirmation link that expires with the request
    with tenant_context(org):
        token = RequesterToken.objects.get(token_hash=RequesterToken.hash_token(match[1]))
    assert token.purpose == RequesterToken.Purpose.CONFIRM_EMAIL
    assert token.expires_at == RECEIVED + timedelta(days=7)
    with time_machine.travel(RECEIVED + timedelta(hours=30), tick=False):
        page = Client().get(f"/privacy/lincoln-usd/confirm/{match[1]}/?lang=en")
        assert page.status_code == 200
        Client().post(f"/privacy/lincoln-usd/confirm/{match[1]}/?lang=en")
    assert reload(org, request).email_confirmed_at is not None


def test_reminder_in_the_requesters_language(org: Organization) -> None:
    request = web_request(org, language="es")
    run(org, timedelta(hours=25))
    [email] = emails(org)
    assert email.subject == f"Recordatorio: confirme su solicitud de privacidad {request.reference}"
    assert "?lang=es" in email.body_text
    assert 'lang="es"' in email.body_html


def test_closed_as_unverified_after_seven_days_with_a_message(org: Organization) -> None:
    request = web_request(org)
    before = (request.acknowledge_by, request.respond_by, request.next_due_on)
    run(org, timedelta(hours=25))
    assert run(org, timedelta(days=6, hours=23)) == (0, 0)
    assert run(org, timedelta(days=7, hours=1)) == (0, 1)
    assert run(org, timedelta(days=7, hours=2)) == (0, 0)
    request = reload(org, request)
    assert request.status == Status.CLOSED_UNVERIFIED
    assert request.closed_at == RECEIVED + timedelta(days=7, hours=1)
    assert "not confirmed within 7 days" in request.closure_reason
    # the legal clock ran from receipt and the stored deadlines are untouched
    assert (request.acknowledge_by, request.respond_by) == before[:2]
    with tenant_context(org):
        closing = AuditEvent.objects.get(action=Action.REQUEST_STATUS_CHANGED.value)
    assert closing.changes["to"] == "closed_unverified"
    _reminder, closure = emails(org)
    assert closure.template == "privacy_requests/email/tracking/unverified_closed"
    assert closure.subject == f"Your privacy request {request.reference} was closed"
    assert "not confirmed within 7 days" in closure.body_text
    assert "/privacy/lincoln-usd/" in closure.body_text


def test_a_request_never_reminded_still_closes_after_seven_days(org: Organization) -> None:
    request = web_request(org)
    assert run(org, timedelta(days=8)) == (0, 1)
    assert reload(org, request).status == Status.CLOSED_UNVERIFIED
    assert [e.template for e in emails(org)] == [
        "privacy_requests/email/tracking/unverified_closed"
    ]


def test_confirmed_and_staff_entered_requests_are_left_alone(
    org: Organization, django_capture_on_commit_callbacks: Any
) -> None:
    confirmed = web_request(org)
    with (
        time_machine.travel(RECEIVED + timedelta(hours=1), tick=False),
        tenant_context(org),
        django_capture_on_commit_callbacks(execute=True),  # the alert's fan-out, after commit
    ):
        request_confirm_email(request=confirmed)
    phone = received_request(org, received_at=RECEIVED, channel="phone")
    assert run(org, timedelta(hours=25)) == (0, 0)
    assert run(org, timedelta(days=8)) == (0, 0)
    assert reload(org, confirmed).status == Status.AWAITING_VERIFICATION
    assert reload(org, phone).status == Status.RECEIVED
    # nothing to the requester; the confirmation alerted the privacy officer (one notice)
    assert [e.template for e in emails(org)] == ["notifications/email/notice"]


def test_the_tenant_task_runs_the_sweep(org: Organization) -> None:
    web_request(org)
    with time_machine.travel(RECEIVED + timedelta(hours=25), tick=False):
        assert unconfirmed_for_organization.apply(args=[org.pk]).get() == {
            "reminded": 1,
            "closed": 0,
        }
    with time_machine.travel(RECEIVED + timedelta(days=7, hours=1), tick=False):
        assert unconfirmed_for_organization.apply(args=[org.pk]).get() == {
            "reminded": 0,
            "closed": 1,
        }
        with tenant_context(org):
            event = AuditEvent.objects.get(action=Action.REQUEST_STATUS_CHANGED.value)
    assert event.actor_label == "unconfirmed requests sweep"
