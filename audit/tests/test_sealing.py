"""The sealer in production's arrangement: beat's schedule, a real worker, the real broker.

And its two other entry points: the Celery task's body and `manage.py audit_seal`.
(The chain it builds and the trigger that guards it: test_chain.py; verification and the
bound on waiting: test_verify_command.py.)
"""

from __future__ import annotations

import uuid
from io import StringIO
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.management import call_command

from accounts.tests.factories import OrganizationFactory
from audit.actions import Action
from audit.context import Actor, acting_as
from audit.services import record
from audit.tasks import seal_audit_chains
from audit.verification import verify_chains
from k12cloud.celery import app
from k12cloud.notifications.tests import processes

pytestmark = pytest.mark.django_db(transaction=True)


def test_beat_schedules_the_sealer_every_two_seconds() -> None:
    entry = app.conf.beat_schedule["audit-seal-chains"]
    assert (entry["task"], entry["schedule"]) == ("audit.seal_audit_chains", 2.0)
    assert entry["task"] in app.tasks


def test_the_task_and_the_command_seal_what_is_waiting() -> None:
    organization = OrganizationFactory.create()
    with acting_as(Actor.system("test")):
        record(Action.MEMBER_INVITED, organization=organization)
        record(Action.SIGNED_IN)
    assert seal_audit_chains() == 2
    record(Action.MEMBER_INVITED, organization=organization, actor=Actor.system("test"))
    out = StringIO()
    call_command("audit_seal", stdout=out)
    assert out.getvalue() == "1 audit events sealed.\n"
    report = verify_chains()
    assert (report.intact, report.events, report.awaiting_seal) == (True, 3, 0)


def test_beat_and_a_worker_seal_new_events_into_their_chains(tmp_path: Path) -> None:
    organization = OrganizationFactory.create()
    with acting_as(Actor.system("test")):
        for _ in range(5):
            record(Action.MEMBER_INVITED, organization=organization)
        record(Action.SIGNED_IN)
    assert verify_chains().awaiting_seal == 6

    queue = processes.new_queue()
    key = f"k12cloud-test:{uuid.uuid4().hex}"
    extra = {"BEAT_LOCK_KEY": f"{key}:lock", "BEAT_HEARTBEAT_KEY": f"{key}:heartbeat"}
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    worker = processes.start_worker(queue, worker_log, concurrency=1, **extra)
    beat = processes.start_beat(queue, beat_log, tmp_path / "schedule", **extra)
    try:
        processes.wait_for(
            lambda: verify_chains().awaiting_seal == 0,
            timeout=180,
            what="beat and the worker to seal the events",
            log=worker_log,
        )
    finally:
        processes.kill(beat)
        processes.kill(worker)
        redis.Redis.from_url(settings.REDIS_URL).delete(queue)

    report = verify_chains()
    assert report.intact, report.problems
    assert report.events == 6
    assert report.longest_seal_seconds is not None
