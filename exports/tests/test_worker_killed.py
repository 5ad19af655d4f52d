"""A real Celery worker SIGKILLed in the middle of an export: the export is not lost, not
completed half-written, and the next worker starts it over and completes it (issue #19)."""

from __future__ import annotations

from pathlib import Path

import pytest
from celery import current_app
from django.test import Client

from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from exports.models import OrganizationExport
from exports.services import RUN_TASK, export_request
from exports.tests.helpers import download, members
from exports.tests.seeding import clone_requests
from k12cloud.notifications.tests import processes
from k12cloud.tenancy import tenant_context

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 6000


def _export(organization: Organization, pk: int) -> OrganizationExport:
    with tenant_context(organization):
        return OrganizationExport.objects.get(pk=pk)


def test_a_sigkilled_worker_restarts_the_export_cleanly(
    tmp_path: Path, exports_storage: Path
) -> None:
    org = OrganizationFactory.create()
    admin = member(org, Role.ORG_ADMIN)
    clone_requests(org, ROWS)
    export = export_request(organization=org, actor=admin, via="portal", enqueue=False)
    queue = processes.new_queue()
    log = tmp_path / "worker.log"
    extra = {
        "EXPORTS_STORAGE_ROOT": str(exports_storage),
        "EXPORTS_CHUNK_SIZE": "50",  # many small chunks: a kill lands mid-export
        "CELERY_VISIBILITY_TIMEOUT": "5",
    }
    current_app.send_task(RUN_TASK, args=[org.pk, export.pk], queue=queue)

    worker = processes.start_worker(queue, log, concurrency=1, **extra)
    try:
        processes.wait_for(
            lambda: _export(org, export.pk).rows_done >= 500,
            timeout=180,
            what="the export under way",
            log=log,
        )
        processes.kill(worker)  # SIGKILL the worker and its pool, mid-export
        killed = _export(org, export.pk)
        assert killed.status == OrganizationExport.Status.RUNNING
        assert killed.rows_done < killed.rows_total, "finished before the kill: nothing proven"
        assert killed.storage_name == ""
        assert list(exports_storage.rglob("*.k12x")) == []  # nothing half-written stored

        worker = processes.start_worker(queue, log, concurrency=1, **extra)
        processes.wait_for(
            lambda: _export(org, export.pk).status == OrganizationExport.Status.COMPLETED,
            timeout=300,
            what="the export completed after the restart",
            log=log,
        )
    finally:
        processes.kill(worker)

    done = _export(org, export.pk)
    assert done.attempts == 2
    assert done.rows_done == done.rows_total >= ROWS
    assert len(list(exports_storage.rglob("*.k12x"))) == 1
    files = members(download(sign_in(Client(), admin), org, done))
    lines = files["tables/privacy_requests.PrivacyRequest.jsonl"].splitlines()
    assert len(lines) == ROWS
    assert all(b"Cloned Requester" in line for line in lines)
