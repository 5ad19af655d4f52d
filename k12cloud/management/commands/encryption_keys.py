"""Manage the organizations' encryption keys (k12cloud.encryption.keys).

    manage.py encryption_keys rotate --organization SLUG | --all [--chunk-size N]
        a new data key version, then re-encrypt the rows in chunks; the old version still
        decrypts meanwhile, so nothing stops. Safe to re-run (`--reencrypt-only` resumes).
    manage.py encryption_keys rotate-master
        re-wrap every organization's keys under the first key of ENCRYPTION_MASTER_KEYS.
    manage.py encryption_keys destroy --organization SLUG --confirm SLUG
        crypto-shredding: the organization's encrypted data becomes unreadable. Irreversible.

Every key change writes one audit event. Exits non-zero, naming the bad argument, on errors.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from audit.context import Actor, acting_as
from k12cloud.encryption import keys


class Command(BaseCommand):
    help = "Rotate, re-wrap or destroy organizations' encryption keys."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="operation", required=True)
        rotate = commands.add_parser("rotate", help="new data key version, then re-encrypt")
        which = rotate.add_mutually_exclusive_group(required=True)
        which.add_argument("--organization", metavar="SLUG")
        which.add_argument("--all", action="store_true", help="every organization with keys")
        rotate.add_argument("--chunk-size", type=int, default=500)
        rotate.add_argument(
            "--reencrypt-only",
            action="store_true",
            help="only re-encrypt rows still under older versions (resume an interrupted run)",
        )
        commands.add_parser("rotate-master", help="re-wrap all keys under the current master key")
        destroy = commands.add_parser("destroy", help="crypto-shred an organization's data")
        destroy.add_argument("--organization", metavar="SLUG", required=True)
        destroy.add_argument(
            "--confirm", metavar="SLUG", required=True, help="the organization's slug again"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        operation = options["operation"]
        with acting_as(Actor.system(f"manage.py encryption_keys {operation}")):
            try:
                if operation == "rotate":
                    self._rotate(options)
                elif operation == "rotate-master":
                    count = keys.master_key_rotate()
                    self.stdout.write(f"Re-wrapped {count} key(s) under the current master key.")
                else:
                    self._destroy(options)
            except (keys.EncryptionError, ImproperlyConfigured) as error:
                raise CommandError(str(error)) from error

    def _organization(self, slug: str, option: str) -> Organization:
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(f"{option}: no organization with the slug {slug!r}.")
        return organization

    def _rotate(self, options: dict[str, Any]) -> None:
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        if options["all"]:
            organizations = list(Organization.objects.order_by("pk"))
        else:
            organizations = [self._organization(options["organization"], "--organization")]
        for organization in organizations:
            version = None
            if not options["reencrypt_only"]:
                version = keys.data_key_rotate(organization=organization)
                if version is None:
                    self.stdout.write(f"{organization.slug}: no keys yet, nothing to rotate.")
                    continue
            rows = keys.data_reencrypt(organization=organization, chunk_size=options["chunk_size"])
            label = f"now data key v{version}" if version else "re-encrypted"
            self.stdout.write(f"{organization.slug}: {label}; {rows} row(s) re-encrypted.")

    def _destroy(self, options: dict[str, Any]) -> None:
        slug = options["organization"]
        if options["confirm"] != slug:
            raise CommandError("--confirm must repeat the organization's slug exactly.")
        organization = self._organization(slug, "--organization")
        count = keys.organization_keys_destroy(organization=organization)
        self.stdout.write(
            f"{slug}: destroyed {count} key version(s); its encrypted data is unreadable.\n"
            "Backups still hold the keys wrapped under the master key: retire that master key "
            "(rotate-master, then remove it from ENCRYPTION_MASTER_KEYS) when those backups "
            "expire."
        )
