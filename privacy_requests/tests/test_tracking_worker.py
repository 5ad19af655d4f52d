"""The deadline sweep through a real Celery worker and the real Redis broker: the beat task fans
out one tenant task per organization, and running it twice in the same hour sends nothing the
second time (counted in Notification and OutboundEmail rows and at the SMTP boundary).

Workers cannot share the test's pinned clock, so the request's acknowledgement date is set
relative to the real local date.
"""

from __future__ import annotations

import importlib
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps

from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from k12cloud.notifications.models import Notification, OutboundEmail, TaskRun
from k12cloud.notifications.tests import processes
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from privacy_requests.rules.models import JurisdictionRule
from privacy_requests.tests.factories import received_request
from privacy_requests.tracking.services import local_now
from privacy_requests.tracking.tasks import sweep_deadlines, sweep_unconfirmed

pytestmark = pytest.mark.django_db(transaction=True)

SWEEP = "privacy_requests.tracking.sweep_deadlines"
FENCE = "privacy_requests.tracking.sweep_unconfirmed"


def finished_runs(name: str) -> int:
    return TaskRun.objects.filter(name=name, finished_at__isnull=False, ok=True).count()


def rows(organization: Organization) -> tuple[int, int, int]:
    with tenant_context(organization):
        return (
            Notification.objects.count(),
            OutboundEmail.objects.count(),
            OutboundEmail.objects.filter(status=OutboundEmail.Status.SENT).count(),
        )


def test_the_sweep_twice_through_a_real_worker_sends_once(tmp_path: Path) -> None:
    if not JurisdictionRule.objects.exists():  # a transactional test flushed the rules table
        importlib.import_module("privacy_requests.migrations.0003_load_reference_rules").load(
            apps, None
        )
    lincoln = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    OrganizationFactory(slug="hudson-csd", time_zone="America/New_York")  # nothing due there
    member(lincoln, Role.PRIVACY_OFFICER, email="olga@lincoln.example")
    request = received_request(lincoln)
    tomorrow = local_now(lincoln).date() + timedelta(days=1)
    with tenant_context(lincoln):  # acknowledgement due tomorrow: within the reminder window
        PrivacyRequest.objects.filter(pk=request.pk).update(
            acknowledge_by=tomorrow, next_due_on=tomorrow
        )

    queue = processes.new_queue()
    recording = tmp_path / "delivered.txt"
    log = tmp_path / "worker.log"
    sweep_deadlines.apply_async(queue=queue)
    sweep_deadlines.apply_async(queue=queue)  # the same hour, again
    worker = processes.start_worker(
        queue, log, concurrency=1, NOTIFICATIONS_RECORDING_FILE=str(recording)
    )
    try:
        processes.wait_for(
            lambda: finished_runs(SWEEP) == 2, timeout=90, what="both sweeps", log=log
        )
        # one worker process takes tasks in order: once this runs, both fan-outs' tenant
        # tasks (queued before it) have run
        sweep_unconfirmed.apply_async(queue=queue)
        processes.wait_for(lambda: finished_runs(FENCE) == 1, timeout=60, what="fence", log=log)
        processes.wait_for(
            lambda: rows(lincoln)[2] == 1, timeout=60, what="the reminder email sent", log=log
        )
    finally:
        processes.kill(worker)

    assert rows(lincoln) == (1, 1, 1)  # one notice, one email, sent
    with tenant_context(lincoln):
        notice = Notification.objects.get()
    assert notice.dedupe_key == f"ack-reminder:{request.pk}:{tomorrow.isoformat()}"
    assert len(recording.read_text().splitlines()) == 1  # one message at the SMTP boundary
    run = TaskRun.objects.filter(name=SWEEP).order_by("pk").first()
    assert run is not None and run.result == "2"  # one tenant task per organization
