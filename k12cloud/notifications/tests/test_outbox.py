"""The outbox: rows in the caller's transaction, sent after commit, failures recorded, relay."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from accounts.tests.factories import OrganizationFactory
from k12cloud.notifications.models import OutboundEmail, TaskRun
from k12cloud.notifications.relay import outbox_pending_ids
from k12cloud.notifications.sending import outbound_email_attempt, retry_delay
from k12cloud.notifications.services import email_enqueue
from k12cloud.notifications.tasks import relay_outbox, send_outbound_email
from k12cloud.tenancy import tenant_context

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(db: None) -> Organization:
    return OrganizationFactory.create(name="Lincoln USD", time_zone="America/Los_Angeles")


def enqueue(org: Organization, **overrides: Any) -> OutboundEmail | None:
    values: dict[str, Any] = {
        "organization": org,
        "to": "officer@example.org",
        "template": "notifications/email/notice",
        "subject": "PR-1 is due Friday",
        "context": {"title": "PR-1 is due Friday", "url": "https://portal.example/o/x/"},
        **overrides,
    }
    return email_enqueue(**values)


def refusing_mail_server(settings: Any) -> None:
    """Real SMTP, to a local port nobody listens on: the connection is refused."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_port()
    settings.EMAIL_TIMEOUT = 2


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when this returns: connections refused


def test_nothing_is_sent_before_commit_and_one_email_after(
    org: Organization, django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_context(org), django_capture_on_commit_callbacks(execute=True):
        email = enqueue(org)
        assert email is not None
        assert mail.outbox == []  # still inside the transaction
    [message] = mail.outbox
    with tenant_context(org):
        email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT and email.attempts == 1
    assert message.extra_headers["Message-ID"] == email.message_id
    assert message.to == ["officer@example.org"]
    assert "Lincoln USD" in message.body  # the organization's name, from the template
    assert getattr(message, "alternatives", None)  # HTML and text


def test_work_that_rolls_back_leaves_no_email(org: Organization) -> None:
    with tenant_context(org):
        with pytest.raises(RuntimeError), transaction.atomic():
            enqueue(org)
            raise RuntimeError("the work failed")
        assert OutboundEmail.objects.count() == 0
    assert mail.outbox == []


def test_a_dedupe_key_writes_once(org: Organization) -> None:
    with tenant_context(org):
        assert enqueue(org, dedupe_key="ack:1") is not None
        assert enqueue(org, dedupe_key="ack:1") is None
        assert OutboundEmail.objects.count() == 1


def test_sending_twice_sends_once(org: Organization) -> None:
    with tenant_context(org):
        email = enqueue(org)
        assert email is not None
        assert outbound_email_attempt(email_id=email.pk).sent is True
        assert outbound_email_attempt(email_id=email.pk).sent is False
    assert len(mail.outbox) == 1


def test_a_mail_server_that_refuses_is_retried_with_backoff_then_failed(
    org: Organization, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    refusing_mail_server(settings)
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    start = timezone.now()
    with tenant_context(org):
        email = enqueue(org)
        assert email is not None
        message_id = email.message_id
        with time_machine.travel(start, tick=False):
            first = outbound_email_attempt(email_id=email.pk)
        assert first.retry is True and first.sent is False
        email.refresh_from_db()
        assert email.status == OutboundEmail.Status.PENDING
        assert email.attempts == 1
        assert email.last_error == "ConnectionRefusedError"  # the class, no address
        assert email.next_attempt_at == start + retry_delay(1)
        assert email.message_id == message_id  # the same id on every attempt
        for _ in range(2):
            outcome = outbound_email_attempt(email_id=email.pk)
        email.refresh_from_db()
    assert outcome.retry is False
    assert email.status == OutboundEmail.Status.FAILED and email.attempts == 3
    assert any("FAILED after 3 attempts" in r.getMessage() for r in caplog.records)
    assert "officer@example.org" not in caplog.text


def test_retry_delays_double_and_are_capped() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(30) == timedelta(minutes=30)


def test_the_send_task_retries_until_the_row_fails(org: Organization, settings: Any) -> None:
    """Each attempt is committed by the task before it asks Celery to retry; run eagerly,
    Celery retries at once (no countdown), so the row reaches its last attempt here."""
    refusing_mail_server(settings)
    with tenant_context(org):
        email = enqueue(org)
        assert email is not None
    result = send_outbound_email.apply(args=[org.pk, email.pk])
    assert result.get() is False  # retried (autoretry_for) until the row failed for good
    with tenant_context(org):
        email.refresh_from_db()
    assert email.status == OutboundEmail.Status.FAILED
    assert email.attempts == settings.NOTIFICATIONS_MAX_ATTEMPTS
    assert email.last_error == "ConnectionRefusedError"


def test_the_relay_lists_rows_left_pending_past_the_grace_and_backoff(org: Organization) -> None:
    other = OrganizationFactory.create()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        with tenant_context(org):
            old = enqueue(org)
            waiting = enqueue(org)
            assert old is not None and waiting is not None
            OutboundEmail.objects.filter(pk=waiting.pk).update(
                next_attempt_at=start + timedelta(minutes=10)
            )
        with tenant_context(other):
            other_old = enqueue(other)
            assert other_old is not None
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        with tenant_context(org):
            enqueue(org)  # new: its own after-commit enqueue is still on its way
        assert outbox_pending_ids() == [(org.pk, old.pk), (other.pk, other_old.pk)]
    with time_machine.travel(start + timedelta(minutes=11), tick=False):
        assert (org.pk, waiting.pk) in outbox_pending_ids()


def test_the_relay_task_sends_under_each_tenant_and_records_its_run(
    org: Organization, settings: Any
) -> None:
    from k12cloud.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    try:
        start = timezone.now()
        with time_machine.travel(start, tick=False), tenant_context(org):
            email = enqueue(org)  # in a test transaction: its after-commit send never runs
            assert email is not None
        with time_machine.travel(start + timedelta(minutes=2), tick=False):
            assert relay_outbox.apply().get() == 1
    finally:
        app.conf.task_always_eager = False
        app.conf.task_eager_propagates = False
    assert len(mail.outbox) == 1
    with tenant_context(org):
        email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT
    run = TaskRun.objects.get(name="notifications.relay_outbox")
    assert run.ok is True and run.result == "1" and run.error == ""
