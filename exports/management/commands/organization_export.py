"""`python manage.py organization_export SLUG --output PATH`

Ops staff's full export of one organization: the same ZIP an org admin downloads from the
portal (exports.archive), written unsealed to PATH on this server, with its progress on the
terminal. It is recorded in the organization's export history and audit log like any other.
Exit status 2 names a bad argument (an unknown organization, an unusable path); 1 when
another export of the organization is running or its data was de-identified.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from exports.services import ExportRefused, export_to_path


class Command(BaseCommand):
    help = "Export every row and file of one organization to a ZIP file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", metavar="SLUG", help="the organization's slug")
        parser.add_argument("--output", metavar="PATH", required=True, help="the ZIP to write")
        parser.add_argument(
            "--force", action="store_true", help="overwrite PATH if it exists already"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug, output = options["slug"], Path(options["output"])
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(f"SLUG: no organization {slug!r}.", returncode=2)
        if output.exists() and not options["force"]:
            raise CommandError(
                f"--output: {str(output)!r} exists already (--force overwrites it).", returncode=2
            )
        if not output.parent.is_dir() or not os.access(output.parent, os.W_OK):
            raise CommandError(
                f"--output: the folder {str(output.parent)!r} is missing or not writable.",
                returncode=2,
            )
        interactive = self.stdout.isatty() if hasattr(self.stdout, "isatty") else False
        last_shown = [-1]

        def progress(done: int, total: int) -> None:
            percent = 100 if not total else done * 100 // total
            if interactive:
                self.stdout.write(f"\r{done}/{total} rows ({percent} %)", ending="")
                self.stdout.flush()
            elif percent // 10 != last_shown[0] // 10 or done == total:
                self.stdout.write(f"{done}/{total} rows ({percent} %)")
            last_shown[0] = percent

        try:
            export = export_to_path(organization=organization, path=str(output), progress=progress)
        except ExportRefused as refused:
            raise CommandError(str(refused), returncode=1) from None
        if interactive:
            self.stdout.write("")
        self.stdout.write(
            f"wrote {output}: {export.rows_done} rows, {export.size} bytes, "
            f"SHA-256 {export.sha256} (export {export.pk})"
        )
        sys.stdout.flush()
