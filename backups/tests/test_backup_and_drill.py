"""Backup, then restore drill, on the real test database: real pg_dump, pg_restore, subprocesses.

Transactional tests: the seeded rows are committed, so pg_dump (another connection) sees them.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, UserFactory, member
from audit.actions import Action
from audit.context import Actor, acting_as
from audit.models import AuditEvent
from audit.services import record
from backups import crypto, database
from backups.models import Backup, RestoreDrill
from backups.services import (
    BackupFailed,
    backup_create,
    backup_storage,
    restore_drill_run,
    scratch_database_name,
)
from k12cloud.tenancy import unscoped_all_tenants

pytestmark = pytest.mark.django_db(transaction=True)

OTHER_KEY = crypto.generate_key_text()


@pytest.fixture
def seeded() -> dict[str, Organization]:
    """Two tenants with members and audit chains, a platform org with an ops user."""
    platform = OrganizationFactory.create(slug="k-12-cloud", kind=Organization.Kind.PLATFORM)
    lincoln = OrganizationFactory.create(slug="lincoln-usd")
    hudson = OrganizationFactory.create(slug="hudson-csd")
    member(lincoln, Role.ORG_ADMIN, email="admin@lincoln.example")
    member(hudson, Role.PRIVACY_OFFICER, email="privacy@hudson.example")
    UserFactory.create(email="ops@k12.cloud", is_staff=True)
    with acting_as(Actor.system("test")):
        for number in range(3):
            record(Action.MEMBER_INVITED, organization=lincoln, changes={"n": number})
            record(Action.MEMBER_INVITED, organization=hudson, changes={"n": number})
        record(Action.SIGNED_IN)
    return {"platform": platform, "lincoln": lincoln, "hudson": hudson}


def events_for(action: Action) -> int:
    with unscoped_all_tenants(reason="test"):
        return AuditEvent.objects.filter(action=action.value).count()


def scratch_databases(backup_name: str) -> list[str]:
    server = database.backup_server()
    with server.for_database("postgres").connect(autocommit=True) as connection:
        rows = connection.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s",
            [scratch_database_name(server.dbname, 0).rsplit("_", 1)[0] + "_%"],
        ).fetchall()
    return [row[0] for row in rows]


def test_backup_then_drill_passes(seeded: dict[str, Organization]) -> None:
    out = StringIO()
    call_command("backup", stdout=out)
    backup = Backup.objects.get()
    assert backup.status == Backup.Status.SUCCEEDED, backup.error
    assert f"Backup {backup.pk} stored as {backup.storage_name}" in out.getvalue()

    # the manifest: time, size, SHA-256 of the stored (encrypted) file, version, migrations,
    # row counts taken in pg_dump's own snapshot
    manifest = backup.manifest
    with backup_storage().open(backup.storage_name, "rb") as stored:
        content = stored.read()
    assert manifest["size_bytes"] == backup.size_bytes == len(content)
    assert manifest["sha256"] == backup.sha256 == hashlib.sha256(content).hexdigest()
    assert manifest["server_version"].startswith(("15", "16", "17"))
    assert ["backups", "0001_backups"] in manifest["migrations"]
    assert manifest["row_counts"]["accounts_organization"] == 3
    assert manifest["row_counts"]["accounts_membership"] == 2
    # every tenant's rows, despite forced row-level security: 3 + 3 events + sign-in
    assert manifest["row_counts"]["audit_auditevent"] == 7
    assert manifest["key_fingerprint"] == crypto.parse_key(crypto_key()).fingerprint_hex
    assert manifest["started_at"] and manifest["finished_at"]
    # encrypted before it was stored: no pg_dump magic, no plaintext of the data
    assert content.startswith(crypto.MAGIC)
    assert b"PGDMP" not in content
    assert b"lincoln-usd" not in content
    assert events_for(Action.BACKUP_CREATED) == 1

    out = StringIO()
    call_command("restore_drill", stdout=out)
    drill = RestoreDrill.objects.get()
    assert drill.status == RestoreDrill.Status.PASSED, (drill.failed_step, drill.reason)
    assert drill.backup == backup
    assert [step["step"] for step in drill.steps] == [
        "checksum",
        "create_database",
        "restore",
        "row_counts",
        "migrations",
        "check_rls",
        "audit_verify",
        "drop_database",
    ]
    assert all(step["ok"] and step["seconds"] >= 0 for step in drill.steps)
    assert "all intact" in drill.steps[6]["detail"]
    assert "tenant tables protected" in drill.steps[5]["detail"]
    assert drill.recovery_time_seconds and drill.recovery_time_seconds > 0
    assert drill.recovery_point_seconds is not None and drill.recovery_point_seconds >= 0
    assert f"Restore drill {drill.pk} passed" in out.getvalue()
    assert scratch_databases(backup.storage_name) == []  # dropped
    assert events_for(Action.RESTORE_DRILL_PASSED) == 1
    assert mail.outbox == []  # no alert when it passes


def crypto_key() -> str:
    from django.conf import settings

    return str(settings.BACKUP_ENCRYPTION_KEY)


def test_a_corrupted_backup_file_fails_the_drill_naming_the_step(
    seeded: dict[str, Organization],
) -> None:
    backup = backup_create(trigger=Backup.Trigger.MANUAL)
    storage = backup_storage()
    with storage.open(backup.storage_name, "rb") as stored:
        content = bytearray(stored.read())
    content[len(content) // 2] ^= 0x01  # one bit flipped in the middle
    storage.delete(backup.storage_name)
    storage.save(backup.storage_name, ContentFile(bytes(content)))

    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("restore_drill", "--backup", str(backup.pk), stdout=out)
    drill = RestoreDrill.objects.get()
    assert drill.status == RestoreDrill.Status.FAILED
    assert drill.failed_step == "checksum"
    assert "does not match the manifest" in drill.reason
    assert "failed at the step checksum" in str(raised.value)
    assert raised.value.returncode == 1
    assert drill.recovery_time_seconds is None
    # ops staff are emailed through the platform organization's outbox
    assert [message.to for message in mail.outbox] == [["ops@k12.cloud"]]
    assert mail.outbox[0].subject == "[k12cloud] Restore drill failed"
    assert "checksum" in mail.outbox[0].body
    assert events_for(Action.RESTORE_DRILL_FAILED) == 1


def test_a_corrupted_file_whose_checksum_was_also_updated_fails_at_restore(
    seeded: dict[str, Organization],
) -> None:
    """Past the checksum (an attacker rewrote the record too), authentication still catches it."""
    backup = backup_create(trigger=Backup.Trigger.MANUAL)
    storage = backup_storage()
    with storage.open(backup.storage_name, "rb") as stored:
        content = bytearray(stored.read())
    content[-40] ^= 0x01
    storage.delete(backup.storage_name)
    storage.save(backup.storage_name, ContentFile(bytes(content)))
    Backup.objects.filter(pk=backup.pk).update(sha256=hashlib.sha256(content).hexdigest())

    drill = restore_drill_run(trigger=RestoreDrill.Trigger.ON_DEMAND)
    assert drill.status == RestoreDrill.Status.FAILED
    assert drill.failed_step == "restore"
    assert "fails authentication" in drill.reason
    assert drill.steps[-1]["step"] == "drop_database" and drill.steps[-1]["ok"]
    assert scratch_databases(backup.storage_name) == []


def test_a_backup_with_a_wrong_key_fails_to_restore_with_a_clear_message(
    seeded: dict[str, Organization], settings: object, tmp_path: Path, backups_on_disk: Path
) -> None:
    backup = backup_create(trigger=Backup.Trigger.MANUAL)
    assert (backups_on_disk / backup.storage_name).is_file()
    written_with = backup.key_fingerprint
    settings.BACKUP_ENCRYPTION_KEY = OTHER_KEY  # type: ignore[attr-defined]

    drill = restore_drill_run(trigger=RestoreDrill.Trigger.ON_DEMAND)
    assert drill.status == RestoreDrill.Status.FAILED
    assert drill.failed_step == "restore"
    assert drill.reason.startswith("cannot decrypt the backup: wrong backup key")
    assert written_with in drill.reason
    assert crypto.parse_key(OTHER_KEY).fingerprint_hex in drill.reason
    assert scratch_databases(backup.storage_name) == []

    # by hand, the same message, and no half-written output left behind
    output = tmp_path / "restore.dump"
    with pytest.raises(CommandError) as raised:
        call_command("backup_decrypt", "--backup", str(backup.pk), "--output", str(output))
    assert "wrong backup key" in str(raised.value)
    assert raised.value.returncode == 1
    assert not output.exists()

    # a retired key listed in BACKUP_DECRYPTION_KEYS still decrypts it: a pg_dump archive
    settings.BACKUP_DECRYPTION_KEYS = [crypto_default_key()]  # type: ignore[attr-defined]
    call_command("backup_decrypt", "--backup", str(backup.pk), "--output", str(output))
    assert output.read_bytes().startswith(b"PGDMP")


def crypto_default_key() -> str:
    from k12cloud.settings.development_values import DEVELOPMENT_BACKUP_ENCRYPTION_KEY

    return DEVELOPMENT_BACKUP_ENCRYPTION_KEY


def test_a_failing_pg_dump_is_recorded_and_emailed(
    seeded: dict[str, Organization], settings: object, backups_on_disk: Path
) -> None:
    settings.BACKUP_DATABASE_URL = "postgresql://no_such_role_k12@127.0.0.1:5432/x"  # type: ignore[attr-defined]
    with pytest.raises(BackupFailed):
        backup_create(trigger=Backup.Trigger.SCHEDULED)
    backup = Backup.objects.get()
    assert backup.status == Backup.Status.FAILED
    assert "no_such_role_k12" in backup.error
    assert backup.storage_name == ""
    assert [message.subject for message in mail.outbox] == ["[k12cloud] Backup failed"]
    assert events_for(Action.BACKUP_FAILED) == 1
    assert not backups_on_disk.exists() or not any(p.is_file() for p in backups_on_disk.rglob("*"))


def test_restore_drill_rejects_an_unknown_backup_id() -> None:
    with pytest.raises(CommandError) as raised:
        call_command("restore_drill", "--backup", "999999")
    assert raised.value.returncode == 2
    assert "--backup" in str(raised.value)
    assert RestoreDrill.objects.count() == 0


def test_a_drill_without_any_backup_fails_and_alerts(seeded: dict[str, Organization]) -> None:
    drill = restore_drill_run(trigger=RestoreDrill.Trigger.SCHEDULED)
    assert drill.status == RestoreDrill.Status.FAILED
    assert drill.failed_step == "select_backup"
    assert "no successful backup" in drill.reason
    assert len(mail.outbox) == 1


def test_manual_decrypt_and_pg_restore_by_hand(
    seeded: dict[str, Organization], tmp_path: Path
) -> None:
    """docs/backups.md's manual restore: decrypt to a file, which pg_restore lists."""
    import subprocess

    backup = backup_create(trigger=Backup.Trigger.MANUAL)
    output = tmp_path / "plain.dump"
    call_command("backup_decrypt", "--backup", str(backup.pk), "--output", str(output))
    listing = subprocess.run(
        ["pg_restore", "--list", str(output)], capture_output=True, text=True, check=True
    ).stdout
    assert "TABLE DATA public audit_auditevent" in listing
    # --file reads an encrypted file copied out of the storage
    encrypted = tmp_path / "backup.k12enc"
    with backup_storage().open(backup.storage_name, "rb") as stored:
        encrypted.write_bytes(stored.read())
    again = tmp_path / "again.dump"
    call_command("backup_decrypt", "--file", str(encrypted), "--output", str(again))
    assert again.read_bytes() == output.read_bytes()
    with pytest.raises(CommandError) as raised:
        call_command("backup_decrypt", "--file", str(tmp_path / "nope"), "--output", "-")
    assert raised.value.returncode == 2 and "--file" in str(raised.value)


def test_manifest_is_json_serialisable_and_names_no_personal_data(
    seeded: dict[str, Organization],
) -> None:
    backup = backup_create(trigger=Backup.Trigger.MANUAL)
    text = json.dumps(backup.manifest)
    assert "lincoln.example" not in text and "hudson" not in text
    assert io.BytesIO(text.encode()).read()  # stored as JSON in the record


# the old backups' days, 800 days back, cross a month end only on some dates: the pruning
# below is worked out for this one
@time_machine.travel(datetime(2026, 12, 4, 12, 0, tzinfo=UTC), tick=True)
def test_the_beat_tasks_back_up_prune_and_drill(
    seeded: dict[str, Organization], backups_on_disk: Path
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from backups.tasks import backup_daily, restore_drill_monthly
    from k12cloud.celery import app

    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert "backups.backup_daily" in schedule and "backups.restore_drill_monthly" in schedule
    assert schedule["backups.restore_drill_monthly"].day_of_month == {1}
    # ten daily backups from long ago (periods that have a backup count, so old ones stay)
    old = timezone.now() - timedelta(days=800)
    for day in range(10):
        name = backup_storage().save(f"old/{day}.k12enc", ContentFile(b"x"))
        Backup.objects.create(
            started_at=old + timedelta(days=day),
            status=Backup.Status.SUCCEEDED,
            trigger=Backup.Trigger.SCHEDULED,
            storage_name=name,
        )

    new_id = backup_daily()

    assert Backup.objects.get(pk=new_id).status == Backup.Status.SUCCEEDED
    survivors = list(Backup.objects.order_by("started_at").values_list("storage_name", flat=True))
    # daily: the new one and the 6 newest old days; their weeks and months are among those
    assert survivors == [f"old/{day}.k12enc" for day in range(4, 10)] + [
        Backup.objects.get(pk=new_id).storage_name
    ]
    assert not (backups_on_disk / "old/0.k12enc").exists()
    result = restore_drill_monthly()
    drill = RestoreDrill.objects.get()
    assert result == f"{drill.pk}:passed", (drill.failed_step, drill.reason)


def test_a_misconfigured_drill_is_recorded_failed_not_left_running(
    seeded: dict[str, Organization], settings: object
) -> None:
    from django.utils import timezone

    Backup.objects.create(
        started_at=timezone.now(), status=Backup.Status.SUCCEEDED, trigger="manual"
    )
    settings.BACKUP_DATABASE_URL = "mysql://nope"  # type: ignore[attr-defined]
    drill = restore_drill_run(trigger=RestoreDrill.Trigger.ON_DEMAND)
    assert drill.status == RestoreDrill.Status.FAILED
    assert drill.failed_step == "select_backup"
    assert "BACKUP_DATABASE_URL is malformed" in drill.reason
    assert len(mail.outbox) == 1
