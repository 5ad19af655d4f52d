"""10,000 recipients through the outbox with real workers, one SIGKILLed mid-batch
(as tests/test_celery_reliability.py does for 1,000 emails): every recipient is recorded once,
every email is sent, and the leg is met when the sending completes.

A kill between a batch's commit and its after-commit enqueue leaves that batch's outbox rows
pending: the relay (beat, every minute) sends them, as for any email; the test runs it."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from incidents.models import Incident, IncidentLeg, Notice, NoticeDelivery
from incidents.services import notice_prepare, notice_send, recipients_upload
from incidents.tests.factories import scene
from incidents.tests.test_notices import family_csv, hudson_incident
from k12cloud.notifications.models import OutboundEmail
from k12cloud.notifications.tasks import relay_outbox
from k12cloud.notifications.tests import processes
from k12cloud.tenancy import tenant_context

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("breach_rules")]

RECIPIENTS = 10_000


def _recorded(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_ten_thousand_recipients_complete_although_the_worker_is_killed_mid_batch(
    tmp_path: Path,
) -> None:
    s = scene()
    incident: Incident = hudson_incident(s)
    with tenant_context(s.hudson):
        families = recipients_upload(
            organization=s.hudson,
            actor=s.hudson_admin,
            incident=incident,
            kind="families",
            file_name="families.csv",
            content=family_csv(RECIPIENTS),
        )
        leg = IncidentLeg.objects.for_organization(s.hudson).get(
            incident=incident, leg="agency-to-individuals"
        )
        notice = notice_prepare(
            organization=s.hudson,
            actor=s.hudson_admin,
            leg=leg,
            subject_en="Notice of a security incident",
            body_en="What happened: ...",
            subject_es="Aviso de un incidente de seguridad",
            body_es="Qué sucedió: ...",
            recipient_lists=[families],
        )

    def deliveries() -> int:
        with tenant_context(s.hudson):
            return NoticeDelivery.objects.filter(notice=notice).count()

    def notice_state() -> str:
        with tenant_context(s.hudson):
            return str(Notice.objects.get(pk=notice.pk).status)

    def statuses() -> Counter[str]:
        with tenant_context(s.hudson):
            ids = NoticeDelivery.objects.filter(notice=notice).values("email_id")
            return Counter(
                OutboundEmail.objects.filter(pk__in=ids).values_list("status", flat=True)
            )

    queue = processes.new_queue()
    recording = tmp_path / "delivered.txt"
    log = tmp_path / "worker.log"
    extra = {
        "NOTIFICATIONS_RECORDING_FILE": str(recording),
        "CELERY_VISIBILITY_TIMEOUT": "5",
        "NOTIFICATIONS_RELAY_AFTER_SECONDS": "30",
    }
    with tenant_context(s.hudson):
        notice_send(organization=s.hudson, actor=s.hudson_admin, notice=notice, queue=queue)
    worker = processes.start_worker(queue, log, **extra)
    try:
        processes.wait_for(
            lambda: deliveries() >= RECIPIENTS // 5, timeout=600, what="a fifth queued", log=log
        )
        processes.kill(worker)  # SIGKILL the worker and its pool, mid-batch
        at_kill = deliveries()
        assert at_kill < RECIPIENTS, "every batch was queued before the kill: nothing proven"
        assert at_kill % 500 == 0, "a batch was half written"  # batches commit whole

        worker = processes.start_worker(queue, log, **extra)
        processes.wait_for(
            lambda: notice_state() == Notice.Status.SENT,
            timeout=1500,
            what="every recipient recorded and queued",
            log=log,
        )
        # Emails committed by a batch whose process was killed before its after-commit enqueue
        # are sent by the outbox relay, which the beat runs every minute (docs/notifications.md).
        relayed_at = 0.0

        def all_sent() -> bool:
            nonlocal relayed_at
            if time.monotonic() - relayed_at > 20:
                relay_outbox.apply_async(queue=queue)
                relayed_at = time.monotonic()
            return statuses()[OutboundEmail.Status.SENT] == RECIPIENTS

        processes.wait_for(all_sent, timeout=1500, what="every notice email sent", log=log)
    finally:
        processes.kill(worker)

    with tenant_context(s.hudson):
        rows = list(
            NoticeDelivery.objects.filter(notice=notice).values_list("recipient_id", "email_id")
        )
        assert len(rows) == RECIPIENTS
        assert len({recipient for recipient, _ in rows}) == RECIPIENTS  # each recorded once
        assert len({email for _, email in rows}) == RECIPIENTS
        emails = OutboundEmail.objects.filter(
            dedupe_key__startswith=f"incident-notice:{notice.pk}:"
        )
        assert emails.count() == RECIPIENTS  # and queued once
        notice.refresh_from_db()
        assert notice.status == Notice.Status.SENT and notice.sent_at is not None
        leg.refresh_from_db()
        assert leg.met_at == notice.sent_at
        message_ids = set(emails.values_list("message_id", flat=True))
    delivered = _recorded(recording)
    assert set(delivered) == message_ids
    repeats = len(delivered) - len(set(delivered))
    assert repeats <= 4, f"{repeats} messages delivered twice"
