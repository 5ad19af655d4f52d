"""PostgreSQL row-level security for tenant-owned tables (layer 5 of tenant isolation).

Each tenant-owned table gets ENABLE and FORCE ROW LEVEL SECURITY and one policy whose USING
and WITH CHECK both call `k12cloud_tenant_visible(organization_id)`, a SQL function reading the
transaction-local settings that `k12cloud.tenancy` sets. FORCE makes the policy bind the table
owner too; the runtime role is neither superuser nor owner nor BYPASSRLS (`check_rls`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.migrations.operations.base import Operation

from k12cloud.tenancy import ALL_TENANTS_SETTING, ORGANIZATION_SETTING

POLICY_NAME = "tenant_isolation"

# STABLE and a single SELECT, so the planner inlines it and indexes on organization_id apply.
CREATE_VISIBILITY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION k12cloud_tenant_visible(org_id bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT current_setting('{ALL_TENANTS_SETTING}', true) = 'on'
        OR org_id = NULLIF(current_setting('{ORGANIZATION_SETTING}', true), '')::bigint
$$;
"""
DROP_VISIBILITY_FUNCTION = "DROP FUNCTION IF EXISTS k12cloud_tenant_visible(bigint);"


def enable_sql(table: str) -> list[str]:
    quoted = connection.ops.quote_name(table)
    return [
        f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {quoted} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {quoted}",
        f"CREATE POLICY {POLICY_NAME} ON {quoted} "
        "USING (k12cloud_tenant_visible(organization_id)) "
        "WITH CHECK (k12cloud_tenant_visible(organization_id))",
    ]


def disable_sql(table: str) -> list[str]:
    quoted = connection.ops.quote_name(table)
    return [
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {quoted}",
        f"ALTER TABLE {quoted} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {quoted} DISABLE ROW LEVEL SECURITY",
    ]


class EnableTenantRowLevelSecurity(Operation):
    """Migration operation: protect a tenant-owned model's table with the tenant policy."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__qualname__, [self.model_name], {})

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def _table(self, app_label: str, state: Any) -> str:
        return str(state.apps.get_model(app_label, self.model_name)._meta.db_table)

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        for statement in enable_sql(self._table(app_label, to_state)):
            schema_editor.execute(statement)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        for statement in disable_sql(self._table(app_label, from_state)):
            schema_editor.execute(statement)

    def describe(self) -> str:
        return f"Enable tenant row-level security on {self.model_name}"

    @property
    def migration_name_fragment(self) -> str:
        return f"rls_{self.model_name.lower()}"


@dataclass(frozen=True)
class TableProtection:
    table: str
    rls_enabled: bool
    rls_forced: bool
    policies: int
    owner: str

    @property
    def protected(self) -> bool:
        return self.rls_enabled and self.rls_forced and self.policies > 0


@dataclass(frozen=True)
class RoleSafety:
    role: str
    exists: bool
    superuser: bool
    bypass_rls: bool


def tables_with_organization_column(cursor: Any) -> list[TableProtection]:
    cursor.execute(
        """
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
               (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid),
               pg_get_userbyid(c.relowner)
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema()
          AND c.relkind IN ('r', 'p')
          AND EXISTS (
              SELECT 1 FROM pg_attribute a
              WHERE a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped
          )
        ORDER BY c.relname
        """
    )
    return [TableProtection(*row) for row in cursor.fetchall()]


def role_safety(cursor: Any, role: str) -> RoleSafety:
    cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
    row = cursor.fetchone()
    if row is None:
        return RoleSafety(role=role, exists=False, superuser=False, bypass_rls=False)
    return RoleSafety(role=role, exists=True, superuser=row[0], bypass_rls=row[1])
