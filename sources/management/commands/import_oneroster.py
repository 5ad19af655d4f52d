"""`python manage.py import_oneroster --organization SLUG [--source NAME] ZIP`

Imports a OneRoster CSV bulk package for ops (the same service as the portal's upload, acting
as the system). Without --source, the organization's only CSV source is used (created as
"OneRoster CSV" when it has none). Prints the counts, or the problems (file, line, field) and
exits 1 when the package is refused; exit 2 for a bad argument.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from audit.context import Actor, acting_as
from k12cloud.tenancy import tenant_context
from sources.importing import oneroster_package_import
from sources.models import DataSource, SourceImport
from sources.services import data_source_save

DEFAULT_SOURCE = "OneRoster CSV"


class Command(BaseCommand):
    help = "Import a OneRoster CSV bulk package (.zip) into an organization's SIS source."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organization", metavar="SLUG", required=True)
        parser.add_argument("--source", metavar="NAME", default="")
        parser.add_argument("package", metavar="ZIP")

    def handle(self, *args: Any, **options: Any) -> None:
        slug, path = options["organization"], Path(options["package"])
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(f"--organization: no organization {slug!r}.", returncode=2)
        if not path.is_file():
            raise CommandError(f"ZIP: {str(path)!r} is not a file.", returncode=2)
        with tenant_context(organization), acting_as(Actor.system("import_oneroster command")):
            source = self._source(organization, options["source"])
            with path.open("rb") as stream:
                done = oneroster_package_import(
                    organization=organization,
                    actor=None,
                    source=source,
                    stream=stream,
                    file_name=path.name,
                )
        if done.status != SourceImport.Status.SUCCEEDED:
            for problem in done.errors:
                line = f", line {problem['line']}" if problem["line"] else ""
                field = f", {problem['field']}" if problem["field"] else ""
                self.stderr.write(f"{problem['file']}{line}{field}: {problem['message']}")
            raise CommandError(f"The package was refused (import {done.pk}).", returncode=1)
        for name, rows in sorted(done.counts.items()):
            self.stdout.write(f"{name}: {rows}")
        self.stdout.write(
            f"Imported into {source.name!r} (import {done.pk}, sha256 {done.sha256})."
        )

    def _source(self, organization: Organization, name: str) -> DataSource:
        sources = DataSource.objects.for_organization(organization).filter(
            kind=DataSource.Kind.ONEROSTER_CSV
        )
        if name:
            source = sources.filter(name__iexact=name).first()
            if source is None:
                raise CommandError(
                    f"--source: {organization.slug!r} has no CSV source named {name!r}.",
                    returncode=2,
                )
            return source
        found = list(sources[:2])
        if len(found) > 1:
            raise CommandError(
                "--source: the organization has several CSV sources; name one.", returncode=2
            )
        if found:
            return found[0]
        return data_source_save(
            organization=organization,
            actor=None,
            kind=DataSource.Kind.ONEROSTER_CSV,
            name=DEFAULT_SOURCE,
        )
