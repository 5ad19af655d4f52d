"""Celery with real workers, a real beat and the real Redis broker (issue #6, items 1, 5, 6).

- 1,000 outbox emails, the worker SIGKILLed mid-run and started again: every email is
  recorded sent exactly once, none is lost, and at the SMTP boundary every Message-ID arrives
  (a repeat is possible only for a message in flight at the kill, and carries the same id).
- An outbox row committed by a process killed before its enqueue is sent by the relay.
- Two beats started at once: the periodic work is published by one of them only; when it
  dies the other takes over.
- /healthz/workers/ says whether a worker answers and a beat is alive (503 when not); which one
  is down only to ops (tests/test_health_exposure.py).

Processes run with a queue of their own per test (k12cloud.notifications.tests.processes).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.test import Client, override_settings

from accounts.models import Organization
from accounts.tests.factories import OrganizationFactory
from k12cloud.notifications.models import OutboundEmail, TaskRun
from k12cloud.notifications.tasks import relay_outbox, send_outbound_email
from k12cloud.notifications.tests import processes
from k12cloud.tenancy import tenant_context

pytestmark = pytest.mark.django_db(transaction=True)

EMAILS = 1000


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _outbox_rows(organization: Organization, count: int) -> list[OutboundEmail]:
    """`count` pending rows, written directly (no after-commit send from the test process)."""
    with tenant_context(organization):
        return OutboundEmail.objects.bulk_create(
            OutboundEmail(
                organization=organization,
                to=f"member{n}@example.org",
                template="notifications/email/notice",
                subject=f"Reminder {n}",
                body_text=f"Reminder {n}",
                message_id=OutboundEmail.new_message_id(),
            )
            for n in range(count)
        )


def _statuses(organization: Organization) -> Counter[str]:
    with tenant_context(organization):
        return Counter(OutboundEmail.objects.values_list("status", flat=True))


def _recorded(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_a_sigkilled_worker_loses_no_email_and_records_each_sent_once(tmp_path: Path) -> None:
    organization = OrganizationFactory.create()
    rows = _outbox_rows(organization, EMAILS)
    queue = processes.new_queue()
    recording = tmp_path / "delivered.txt"
    log = tmp_path / "worker.log"
    extra = {
        "NOTIFICATIONS_RECORDING_FILE": str(recording),
        "CELERY_VISIBILITY_TIMEOUT": "5",
    }
    for row in rows:
        send_outbound_email.apply_async(args=[organization.pk, row.pk], queue=queue)

    worker = processes.start_worker(queue, log, **extra)
    try:
        processes.wait_for(
            lambda: len(_recorded(recording)) >= EMAILS // 4,
            timeout=300,
            what="a quarter of the emails",
            log=log,
        )
        processes.kill(worker)  # SIGKILL the worker and its pool, mid-run
        delivered_at_kill = len(_recorded(recording))
        assert delivered_at_kill < EMAILS, "the worker finished before the kill: nothing proven"

        # Tasks the killed worker had taken are redelivered once the broker's visibility
        # timeout has passed: a worker that starts sooner finds none to restore at start-up
        time.sleep(int(extra["CELERY_VISIBILITY_TIMEOUT"]) + 1)
        worker = processes.start_worker(queue, log, **extra)
        # and what no task carries any more is sent by the outbox relay, which beat runs every
        # minute in production (docs/notifications.md)
        relayed_at = time.monotonic()

        def all_sent() -> bool:
            nonlocal relayed_at
            if time.monotonic() - relayed_at > 30:
                relay_outbox.apply_async(queue=queue)
                relayed_at = time.monotonic()
            return _statuses(organization)[OutboundEmail.Status.SENT] == EMAILS

        processes.wait_for(
            all_sent, timeout=900, what="every email sent after the restart", log=log
        )
    finally:
        processes.kill(worker)

    with tenant_context(organization):
        sent = list(OutboundEmail.objects.values_list("message_id", "attempts", "status"))
    # our record: exactly once each
    assert {status for _, _, status in sent} == {OutboundEmail.Status.SENT}
    assert {attempts for _, attempts, _ in sent} == {1}
    # the SMTP boundary: no loss, and nothing but our messages
    delivered = _recorded(recording)
    expected_ids = {message_id for message_id, _, _ in sent}
    assert set(delivered) == expected_ids
    # A repeat is possible only for a message handed to the server between the send and the
    # commit when the kill came (at most one per pool process); it carries the same Message-ID,
    # by which the receiving side drops it (docs/notifications.md).
    repeats = len(delivered) - len(set(delivered))
    assert repeats <= 4, f"{repeats} messages delivered twice"


def test_the_relay_sends_a_row_whose_process_died_between_commit_and_enqueue(
    tmp_path: Path,
) -> None:
    organization = OrganizationFactory.create()
    crashed = subprocess.run(
        [
            sys.executable,
            "-m",
            "k12cloud.notifications.tests.crash_after_commit",
            str(organization.pk),
            "officer@example.org",
        ],
        cwd=processes.ROOT,
        env=processes.environment(processes.new_queue()),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert crashed.returncode == -9, crashed.stdout + crashed.stderr  # SIGKILLed
    assert "the enqueue ran" not in crashed.stdout
    with tenant_context(organization):
        row = OutboundEmail.objects.get(dedupe_key="crash-after-commit")
    assert row.status == OutboundEmail.Status.PENDING  # committed, never enqueued

    queue = processes.new_queue()
    recording = tmp_path / "delivered.txt"
    log = tmp_path / "worker.log"
    worker = processes.start_worker(
        queue,
        log,
        concurrency=1,
        NOTIFICATIONS_RECORDING_FILE=str(recording),
        NOTIFICATIONS_RELAY_AFTER_SECONDS="0",
    )
    try:
        relay_outbox.apply_async(queue=queue)  # what beat sends every minute
        processes.wait_for(
            lambda: _statuses(organization)[OutboundEmail.Status.SENT] == 1,
            timeout=60,
            what="the relay to send the row",
            log=log,
        )
    finally:
        processes.kill(worker)
    assert _recorded(recording) == [row.message_id]
    run = TaskRun.objects.get(name="notifications.relay_outbox")
    assert run.ok is True and run.result == "1" and run.finished_at is not None


def _published(queue: str) -> list[dict[str, object]]:
    return [json.loads(raw) for raw in _redis().lrange(queue, 0, -1)]


def _origins(messages: list[dict[str, object]]) -> Counter[str]:
    return Counter(str(message["headers"]["origin"]) for message in messages)  # type: ignore[index]


def test_two_beats_publish_the_schedule_once_and_the_standby_takes_over(tmp_path: Path) -> None:
    queue = processes.new_queue()
    key = f"k12cloud-test:{uuid.uuid4().hex}"
    extra = {
        "BEAT_LOCK_KEY": f"{key}:lock",
        "BEAT_HEARTBEAT_KEY": f"{key}:heartbeat",
        "BEAT_LOCK_TTL_SECONDS": "3",
    }
    app = "k12cloud.notifications.tests.beat_probe_app"
    logs = [tmp_path / "beat-1.log", tmp_path / "beat-2.log"]
    beats = [
        processes.start_beat(queue, logs[n], tmp_path / f"schedule-{n}", app=app, **extra)
        for n in range(2)
    ]
    try:
        processes.wait_for(
            lambda: bool(_published(queue)), timeout=120, what="a probe", log=logs[0]
        )
        processes.wait_for(
            lambda: any("standing by" in log.read_text() for log in logs if log.exists()),
            timeout=120,
            what="the second beat to start and stand by",
            log=logs[1],
        )
        start = len(_published(queue))
        time.sleep(6)
        assert all(beat.poll() is None for beat in beats), "both beats keep running"
        first = _published(queue)
        origins = _origins(first)
        assert len(origins) == 1, f"two beats published: {origins}"
        assert 3 <= len(first) - start <= 8, f"{len(first) - start} probes in 6 s, 1 s schedule"
        leader_pid = int(next(iter(origins)).removeprefix("gen").split("@")[0])
        leader = next(beat for beat in beats if beat.pid == leader_pid)
        standby = next(beat for beat in beats if beat is not leader)

        processes.kill(leader)
        at_the_kill = _origins(_published(queue))  # the leader's last probes included
        processes.wait_for(
            lambda: len(_origins(_published(queue))) == 2,
            timeout=60,
            what="the standby beat to take over",
            log=logs[beats.index(standby)],
        )
        time.sleep(3)
        # (the queue is a Redis list that kombu pushes on the left: compare counts, not order)
        since_the_kill = _origins(_published(queue)) - at_the_kill
        host = next(iter(origins)).split("@")[1]
        assert set(since_the_kill) == {f"gen{standby.pid}@{host}"}
        assert since_the_kill[f"gen{standby.pid}@{host}"] >= 2
    finally:
        for beat in beats:
            processes.kill(beat)
        _redis().delete(queue)


def test_health_reports_workers_and_beat(tmp_path: Path, client: Client) -> None:
    queue = processes.new_queue()
    key = f"k12cloud-test:{uuid.uuid4().hex}"
    extra = {
        "BEAT_LOCK_KEY": f"{key}:lock",
        "BEAT_HEARTBEAT_KEY": f"{key}:heartbeat",
        "BEAT_LOCK_TTL_SECONDS": "3",
    }
    token = f"health-{uuid.uuid4().hex}"
    ops = {"Authorization": f"Bearer {token}"}  # the details are for ops (k12cloud.health)
    with override_settings(BEAT_HEARTBEAT_KEY=extra["BEAT_HEARTBEAT_KEY"], HEALTHZ_TOKEN=token):
        url = "/healthz/workers/"
        worker = processes.start_worker(queue, tmp_path / "worker.log", concurrency=1, **extra)
        beat = processes.start_beat(queue, tmp_path / "beat.log", tmp_path / "schedule", **extra)
        try:
            processes.wait_for(
                lambda: client.get(url).status_code == 200,
                timeout=60,
                what="worker and beat to be reported alive",
                log=tmp_path / "worker.log",
            )
            body = client.get(url, headers=ops).json()
            assert body["worker"] is True and body["beat"] is True and body["status"] == "ok"
            assert client.get(url).json() == {"status": "ok"}  # anyone: no details

            processes.kill(beat)
            processes.wait_for(
                lambda: client.get(url).status_code == 503, timeout=20, what="beat reported dead"
            )
            assert client.get(url, headers=ops).json() == {
                "status": "unavailable",
                "worker": True,
                "beat": False,
            }
            assert client.get(url).json() == {"status": "unavailable"}
        finally:
            processes.kill(beat)
            processes.kill(worker)
            _redis().delete(queue)
