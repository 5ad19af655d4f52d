"""`manage.py audit_verify [--organization SLUG]`: check the audit hash chains.

Exits 0 printing how many events were checked when every chain is intact; exits 1 naming, per
broken chain, the first bad event and what is wrong with it (audit.verification).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from audit.verification import verify_chains


class Command(BaseCommand):
    help = "Verify the tamper-evident audit chains and their signed checkpoints."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--organization", metavar="SLUG", help="verify this organization's chain only"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = None
        if options["organization"]:
            organization = Organization.objects.filter(slug=options["organization"]).first()
            if organization is None:
                raise CommandError(f"No organization with the slug {options['organization']!r}.")
        started = time.perf_counter()
        report = verify_chains(organization=organization)
        seconds = time.perf_counter() - started
        if report.intact:
            self.stdout.write(
                f"{report.events} events checked in {report.chains} chains "
                f"({seconds:.1f}s): all intact."
            )
            return
        for problem in report.problems:
            self.stderr.write(f"TAMPERED {problem}")
        self.stderr.write(
            f"{len(report.problems)} of {report.chains} chains failed verification "
            f"({report.events} events checked)."
        )
        raise SystemExit(1)
