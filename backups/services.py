"""Backups, their pruning, and restore drills (docs/backups.md).

    backup_create(trigger=...)          pg_dump -> encrypt in the process -> the "backups" storage
    backups_prune(now=...)              7 daily, 5 weekly, 12 monthly (backups.retention)
    restore_drill_run(trigger=..., backup_id=None)
                                        restore into a scratch database, check it, drop it

Each writes its record and its platform audit event in one transaction; failures are recorded
(never only raised) and emailed to ops staff through the platform organization's outbox.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.utils import timezone

from audit.actions import Action
from audit.context import Actor
from audit.services import record
from backups import crypto, database, retention
from backups.alerts import alert_ops
from backups.models import Backup, RestoreDrill

logger = logging.getLogger(__name__)

READ_SIZE = 1024 * 1024
MANIFEST_FORMAT = 1
DRILL_STEPS = (
    "checksum",
    "create_database",
    "restore",
    "row_counts",
    "migrations",
    "check_rls",
    "audit_verify",
)


class BackupFailed(RuntimeError):
    pass


def backup_storage() -> Storage:
    return storages["backups"]


def configured_key() -> crypto.BackupKey:
    return crypto.parse_key(settings.BACKUP_ENCRYPTION_KEY)


def configured_keys() -> list[crypto.BackupKey]:
    """The current key first, then the retired ones that still decrypt older backups."""
    keys = [configured_key()]
    for index, text in enumerate(settings.BACKUP_DECRYPTION_KEYS):
        keys.append(crypto.parse_key(text, variable=f"BACKUP_DECRYPTION_KEYS[{index}]"))
    return keys


def _tail(stream: IO[bytes], limit: int = 1500) -> str:
    stream.seek(0)
    text = stream.read().decode("utf-8", "replace").strip()
    return text[-limit:]


def _read_pieces(stream: IO[bytes]) -> Iterator[bytes]:
    while piece := stream.read(READ_SIZE):
        yield piece


def _storage_name(started: datetime, backup_id: int) -> str:
    return f"{started:%Y/%m}/k12cloud-{started:%Y%m%dT%H%M%SZ}-{backup_id}.dump.k12enc"


def backup_create(*, trigger: str) -> Backup:
    """Dump the whole database, encrypt it while streaming, store it, record its manifest.

    Raises BackupFailed (after recording the failure and alerting ops) when anything fails;
    a partly written file is deleted.
    """
    backup = Backup.objects.create(started_at=timezone.now(), trigger=trigger)
    storage = backup_storage()
    stored_name = ""
    try:
        key = configured_key()
        server = database.backup_server()
        with (
            tempfile.TemporaryFile() as dump_errors,
            database.exported_snapshot(server) as snapshot,
        ):
            process = database.pg_dump(server, snapshot_id=snapshot.snapshot_id, stderr=dump_errors)
            assert process.stdout is not None
            reader = crypto.EncryptingReader(
                crypto.encrypt_chunks(_read_pieces(process.stdout), key=key)
            )
            try:
                stored_name = storage.save(
                    _storage_name(backup.started_at, backup.pk),
                    File(reader),  # type: ignore[arg-type]  # a binary file object
                )
            finally:
                process.stdout.close()
                returncode = process.wait()
            if returncode != 0:
                raise BackupFailed(f"pg_dump exited with {returncode}: {_tail(dump_errors)}")
        finished = timezone.now()
        manifest: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "encryption": f"k12cloud backup format {crypto.VERSION} (AES-256-GCM, chunked)",
            "key_fingerprint": key.fingerprint_hex,
            "started_at": backup.started_at.isoformat(),
            "finished_at": finished.isoformat(),
            "database": server.dbname,
            "storage_name": stored_name,
            "size_bytes": reader.size,
            "sha256": reader.sha256.hexdigest(),
            "server_version": snapshot.server_version,
            "dump_format": "pg_dump --format=custom",
            "migrations": snapshot.migrations,
            "row_counts": snapshot.row_counts,
        }
    except Exception as error:
        if stored_name:
            storage.delete(stored_name)
        reason = str(error) or error.__class__.__name__
        _backup_failed(backup, reason)
        raise BackupFailed(reason) from error
    with transaction.atomic():
        Backup.objects.filter(pk=backup.pk).update(
            status=Backup.Status.SUCCEEDED,
            finished_at=finished,
            storage_name=stored_name,
            size_bytes=reader.size,
            sha256=reader.sha256.hexdigest(),
            key_fingerprint=key.fingerprint_hex,
            server_version=snapshot.server_version,
            manifest=manifest,
        )
        record(
            Action.BACKUP_CREATED,
            target=backup,
            changes={
                "trigger": trigger,
                "size_bytes": reader.size,
                "sha256": reader.sha256.hexdigest(),
                "tables": len(snapshot.row_counts),
            },
            actor=Actor.system("backups.backup"),
        )
    backup.refresh_from_db()
    logger.info("backup %s stored as %s (%d bytes)", backup.pk, stored_name, reader.size)
    return backup


def _backup_failed(backup: Backup, reason: str) -> None:
    logger.error("backup %s failed: %s", backup.pk, reason)
    with transaction.atomic():
        Backup.objects.filter(pk=backup.pk).update(
            status=Backup.Status.FAILED, finished_at=timezone.now(), error=reason
        )
        record(
            Action.BACKUP_FAILED,
            target=backup,
            changes={"trigger": backup.trigger},
            actor=Actor.system("backups.backup"),
        )
        alert_ops(
            subject="[k12cloud] Backup failed",
            body=(
                f"Backup {backup.pk} started at {backup.started_at:%Y-%m-%d %H:%M} UTC failed:\n\n"
                f"{reason}\n\nRun `python manage.py backup` to retry (docs/backups.md)."
            ),
            target=backup,
        )


@dataclass
class PruneResult:
    pruned: list[int] = field(default_factory=list)
    kept: int = 0


def backups_prune(*, now: datetime | None = None) -> PruneResult:
    """Delete backups the 7/5/12 policy does not keep, file first, then the record.

    Failed backups' records go after BACKUP_FAILED_KEEP_DAYS; a backup still "running" a day
    after it started was interrupted (its worker died) and is marked failed.
    """
    now = now or timezone.now()
    stale = Backup.objects.filter(
        status=Backup.Status.RUNNING, started_at__lt=now - timedelta(days=1)
    )
    stale.update(status=Backup.Status.FAILED, finished_at=now, error="interrupted")
    succeeded = list(
        Backup.objects.filter(status=Backup.Status.SUCCEEDED).values_list("pk", "started_at")
    )
    doomed = set(retention.to_prune(succeeded))
    doomed |= set(
        Backup.objects.filter(
            status=Backup.Status.FAILED,
            started_at__lt=now - timedelta(days=settings.BACKUP_FAILED_KEEP_DAYS),
        ).values_list("pk", flat=True)
    )
    result = PruneResult(kept=len(succeeded) - len(doomed & {pk for pk, _ in succeeded}))
    if not doomed:
        return result
    storage = backup_storage()
    for backup in Backup.objects.filter(pk__in=doomed).order_by("started_at"):
        if backup.storage_name:
            try:
                storage.delete(backup.storage_name)
            except OSError:
                logger.exception("could not delete backup file %s; keeping its record", backup.pk)
                continue
        result.pruned.append(backup.pk)
    with transaction.atomic():
        Backup.objects.filter(pk__in=result.pruned).delete()
        record(
            Action.BACKUPS_PRUNED,
            changes={"pruned": result.pruned, "kept": result.kept},
            actor=Actor.system("backups.prune"),
        )
    return result


def open_backup(backup: Backup) -> IO[bytes]:
    storage = backup_storage()
    if not backup.storage_name or not storage.exists(backup.storage_name):
        raise FileNotFoundError(
            f"the file of backup {backup.pk} ({backup.storage_name or 'no name'}) is not in the "
            "backups storage"
        )
    opened: IO[bytes] = storage.open(backup.storage_name, "rb")
    return opened


def decrypt_to(source: IO[bytes], target: IO[bytes]) -> int:
    """Decrypt a backup file into `target` with the configured keys; the plaintext's size."""
    size = 0
    for piece in crypto.decrypt_chunks(source, keys=configured_keys()):
        target.write(piece)
        size += len(piece)
    return size


# --- restore drills ---------------------------------------------------------------------------


class StepFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class DrillRun:
    drill: RestoreDrill
    steps: list[dict[str, Any]] = field(default_factory=list)

    def run(self, name: str, action: Callable[[], str]) -> None:
        started = time.perf_counter()
        try:
            detail = action()
        except StepFailed as failure:
            self._add(name, started, ok=False, detail=failure.reason)
            raise
        except Exception as error:  # anything else is this step's failure too
            reason = f"{error.__class__.__name__}: {error}"
            self._add(name, started, ok=False, detail=reason)
            raise StepFailed(reason) from error
        self._add(name, started, ok=True, detail=detail)

    def _add(self, name: str, started: float, *, ok: bool, detail: str) -> None:
        seconds = round(time.perf_counter() - started, 3)
        self.steps.append({"step": name, "seconds": seconds, "ok": ok, "detail": detail})
        logger.info("restore drill %s: %s %s in %.1fs", self.drill.pk, name, ok, seconds)


def latest_backup() -> Backup | None:
    return Backup.objects.filter(status=Backup.Status.SUCCEEDED).order_by("-started_at").first()


def scratch_database_name(source: str, drill_id: int) -> str:
    suffix = f"_drill_{drill_id}"
    return source[: 63 - len(suffix)] + suffix


def restore_drill_run(*, trigger: str, backup_id: int | None = None) -> RestoreDrill:
    """Restore a backup (the latest by default) into a scratch database and check it.

    Always drops the scratch database; records passed, or failed with the step and the reason,
    and emails ops staff on failure.
    """
    backup = Backup.objects.get(pk=backup_id) if backup_id is not None else latest_backup()
    started = timezone.now()
    drill = RestoreDrill.objects.create(
        backup=backup, backup_label=str(backup or ""), started_at=started, trigger=trigger
    )
    run = DrillRun(drill)
    failed_step, reason = "", ""
    created = False
    current = "select_backup"
    server = scratch = None
    try:
        server = database.backup_server()
        scratch = server.for_database(scratch_database_name(server.dbname, drill.pk))
        RestoreDrill.objects.filter(pk=drill.pk).update(scratch_database=scratch.dbname)
        if backup is None:
            raise StepFailed("there is no successful backup to restore")
        current = "checksum"
        run.run(current, lambda: _check_checksum(backup))
        current = "create_database"
        run.run(current, lambda: _create(server, scratch.dbname))
        created = True
        current = "restore"
        run.run(current, lambda: _restore(backup, scratch))
        current = "row_counts"
        run.run(current, lambda: _compare_row_counts(backup, scratch))
        current = "migrations"
        run.run(current, lambda: _migrations(scratch))
        current = "check_rls"
        run.run(current, lambda: _manage(scratch, "check_rls"))
        current = "audit_verify"
        # events awaiting their seal when the backup was taken are sealed first, as beat
        # would seal them after a restore (audit.sealing)
        run.run(
            current,
            lambda: _manage(scratch, "audit_seal") + _manage(scratch, "audit_verify"),
        )
    except StepFailed as failure:
        failed_step = current
        reason = failure.reason
    except Exception as error:  # configuration (BACKUP_DATABASE_URL), before any step ran
        failed_step = current
        reason = f"{error.__class__.__name__}: {error}"
    finally:
        recovery_time = sum(step["seconds"] for step in run.steps)
        if (
            server is not None
            and scratch is not None
            and (created or _exists_quietly(server, scratch.dbname))
        ):
            drop_server, drop_name = server, scratch.dbname
            try:
                run.run("drop_database", lambda: _drop(drop_server, drop_name))
            except StepFailed as failure:
                if not failed_step:
                    failed_step, reason = "drop_database", failure.reason
    passed = not failed_step
    finished = timezone.now()
    with transaction.atomic():
        RestoreDrill.objects.filter(pk=drill.pk).update(
            status=RestoreDrill.Status.PASSED if passed else RestoreDrill.Status.FAILED,
            finished_at=finished,
            failed_step=failed_step,
            reason=reason,
            steps=run.steps,
            recovery_point_seconds=(
                (started - backup.started_at).total_seconds() if backup is not None else None
            ),
            recovery_time_seconds=round(recovery_time, 3) if passed else None,
        )
        record(
            Action.RESTORE_DRILL_PASSED if passed else Action.RESTORE_DRILL_FAILED,
            target=drill,
            changes={
                "backup_id": backup.pk if backup is not None else None,
                "trigger": trigger,
                "failed_step": failed_step,
                "steps": {step["step"]: step["seconds"] for step in run.steps},
            },
            actor=Actor.system("backups.restore_drill"),
        )
        if not passed:
            alert_ops(
                subject="[k12cloud] Restore drill failed",
                body=(
                    f"Restore drill {drill.pk} of {drill.backup_label or 'no backup'} failed at "
                    f"the step {failed_step}:\n\n{reason}\n\nSteps:\n"
                    + "\n".join(
                        f"  {s['step']}: {'ok' if s['ok'] else 'FAILED'} ({s['seconds']:.1f}s)"
                        for s in run.steps
                    )
                    + "\n\nSee the ops admin (Backups and restore drills) and docs/backups.md."
                ),
                target=drill,
            )
    drill.refresh_from_db()
    return drill


def _check_checksum(backup: Backup) -> str:
    digest, size = hashlib.sha256(), 0
    with open_backup(backup) as source:
        while piece := source.read(READ_SIZE):
            digest.update(piece)
            size += len(piece)
    if size != backup.size_bytes or digest.hexdigest() != backup.sha256:
        raise StepFailed(
            f"the stored file does not match the manifest: {size} bytes with SHA-256 "
            f"{digest.hexdigest()}, expected {backup.size_bytes} bytes with SHA-256 "
            f"{backup.sha256} (the file is damaged or was changed)"
        )
    return f"{size} bytes, SHA-256 {backup.sha256} as recorded"


def _create(server: database.Server, name: str) -> str:
    database.create_database(server, name)
    return f"created {name}"


def _drop(server: database.Server, name: str) -> str:
    database.drop_database(server, name)
    return f"dropped {name}"


def _exists_quietly(server: database.Server, name: str) -> bool:
    try:
        return database.database_exists(server, name)
    except Exception:  # the drop is best effort once something else failed
        logger.exception("could not check whether the scratch database %s exists", name)
        return False


def _restore(backup: Backup, scratch: database.Server) -> str:
    """Decrypt while streaming into pg_restore's stdin; nothing is written to disk."""
    keys = configured_keys()
    with tempfile.TemporaryFile() as errors, open_backup(backup) as source:
        process = database.pg_restore(scratch, stderr=errors)
        assert process.stdin is not None
        size = 0
        try:
            for piece in crypto.decrypt_chunks(source, keys=keys):
                process.stdin.write(piece)
                size += len(piece)
            process.stdin.close()
        except crypto.BackupDecryptionError as error:
            process.kill()
            process.wait()
            raise StepFailed(f"cannot decrypt the backup: {error}") from error
        except BrokenPipeError:
            process.wait()
            raise StepFailed(f"pg_restore stopped: {_tail(errors)}") from None
        returncode = process.wait()
        if returncode != 0:
            raise StepFailed(f"pg_restore exited with {returncode}: {_tail(errors)}")
    return f"{size} bytes of pg_dump archive decrypted and restored"


def _compare_row_counts(backup: Backup, scratch: database.Server) -> str:
    expected: dict[str, int] = backup.manifest.get("row_counts", {})
    restored = database.restored_row_counts(scratch)
    problems = [
        f"{table}: {count} rows in the manifest, {restored.get(table, 'no table')} restored"
        for table, count in sorted(expected.items())
        if restored.get(table) != count
    ]
    problems += [
        f"{table}: restored but not in the manifest"
        for table in sorted(set(restored) - set(expected))
    ]
    if problems:
        raise StepFailed("row counts differ from the manifest: " + "; ".join(problems[:20]))
    return f"{len(expected)} tables, {sum(expected.values())} rows, as in the manifest"


def _manage(scratch: database.Server, *args: str) -> str:
    """Run a management command against the scratch database, in a subprocess."""
    env = {
        **scratch.environment(),
        "DATABASE_URL": scratch.url(),
        "BACKUP_DATABASE_URL": scratch.url(),
        # settings overridden in tests lose SETTINGS_MODULE; the environment has it then
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE")
        or str(settings.SETTINGS_MODULE),
    }
    env.pop("PGOPTIONS", None)
    env.pop("PGPASSWORD", None)
    try:
        result = subprocess.run(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), *args],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=settings.BACKUP_DRILL_STEP_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise StepFailed(
            f"`manage.py {' '.join(args)}` took longer than {settings.BACKUP_DRILL_STEP_TIMEOUT}s"
        ) from None
    output = (result.stdout.strip() + "\n" + result.stderr.strip()).strip()
    if result.returncode != 0:
        raise StepFailed(
            f"`manage.py {' '.join(args)}` exited with {result.returncode}: {output[-1500:]}"
        )
    lines = result.stdout.strip().splitlines()  # stderr carries log lines
    return lines[-1][:500] if lines else "ok"


def _migrations(scratch: database.Server) -> str:
    """Bring the restored database to this code's migrations, then `migrate --check`."""
    applied = _manage(scratch, "migrate", "--noinput")
    _manage(scratch, "migrate", "--check")
    return f"migrate: {applied}; migrate --check: nothing left to apply"
