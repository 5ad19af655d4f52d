"""Privileges of the runtime database role.

Migrations run as the table owner; web, worker and beat connect as DATABASE_APP_ROLE, which
gets data privileges only (no DDL, no TRUNCATE, no ownership). Tables that must be append-only
(the audit log) register here and lose UPDATE and DELETE.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

# Tables the runtime role may only read and insert into.
APPEND_ONLY_TABLES: set[str] = set()
# Columns of append-only tables the runtime role may still UPDATE, when a trigger on the table
# decides which updates are allowed (the audit sealer fills an event's chain columns once).
WRITE_ONCE_COLUMNS: dict[str, tuple[str, ...]] = {}


def grant_runtime_privileges(*, using: str = "default", **_: Any) -> None:
    """Idempotent; runs after every `migrate` (post_migrate) so new tables are covered."""
    role = settings.DATABASE_APP_ROLE
    connection = connections[using]
    quoted_role = connection.ops.quote_name(role)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (current_user,) = cursor.fetchone()
        if current_user == role:
            return  # a runtime process cannot (and need not) grant to itself
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            raise ImproperlyConfigured(
                f"The runtime database role {role!r} (DATABASE_APP_ROLE) does not exist. "
                "Create it (LOGIN NOSUPERUSER NOBYPASSRLS) before migrating; "
                "`python -m k12cloud.devstack` does this for local servers."
            )
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {quoted_role}")
        cursor.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted_role}"
        )
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted_role}")
        cursor.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {quoted_role}")
        for table in sorted(APPEND_ONLY_TABLES):
            cursor.execute(
                f"REVOKE UPDATE, DELETE, TRUNCATE ON {connection.ops.quote_name(table)} "
                f"FROM {quoted_role}"
            )
            # revoking UPDATE on the table revoked any column grant too: grant them again
            if columns := WRITE_ONCE_COLUMNS.get(table):
                quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
                cursor.execute(
                    f"GRANT UPDATE ({quoted}) ON {connection.ops.quote_name(table)} "
                    f"TO {quoted_role}"
                )
