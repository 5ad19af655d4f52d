"""Pruning deletes files and records by the 7/5/12 policy; the ops admin lists backups, drills."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import OrganizationFactory, UserFactory, member, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from backups.models import Backup, RestoreDrill
from backups.services import backup_storage, backups_prune
from k12cloud.tenancy import unscoped_all_tenants

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)


def stored_backup(started: datetime, status: str = Backup.Status.SUCCEEDED) -> Backup:
    name = f"{started:%Y/%m}/k12cloud-{started:%Y%m%dT%H%M%SZ}.dump.k12enc"
    stored = backup_storage().save(name, ContentFile(b"encrypted")) if status != "running" else ""
    return Backup.objects.create(
        started_at=started,
        finished_at=started + timedelta(minutes=3),
        status=status,
        trigger=Backup.Trigger.SCHEDULED,
        storage_name=stored,
        size_bytes=9,
        sha256="ab" * 32,
        server_version="15.20",
        manifest={"row_counts": {"accounts_organization": 3}, "migrations": [["a", "0001"]]},
    )


def test_prune_deletes_files_and_records_beyond_the_policy(backups_on_disk: Path) -> None:
    backups = [stored_backup(NOW - timedelta(days=n)) for n in range(400)]
    failed_recent = stored_backup(NOW - timedelta(days=2, hours=1), Backup.Status.FAILED)
    failed_old = stored_backup(NOW - timedelta(days=45), Backup.Status.FAILED)
    interrupted = stored_backup(NOW - timedelta(days=2), Backup.Status.RUNNING)

    result = backups_prune(now=NOW)

    remaining = set(Backup.objects.values_list("pk", flat=True))
    kept = [b for b in backups if b.pk in remaining]
    # Friday 4 Dec: 7 daily (28 Nov-4 Dec, covering this week, Sunday 29 Nov and 30 Nov too),
    # 3 more weekly (Sundays 22, 15, 8 Nov), 10 more monthly (the last days of Jan-Oct)
    assert result.kept == len(kept) == 7 + 3 + 10
    assert {b.started_at.date().isoformat() for b in kept} >= {
        "2026-11-08",
        "2026-11-15",
        "2026-11-22",
        "2026-10-31",
        "2026-01-31",
    }
    assert len(result.pruned) == 400 - len(kept) + 1  # and the old failed record
    assert failed_old.pk not in remaining and failed_recent.pk in remaining
    interrupted.refresh_from_db()
    assert interrupted.status == Backup.Status.FAILED and interrupted.error == "interrupted"
    files = {str(p.relative_to(backups_on_disk)) for p in backups_on_disk.rglob("*") if p.is_file()}
    assert files == {b.storage_name for b in Backup.objects.exclude(storage_name="")}
    with unscoped_all_tenants(reason="test"):
        event = AuditEvent.objects.get(action=Action.BACKUPS_PRUNED.value)
    assert event.organization_id is None
    assert sorted(event.changes["pruned"]) == sorted(result.pruned)

    # idempotent: a second run the same day prunes nothing and records nothing
    assert backups_prune(now=NOW).pruned == []
    with unscoped_all_tenants(reason="test"):
        assert AuditEvent.objects.filter(action=Action.BACKUPS_PRUNED.value).count() == 1


@pytest.fixture
def ops() -> Client:
    client = Client()
    sign_in(client, UserFactory(email="ops@k12.example", is_staff=True, is_superuser=True))
    return client


def test_admin_lists_backups_with_their_status(ops: Client, django_assert_num_queries: Any) -> None:
    for days in range(2, 12):  # more rows, the same queries
        stored_backup(NOW - timedelta(days=days))
    ok = stored_backup(NOW - timedelta(days=1))
    failed = stored_backup(NOW, Backup.Status.FAILED)
    Backup.objects.filter(pk=failed.pk).update(error="pg_dump exited with 1: connection refused")
    url = reverse("admin:backups_backup_changelist")
    ops.get(url)  # warm the session's caches
    with django_assert_num_queries(ADMIN_LIST_QUERIES):
        response = ops.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "succeeded" in page and "failed" in page
    assert "pg_dump exited with 1: connection refused" in page
    assert ok.sha256[:12] in page
    detail = ops.get(reverse("admin:backups_backup_change", args=[ok.pk]))
    assert detail.status_code == 200
    assert "accounts_organization" in detail.content.decode()


def test_admin_shows_the_drill_history(ops: Client, django_assert_num_queries: Any) -> None:
    backup = stored_backup(NOW - timedelta(days=1))
    steps = [
        {"step": "checksum", "seconds": 0.1, "ok": True, "detail": "9 bytes"},
        {"step": "restore", "seconds": 2.5, "ok": False, "detail": "wrong backup key"},
    ]
    RestoreDrill.objects.create(
        backup=backup,
        backup_label=str(backup),
        started_at=NOW,
        finished_at=NOW + timedelta(seconds=3),
        status=RestoreDrill.Status.FAILED,
        trigger=RestoreDrill.Trigger.SCHEDULED,
        failed_step="restore",
        reason="cannot decrypt the backup: wrong backup key",
        steps=steps,
        recovery_point_seconds=86400.0,
    )
    RestoreDrill.objects.create(
        backup=backup,
        backup_label=str(backup),
        started_at=NOW - timedelta(days=30),
        status=RestoreDrill.Status.PASSED,
        trigger=RestoreDrill.Trigger.ON_DEMAND,
        recovery_time_seconds=12.5,
        recovery_point_seconds=3600.0,
    )
    url = reverse("admin:backups_restoredrill_changelist")
    ops.get(url)
    with django_assert_num_queries(ADMIN_LIST_QUERIES):
        response = ops.get(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert "passed" in page and "failed" in page
    assert "cannot decrypt the backup: wrong backup key" in page
    assert "12.5 s" in page and "24.0 h" in page
    drill = RestoreDrill.objects.get(status=RestoreDrill.Status.FAILED)
    detail = ops.get(reverse("admin:backups_restoredrill_change", args=[drill.pk]))
    assert detail.status_code == 200
    assert "<td>restore</td><td>FAILED</td>" in detail.content.decode()


def test_members_of_a_tenant_cannot_see_backups() -> None:
    org = OrganizationFactory.create()
    client = Client()
    sign_in(client, member(org))
    response = client.get(reverse("admin:backups_backup_changelist"))
    assert response.status_code == 302  # to the admin's sign-in: ops staff only


# session, user, device checks, the tenancy contexts' savepoints and settings, and the two list
# queries: independent of the number of rows
ADMIN_LIST_QUERIES = 11


def test_the_demo_ops_staff_group_reads_backups_without_being_superuser() -> None:
    from io import StringIO

    from django.core.management import call_command

    from accounts.models import User

    call_command("seed_demo", stdout=StringIO())
    ops_user = User.objects.get(email="ops@k12.cloud")
    assert ops_user.is_staff and not ops_user.is_superuser
    client = Client()
    sign_in(client, ops_user)
    for name in ("admin:backups_backup_changelist", "admin:backups_restoredrill_changelist"):
        assert client.get(reverse(name)).status_code == 200
    assert client.get(reverse("admin:backups_backup_add")).status_code == 403
