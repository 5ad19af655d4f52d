"""`manage.py restore_drill [--backup ID]`: restore a backup into a scratch database, check it.

Restores the latest successful backup (or backup ID), runs the migrations check, `check_rls`,
`audit_verify` and the row-count comparison against it, times each step, drops the scratch
database and records the drill. Exits 0 when it passed, 1 naming the failed step and the
reason (ops staff are emailed), 2 when --backup names no backup.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backups.models import Backup, RestoreDrill
from backups.services import restore_drill_run


class Command(BaseCommand):
    help = "Restore a backup into a scratch database, check it and drop it (a restore drill)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--backup", type=int, metavar="ID", help="the backup to restore (default: the latest)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        backup_id = options["backup"]
        if (
            backup_id is not None
            and not Backup.objects.filter(pk=backup_id, status=Backup.Status.SUCCEEDED).exists()
        ):
            raise CommandError(
                f"--backup: no successful backup with the id {backup_id}.", returncode=2
            )
        drill = restore_drill_run(trigger=RestoreDrill.Trigger.ON_DEMAND, backup_id=backup_id)
        for step in drill.steps:
            mark = "ok" if step["ok"] else "FAILED"
            self.stdout.write(
                f"{step['step']:<16} {mark:<6} {step['seconds']:>9.2f}s  {step['detail']}"
            )
        if drill.status != RestoreDrill.Status.PASSED:
            raise CommandError(
                f"Restore drill {drill.pk} failed at the step {drill.failed_step}: {drill.reason}",
                returncode=1,
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Restore drill {drill.pk} passed: recovery time "
                f"{drill.recovery_time_seconds or 0:.1f}s, "
                f"backup age {(drill.recovery_point_seconds or 0) / 3600:.1f} h."
            )
        )
