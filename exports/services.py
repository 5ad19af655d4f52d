"""Organization exports: request one, run it (the worker), download it, expire old ones.

export_request(...)    an org admin (portal or API) or ops staff (the command) asks;
                       EXPORT_REQUESTED; refused while another export of the organization
                       is queued or running, and once the organization was de-identified
export_run(...)        the worker: build the ZIP (exports.archive), seal it as it is
                       written (exports.crypto) and store it (STORAGES["exports"]);
                       EXPORT_COMPLETED or EXPORT_FAILED. A worker killed mid-export leaves
                       the row running: the task comes back (acks late) or the sweep sends
                       it again, and the next attempt starts over cleanly
export_to_path(...)    the ops command: the same ZIP, unsealed, to a local path
export_download(...)   EXPORT_DOWNLOADED, then the plaintext, decrypted while streamed
exports_sweep()        beat: delete expired files (EXPORT_EXPIRED); restart stale runs
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import tempfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, BinaryIO

from celery import current_app
from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from audit.actions import Action
from audit.context import Actor, acting_as, actor_for_user
from audit.services import record
from exports import archive
from exports.crypto import EncryptingWriter, decrypt_stream, read_header
from exports.models import OrganizationExport
from k12cloud.encryption.keys import Purpose, current_key, key_version
from k12cloud.tenancy import tenant_context
from retention.termination import deidentification_due_on

logger = logging.getLogger(__name__)

_ADVISORY_LOCK_CLASS = 0x6B45  # pg_try_advisory_lock(class, export id): one runner at a time
Status = OrganizationExport.Status
RUN_TASK = "exports.run_export"


class ExportRefused(Exception):
    """The export cannot be started now; the message says why, for the person who asked."""


def enqueue_run(organization_id: int, export_id: int) -> None:
    """Send exports.run_export (by name: exports.tasks imports this module)."""
    queue = settings.EXPORTS_QUEUE or None  # None: the default queue
    current_app.send_task(RUN_TASK, args=[organization_id, export_id], queue=queue)


def storage() -> Any:
    return storages["exports"]


def _context(export: OrganizationExport) -> str:
    """Bound into the sealed file: it decrypts as this export of this organization only."""
    return f"exports.OrganizationExport:{export.organization_id}:{export.pk}"


def export_refusal(organization: Organization) -> str | None:
    """Why no export can start now (None when it can)."""
    due = deidentification_due_on(organization)
    if due is not None and timezone.localdate() >= due:
        return _(
            "The organization's data was de-identified after its termination: there is nothing "
            "left to export."
        )
    return None


def export_request(
    *,
    organization: Organization,
    actor: User | None,
    via: str,
    enqueue: bool = True,
) -> OrganizationExport:
    """Queue a full export of `organization`; the task starts after commit."""
    if (refusal := export_refusal(organization)) is not None:
        raise ExportRefused(refusal)
    try:
        with transaction.atomic(), tenant_context(organization):
            export = OrganizationExport.objects.create(
                organization=organization, via=via, requested_by=actor
            )
            record(
                Action.ORGANIZATION_EXPORT_REQUESTED,
                organization=organization,
                target=export,
                changes={"via": via},
            )
            if enqueue:
                transaction.on_commit(lambda: enqueue_run(organization.pk, export.pk))
    except IntegrityError as error:
        if "export_one_active_per_organization" not in str(error):
            raise
        raise ExportRefused(
            _(
                "An export of this organization is already being prepared. Wait for it to "
                "finish: its progress is shown on the exports page."
            )
        ) from None
    return export


# --- running ----------------------------------------------------------------------------------


class _Counting:
    """A write-only stream that hashes and counts what passes to the next one."""

    def __init__(self, sink: Any) -> None:
        self._sink = sink
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._sink.write(data)
        self.sha256.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        self._sink.flush()


def _try_lock(export_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_ADVISORY_LOCK_CLASS, export_id])
        return bool(cursor.fetchone()[0])


def _unlock(export_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_ADVISORY_LOCK_CLASS, export_id])


def _start(organization: Organization, export_id: int) -> OrganizationExport | None:
    """Mark the export running (again, after a killed worker); None when there is nothing to
    do (finished, or failed after too many attempts)."""
    with tenant_context(organization):
        export = OrganizationExport.objects.select_for_update().get(pk=export_id)
        if export.status not in OrganizationExport.ACTIVE:
            return None
        if export.attempts >= settings.EXPORTS_MAX_ATTEMPTS:
            _fail(export, "TooManyAttempts")
            return None
        if export.storage_name:  # a previous attempt stored a file and died before the commit
            storage().delete(export.storage_name)
        now = timezone.now()
        export.status = Status.RUNNING
        export.attempts += 1
        export.rows_done = 0
        export.rows_total = archive.rows_total(organization)
        export.storage_name = ""
        export.started_at = export.heartbeat_at = now
        export.save()
        return export


def _fail(export: OrganizationExport, error: str) -> None:
    export.status = Status.FAILED
    export.error = error[:200]
    export.finished_at = timezone.now()
    export.save()
    record(
        Action.ORGANIZATION_EXPORT_FAILED,
        organization=export.organization_id,
        target=export,
        changes={"error": export.error, "attempts": export.attempts},
    )


def _progress_recorder(organization: Organization, export: OrganizationExport) -> Callable:
    def advance(rows: int) -> None:
        export.rows_done += rows
        with tenant_context(organization):
            OrganizationExport.objects.filter(pk=export.pk).update(
                rows_done=export.rows_done, heartbeat_at=timezone.now()
            )

    return advance


def _requester_email(export: OrganizationExport) -> str | None:
    if export.requested_by_id is None:
        return None
    return User.objects.filter(pk=export.requested_by_id).values_list("email", flat=True).first()


def export_run(*, organization: Organization, export_id: int) -> str:
    """The worker's job: returns what happened ("completed", "failed", "skipped", "busy")."""
    if not _try_lock(export_id):
        return "busy"  # another worker holds this export (a redelivered message)
    try:
        with acting_as(Actor.system("exports.run_export")):
            export = _start(organization, export_id)
            if export is None:
                return "skipped"
            try:
                _build_and_store(organization, export)
            except Exception as error:
                logger.exception("export %s of organization %s failed", export.pk, organization.pk)
                with tenant_context(organization):
                    export.refresh_from_db()
                    if export.storage_name:
                        storage().delete(export.storage_name)
                        export.storage_name = ""
                    _fail(export, type(error).__name__)
                return "failed"
            return "completed"
    finally:
        _unlock(export_id)


def _build_and_store(organization: Organization, export: OrganizationExport) -> None:
    with tenant_context(organization):
        key = current_key(organization.pk, Purpose.DATA)
    assert key is not None
    name = f"{organization.pk}/{export.pk}-{secrets.token_hex(8)}.zip.k12x"
    with tempfile.TemporaryFile(prefix="k12cloud-export-") as sealed:
        writer = EncryptingWriter(
            sealed, material=key.material, key_version=key.version, context=_context(export)
        )
        counted = _Counting(writer)
        archive.build(
            export=export,
            organization=organization,
            sink=counted,  # type: ignore[arg-type]
            progress=_progress_recorder(organization, export),
            requested_by_email=_requester_email(export),
        )
        writer.close()
        sealed.seek(0)
        stored_as = storage().save(name, File(sealed, name=name))
    now = timezone.now()
    with tenant_context(organization):
        export.status = Status.COMPLETED
        export.storage_name = stored_as
        export.key_version = key.version
        export.size = counted.size
        export.sha256 = counted.sha256.hexdigest()
        export.finished_at = export.heartbeat_at = now
        export.expires_at = now + timedelta(days=settings.EXPORTS_LINK_DAYS)
        export.save()
        record(
            Action.ORGANIZATION_EXPORT_COMPLETED,
            organization=organization,
            target=export,
            changes={"rows": export.rows_done, "size": export.size, "sha256": export.sha256},
        )


def export_to_path(
    *,
    organization: Organization,
    path: str,
    progress: Callable[[int, int], None],
) -> OrganizationExport:
    """The ops command: the same export, written unsealed to `path`, recorded and audited."""
    with acting_as(Actor.system("manage.py organization_export")):
        export = export_request(
            organization=organization,
            actor=None,
            via=OrganizationExport.Via.COMMAND,
            enqueue=False,
        )
        started = _start(organization, export.pk)
        assert started is not None
        export = started
        recorder = _progress_recorder(organization, export)

        def advance(rows: int) -> None:
            recorder(rows)
            progress(export.rows_done, export.rows_total)

        try:
            with open(path, "wb") as output:
                counted = _Counting(output)
                archive.build(
                    export=export,
                    organization=organization,
                    sink=counted,  # type: ignore[arg-type]
                    progress=advance,
                    requested_by_email=None,
                )
        except BaseException as error:
            with tenant_context(organization):
                export.refresh_from_db()
                _fail(export, type(error).__name__)
            raise
        now = timezone.now()
        with tenant_context(organization):
            export.status = Status.COMPLETED
            export.size = counted.size
            export.sha256 = counted.sha256.hexdigest()
            export.finished_at = export.heartbeat_at = now
            export.save()
            record(
                Action.ORGANIZATION_EXPORT_COMPLETED,
                organization=organization,
                target=export,
                changes={"rows": export.rows_done, "size": export.size, "sha256": export.sha256},
            )
    return export


# --- downloading ------------------------------------------------------------------------------


def export_download(
    *, organization: Organization, export: OrganizationExport, actor: User | None
) -> Iterator[bytes]:
    """Record the download (EXPORT_DOWNLOADED), then the ZIP's bytes, decrypted while read.

    The caller checked `export.is_downloadable()`. The audit event commits before the first
    byte goes out; the file's authentication is checked segment by segment as it streams.
    """
    with tenant_context(organization):
        locked = OrganizationExport.objects.select_for_update().get(pk=export.pk)
        locked.download_count += 1
        locked.last_downloaded_at = timezone.now()
        locked.save(update_fields=["download_count", "last_downloaded_at"])
        record(
            Action.ORGANIZATION_EXPORT_DOWNLOADED,
            organization=organization,
            target=locked,
            actor=actor_for_user(actor.pk) if actor is not None else None,
            changes={"sha256": locked.sha256},
        )
        assert locked.key_version is not None
        key = key_version(organization.pk, Purpose.DATA, locked.key_version)
    return _decrypted(locked, key.material)


def _decrypted(export: OrganizationExport, material: bytes) -> Iterator[bytes]:
    source: BinaryIO = storage().open(export.storage_name, "rb")
    try:
        _, header = read_header(source)
        yield from decrypt_stream(
            source, material=material, context=_context(export), header=header
        )
    finally:
        source.close()


# --- the sweep --------------------------------------------------------------------------------


def exports_sweep(*, organization: Organization) -> dict[str, int]:
    """Delete the files of expired exports; send stale running exports to a worker again."""
    now = timezone.now()
    expired = restarted = 0
    with acting_as(Actor.system("exports.sweep")), tenant_context(organization):
        for export in OrganizationExport.objects.filter(
            status=Status.COMPLETED, expires_at__lte=now
        ).exclude(storage_name=""):
            storage().delete(export.storage_name)
            export.status = Status.EXPIRED
            export.storage_name = ""
            export.save(update_fields=["status", "storage_name"])
            record(Action.ORGANIZATION_EXPORT_EXPIRED, organization=organization, target=export)
            expired += 1
        stale_before = now - timedelta(minutes=settings.EXPORTS_STALE_MINUTES)
        stale = list(
            OrganizationExport.objects.filter(
                status__in=OrganizationExport.ACTIVE, created_at__lte=stale_before
            )
            .exclude(via=OrganizationExport.Via.COMMAND)
            .exclude(heartbeat_at__gt=stale_before)
            .values_list("pk", flat=True)
        )
    for export_id in stale:
        enqueue_run(organization.pk, export_id)  # the advisory lock keeps it single
        restarted += 1
    return {"expired": expired, "restarted": restarted}
