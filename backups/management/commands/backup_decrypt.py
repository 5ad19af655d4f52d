"""`manage.py backup_decrypt (--backup ID | --file PATH) --output PATH|-`: decrypt a backup.

For restoring by hand (docs/backups.md): writes the plain pg_dump custom-format archive to
PATH, or to stdout with `-` so that it can be piped into `pg_restore`. Uses
BACKUP_ENCRYPTION_KEY and BACKUP_DECRYPTION_KEYS. Exits 1 with the reason when the key is wrong
or the file is damaged, 2 naming the argument when --backup or --file names nothing.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backups.crypto import BackupDecryptionError
from backups.models import Backup
from backups.services import decrypt_to, open_backup


class Command(BaseCommand):
    help = "Decrypt a backup into a pg_dump custom-format archive (for pg_restore)."

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--backup", type=int, metavar="ID", help="a backup in the storage")
        source.add_argument("--file", metavar="PATH", help="an encrypted backup file on disk")
        parser.add_argument(
            "--output", required=True, metavar="PATH", help="where to write it; - for stdout"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with ExitStack() as stack:
            source: IO[bytes]
            if options["backup"] is not None:
                backup = Backup.objects.filter(pk=options["backup"]).first()
                if backup is None:
                    raise CommandError(
                        f"--backup: no backup with the id {options['backup']}.", returncode=2
                    )
                try:
                    source = stack.enter_context(open_backup(backup))
                except FileNotFoundError as error:
                    raise CommandError(f"--backup: {error}.", returncode=2) from None
            else:
                path = Path(options["file"])
                if not path.is_file():
                    raise CommandError(f"--file: {path} is not a file.", returncode=2)
                source = stack.enter_context(path.open("rb"))
            target: IO[bytes]
            if options["output"] == "-":
                target = sys.stdout.buffer
            else:
                target = stack.enter_context(Path(options["output"]).open("xb"))
            try:
                size = decrypt_to(source, target)
            except BackupDecryptionError as error:
                if options["output"] != "-":
                    target.close()
                    Path(options["output"]).unlink()
                raise CommandError(f"Cannot decrypt the backup: {error}.", returncode=1) from None
        if options["output"] != "-":
            self.stderr.write(f"Wrote {size} bytes to {options['output']}.")
