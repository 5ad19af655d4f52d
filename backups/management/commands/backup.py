"""`manage.py backup [--prune]`: an encrypted pg_dump of the whole database, with its manifest.

Prints where it was stored, its size and SHA-256; exits 1 saying why when it fails (the failure
is recorded and emailed to ops staff too). `--prune` then applies the 7/5/12 retention, as the
daily beat task does.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backups.models import Backup
from backups.services import BackupFailed, backup_create, backups_prune


class Command(BaseCommand):
    help = "Back up the whole database (pg_dump, encrypted in the process) to the backups storage."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--prune",
            action="store_true",
            help="then prune by retention (7 daily, 5 weekly, 12 monthly)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            backup = backup_create(trigger=Backup.Trigger.MANUAL)
        except BackupFailed as error:
            raise CommandError(f"Backup failed: {error}", returncode=1) from None
        rows = sum(backup.manifest["row_counts"].values())
        self.stdout.write(
            f"Backup {backup.pk} stored as {backup.storage_name}: {backup.size_bytes} bytes, "
            f"SHA-256 {backup.sha256}, PostgreSQL {backup.server_version}, "
            f"{len(backup.manifest['row_counts'])} tables, {rows} rows."
        )
        if options["prune"]:
            result = backups_prune()
            self.stdout.write(f"Pruned {len(result.pruned)} backups; {result.kept} kept.")
