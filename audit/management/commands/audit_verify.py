"""`manage.py audit_verify [--organization SLUG]`: check the audit hash chains.

Exits 0 printing how many events were checked when every chain is intact; exits 1 naming, per
broken chain, the first bad event and what is wrong with it (audit.verification). Also says
how many events await sealing and the longest any checked event waited for it; an event
unsealed past AUDIT_SEAL_BOUND_SECONDS fails the check (audit.sealing).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from audit.verification import Report, verify_chains


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
        self.stdout.write(_sealing_summary(report))
        if report.intact:
            self.stdout.write(
                f"{report.events} events checked in {report.chains} chains "
                f"({seconds:.1f}s): all intact."
            )
            return
        for problem in report.problems:
            label = "LATE" if problem.kind == "unsealed" else "TAMPERED"
            self.stderr.write(f"{label} {problem}")
        failed = len({problem.organization_id for problem in report.problems})
        self.stderr.write(
            f"{failed} of {report.chains} chains failed verification "
            f"({report.events} events checked)."
        )
        raise SystemExit(1)


def _sealing_summary(report: Report) -> str:
    bound = settings.AUDIT_SEAL_BOUND_SECONDS
    longest = (
        "no event checked was sealed after commit"
        if report.longest_seal_seconds is None
        else f"the longest an event waited for its seal: {report.longest_seal_seconds:.1f}s"
    )
    waiting = (
        "none awaiting sealing"
        if not report.awaiting_seal
        else f"{report.awaiting_seal} awaiting sealing, the oldest for "
        f"{report.oldest_awaiting_seconds or 0:.1f}s"
    )
    return f"Sealing (bound {bound}s): {longest}; {waiting}."
