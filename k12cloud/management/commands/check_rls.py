"""Verify the database-level tenant isolation: `python manage.py check_rls`.

Lists every table with an `organization_id` column and whether row-level security is enabled,
forced and has a policy; checks that the runtime role (DATABASE_APP_ROLE) exists, is not a
superuser, cannot bypass RLS and owns none of those tables. Exits 1 naming each problem.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from k12cloud.rls import role_safety, tables_with_organization_column


class Command(BaseCommand):
    help = "Check that every tenant-owned table has forced row-level security."

    def handle(self, *args: Any, **options: Any) -> None:
        problems: list[str] = []
        role = settings.DATABASE_APP_ROLE
        with connection.cursor() as cursor:
            tables = tables_with_organization_column(cursor)
            safety = role_safety(cursor, role)
        for table in tables:
            flags = (
                f"enabled={'yes' if table.rls_enabled else 'NO'} "
                f"forced={'yes' if table.rls_forced else 'NO'} policies={table.policies}"
            )
            self.stdout.write(f"{table.table:<40} {flags}  owner={table.owner}")
            if not table.protected:
                problems.append(f"table {table.table} lacks enabled and forced row-level security")
            if table.owner == role:
                problems.append(f"table {table.table} is owned by the runtime role {role}")
        if not safety.exists:
            problems.append(f"the runtime role {role} does not exist")
        if safety.superuser:
            problems.append(f"the runtime role {role} is a superuser")
        if safety.bypass_rls:
            problems.append(f"the runtime role {role} has BYPASSRLS")
        if problems:
            raise CommandError("; ".join(problems), returncode=1)
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(tables)} tenant tables protected; runtime role {role} is safe."
            )
        )
