"""`manage.py audit_seal`: seal the audit events awaiting their place in their chains now.

Beat runs the same work every 2 seconds (audit.tasks.seal_audit_chains); this is for a restored
copy (the backup drill runs it before `audit_verify`), for a beat that was down, and for
operators who want a chain sealed before they verify or export it.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from audit.sealing import seal_chains


class Command(BaseCommand):
    help = "Seal the audit events recorded but not yet linked into their hash chains."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{seal_chains()} audit events sealed.")
