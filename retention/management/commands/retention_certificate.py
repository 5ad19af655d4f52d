"""`python manage.py retention_certificate export --organization SLUG --out DIR`
   `python manage.py retention_certificate verify FILE`

export writes the organization's certificate as JSON (document + signature) and PDF; verify
checks a JSON file's signature against the trusted public keys (exit 0 valid, 1 invalid,
2 for a bad argument).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from k12cloud.tenancy import tenant_context
from retention.certificates import certificate_json, certificate_pdf, verify
from retention.models import DeidentificationCertificate


class Command(BaseCommand):
    help = "Export or verify certificates of de-identification."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        export = commands.add_parser("export", help="write the certificate as JSON and PDF")
        export.add_argument("--organization", metavar="SLUG", required=True)
        export.add_argument("--out", metavar="DIR", required=True)
        check = commands.add_parser("verify", help="verify a certificate's JSON file")
        check.add_argument("file", metavar="FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["command"] == "export":
            self._export(options["organization"], Path(options["out"]))
        else:
            self._verify(Path(options["file"]))

    def _export(self, slug: str, out: Path) -> None:
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(f"--organization: no organization {slug!r}.", returncode=2)
        if not out.is_dir():
            raise CommandError(f"--out: {str(out)!r} is not a directory.", returncode=2)
        with tenant_context(organization):
            certificate = DeidentificationCertificate.objects.order_by("-issued_at").first()
        if certificate is None:
            raise CommandError(
                f"--organization: {slug!r} has no certificate of de-identification.", returncode=2
            )
        stem = f"deidentification-{slug}-{certificate.run_id}"
        (out / f"{stem}.json").write_text(certificate_json(certificate))
        (out / f"{stem}.pdf").write_bytes(certificate_pdf(certificate))
        self.stdout.write(f"wrote {out / stem}.json and .pdf")

    def _verify(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text())
            document, key, signature = data["document"], data["key_id"], data["signature"]
        except (OSError, ValueError, KeyError, TypeError):
            raise CommandError(
                f"FILE: {str(path)!r} is not a certificate's JSON file.", returncode=2
            ) from None
        if not verify(document, key=key, signature=signature):
            raise CommandError(
                "The signature does NOT verify: the certificate was altered or "
                "signed by an untrusted key.",
                returncode=1,
            )
        self.stdout.write(f"Valid: signed by key {key}.")
