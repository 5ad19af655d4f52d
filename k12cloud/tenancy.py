"""The tenant context: which organization the current request, task or command acts for.

Isolation is layered (see docs/architecture.md); this module is layers 4 and the
application half of 5:

- a context variable holds the acting organization (and the signed-in user); querying a
  tenant-owned model while it is unset raises `TenantContextMissing` instead of returning
  every tenant's rows;
- entering a context opens a transaction and copies the context into PostgreSQL settings that
  are local to that transaction (`set_config(..., true)`), which the row-level security
  policies read. A setting cannot outlive its transaction, so a pooled connection can never
  carry one tenant's context into another's request.

Statements (issue #20): entering a context is one round trip. The context that opens the
transaction sends BEGIN and its settings together (`BEGIN; SELECT set_config(...),
set_config(...), set_config(...)`, `_begin_with_settings`), instead of psycopg's own BEGIN
followed by the settings. Entering a nested context is one round trip too:
the execute wrapper sends the SAVEPOINT that `atomic()` executes together with that SELECT, as
one simple-protocol query (`SAVEPOINT "s..."; SELECT set_config('k12cloud.organization_id',
'42', true), ...`, the values quoted as literals: `_savepoint_with_settings`). Should that query
fail, the wrapper rolls back to the savepoint if it was made, so the enclosing transaction is
left as a failed entry left it before (an error inside `atomic()`, rolled back to its
savepoint). Leaving the context that opened the transaction sends nothing: COMMIT or ROLLBACK
discards the settings.
Leaving a nested context (a tenant context inside a request's user context, the escape hatch
inside a tenant context) must put the enclosing context's settings back, because RELEASE
SAVEPOINT keeps them; that restore is deferred to just before the next statement of the
enclosing transaction (an execute wrapper on the connection, `_restore_before_statement`), so
it is skipped when nothing runs before the transaction ends or another context sets its own
values first. A context left inside a transaction that no context opened (a plain atomic
block, a test's transaction) clears the settings at once, as before. Every statement Django
executes passes that wrapper; code that talks to psycopg directly
(`psycopg.Cursor(connection.connection)`) must call `settings_in_force()` first.

Entry points:
    tenant_context(organization)      a request, task or command acting for one organization
    user_context(user_id)             a signed-in user before an organization is chosen: they
                                      may read their own memberships and nothing else
    unscoped_all_tenants(reason=...)  the escape hatch for ops tooling and platform sweeps;
                                      grep for it in review
    select_acting_for(organization, expressions, params)
                                      a one-row SELECT acting for an organization (or, with a
                                      reason, all tenants): one round trip, setting the
                                      context itself, when no transaction is open
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

import psycopg
import psycopg.errors
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from psycopg import sql as psycopg_sql

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from accounts.models import Organization

logger = logging.getLogger(__name__)

# Names of the PostgreSQL settings the row-level security policies read.
ORGANIZATION_SETTING = "k12cloud.organization_id"
USER_SETTING = "k12cloud.user_id"
ALL_TENANTS_SETTING = "k12cloud.all_tenants"


class TenantContextMissing(RuntimeError):
    """A tenant-owned table was queried outside any tenant context."""


class TenantMismatch(RuntimeError):
    """Code asked for one organization's data while acting for another."""


@dataclass(frozen=True)
class TenantState:
    organization_id: int | None = None
    user_id: int | None = None
    all_tenants_reason: str | None = None

    @property
    def all_tenants(self) -> bool:
        return self.all_tenants_reason is not None


# TenantState is a frozen dataclass, so a shared default instance cannot be mutated.
_state: ContextVar[TenantState] = ContextVar("k12cloud_tenant_state", default=TenantState())  # noqa: B039


def current() -> TenantState:
    return _state.get()


def current_organization_id() -> int:
    """The acting organization's id; raises when there is none."""
    organization_id = _state.get().organization_id
    if organization_id is None:
        raise TenantContextMissing("No organization is active in this context.")
    return organization_id


def require_acting_for(organization_id: int) -> TenantState:
    """The current context, if it may read `organization_id`'s rows: that organization's
    tenant context, or an all-tenants one. For queries written in SQL, which skip the tenant
    manager's checks (layer 4): TenantContextMissing outside any context, TenantMismatch in
    another organization's. Row-level security still applies to them."""
    state = _state.get()
    if state.all_tenants or state.organization_id == organization_id:
        return state
    if state.organization_id is None:
        raise TenantContextMissing(
            f"Rows of organization {organization_id} were read outside a tenant context."
        )
    raise TenantMismatch(
        f"Asked for organization {organization_id} while acting for {state.organization_id}."
    )


# Set on the connection when a nested context was left and the enclosing context's settings
# have not been put back yet: the next statement in the transaction restores them first.
_RESTORE_PENDING = "_k12cloud_tenancy_restore_pending"
# Statements that read no setting: a restore waiting in front of them can wait a bit longer.
_SAVEPOINT_SQL = ("SAVEPOINT ", "RELEASE SAVEPOINT ", "ROLLBACK TO SAVEPOINT ")


# Set on the connection while a context is being entered: the SAVEPOINT that `atomic()` sends
# for it (a nested context) carries its settings (`_savepoint_with_settings`).
_ENTRY_PENDING = "_k12cloud_tenancy_entry_pending"

_SETTINGS_SQL = (
    "SELECT set_config(%s, %s, true), set_config(%s, %s, true), set_config(%s, %s, true)"
)


def _settings_params(state: TenantState) -> list[str]:
    return [
        ORGANIZATION_SETTING,
        "" if state.organization_id is None else str(state.organization_id),
        USER_SETTING,
        "" if state.user_id is None else str(state.user_id),
        ALL_TENANTS_SETTING,
        "on" if state.all_tenants else "",
    ]


def _apply_to_database(state: TenantState) -> None:
    """All three settings in one statement (one round trip), local to the transaction."""
    setattr(connection, _RESTORE_PENDING, False)
    with connection.cursor() as cursor:
        cursor.execute(_SETTINGS_SQL, _settings_params(state))


def _begin_statement(raw: psycopg.Connection[Any]) -> str:
    """The BEGIN psycopg would send for this connection (its isolation level, read-only and
    deferrable options, as `psycopg.Connection` builds it)."""
    parts = ["BEGIN"]
    if raw.isolation_level is not None:
        parts.append("ISOLATION LEVEL " + raw.isolation_level.name.replace("_", " "))
    if raw.read_only is not None:
        parts.append("READ ONLY" if raw.read_only else "READ WRITE")
    if raw.deferrable is not None:
        parts.append("DEFERRABLE" if raw.deferrable else "NOT DEFERRABLE")
    return " ".join(parts)


def _begin_with_settings(state: TenantState) -> bool:
    """Open the transaction that `atomic()` has just started and set the context in it, in one
    round trip: `BEGIN; SELECT set_config(...)` as one simple-protocol query.

    psycopg sends its BEGIN lazily, as a round trip of its own before the transaction's first
    statement; once this query has run, the connection is in a transaction and psycopg sends
    none. Returns False, having sent nothing, when the connection is not exactly at that point
    (a transaction already open, autocommit, pipeline mode): the caller sets the values with a
    statement of their own then. The query goes in `connection.queries` in place of the BEGIN
    Django logs (one entry for one round trip) and through Django's error translation.
    """
    raw = connection.connection
    if raw is None or raw.autocommit or not _between_transactions(raw):
        return False
    query = f"{_begin_statement(raw)}; {_settings_sql(state, raw)}"
    started = time.monotonic()
    with connection.wrap_database_errors:
        result = raw.pgconn.exec_(query.encode(raw.info.encoding))
        if result.status != psycopg.pq.ExecStatus.TUPLES_OK:
            # a failed BEGIN or set_config leaves the connection in a failed transaction, which
            # Django rolls back on the way out of atomic(), or broken (closed at the request's
            # end); the error is what psycopg raises for either
            if raw.pgconn.status == psycopg.pq.ConnStatus.BAD:
                message = raw.pgconn.get_error_message(raw.info.encoding)
                raise psycopg.OperationalError(message)
            raise psycopg.errors.error_from_result(result, encoding=raw.info.encoding)
    setattr(connection, _RESTORE_PENDING, False)
    if connection.queries_logged:
        log = connection.queries_log
        if log and log[-1]["sql"] == "BEGIN":
            log.pop()
        _log_sent(connection, query, started)
    return True


def _between_transactions(raw: psycopg.Connection[Any]) -> bool:
    """No transaction open and no pipeline: where a query sent on the raw connection (not
    through Django's cursor) may open a transaction or be one."""
    return (
        raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        and raw.info.pipeline_status == psycopg.pq.PipelineStatus.OFF
    )


def _log_sent(db: BaseDatabaseWrapper, sql: str, started: float) -> None:
    """A query sent on the raw connection, in `connection.queries` as Django logs its own
    (call when `db.queries_logged`)."""
    db.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})


def _settings_sql(state: TenantState, raw: psycopg.Connection[Any]) -> str:
    """`_SETTINGS_SQL` with its values as quoted literals (ids and fixed flags), to travel in one
    simple-protocol query with the savepoint."""
    return _SETTINGS_SQL % tuple(psycopg_sql.quote(value, raw) for value in _settings_params(state))


def _savepoint_with_settings(
    execute: Any, sql: str, state: TenantState, context: dict[str, Any]
) -> Any:
    """The SAVEPOINT of a nested context's `atomic()` and the context's settings, one round
    trip: psycopg sends a query without parameters through the simple protocol, which runs
    both statements in order (the result is the SAVEPOINT's, as Django expects)."""
    raw = context["cursor"].cursor.connection
    try:
        result = execute(f"{sql}; {_settings_sql(state, raw)}", None, False, context)
    except DatabaseError:
        # The savepoint may have been made before the settings failed: go back to it, so the
        # enclosing transaction stays usable as when a separate set_config failed inside
        # atomic() (which rolled back to its savepoint). If the SAVEPOINT failed itself, this
        # fails too and the transaction stays as the failure left it.
        setattr(connection, _RESTORE_PENDING, True)
        with contextlib.suppress(DatabaseError):
            execute(f"ROLLBACK TO {sql}", None, False, context)
        raise
    setattr(connection, _RESTORE_PENDING, False)
    return result


def _one_query_possible(context: dict[str, Any]) -> bool:
    """Several statements can share one execute: a client-side binding cursor (the project's,
    Django's default) outside pipeline mode, which uses the simple query protocol."""
    cursor = getattr(context.get("cursor"), "cursor", None)
    return (
        isinstance(cursor, psycopg.ClientCursor)
        and cursor.connection.info.pipeline_status == psycopg.pq.PipelineStatus.OFF
    )


def settings_in_force() -> None:
    """Put the current context's settings in the database now if a restore is pending.

    Django's statements get this from `_restore_before_statement`; call it before running SQL
    through a raw psycopg cursor, which no execute wrapper sees.
    """
    if not getattr(connection, _RESTORE_PENDING, False):
        return
    if not connection.in_atomic_block:
        setattr(connection, _RESTORE_PENDING, False)  # the transaction took its settings along
    elif not connection.needs_rollback:
        _apply_to_database(_state.get())
    # else: no statement runs in this transaction until it rolls back; the restore stays pending


def _restore_before_statement(
    execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """Execute wrapper: a nested context's settings go with its SAVEPOINT; a deferred restore
    runs before the statement that could read it."""
    savepoint_sql = isinstance(sql, str) and sql.startswith(_SAVEPOINT_SQL)
    entering = getattr(connection, _ENTRY_PENDING, None)
    if (
        entering is not None
        and savepoint_sql
        and sql.startswith("SAVEPOINT ")
        and params is None
        and not many
        and _one_query_possible(context)
    ):
        setattr(connection, _ENTRY_PENDING, None)
        return _savepoint_with_settings(execute, sql, entering, context)
    if getattr(connection, _RESTORE_PENDING, False) and not savepoint_sql:
        settings_in_force()  # its own statement passes here again with nothing pending
    if savepoint_sql and sql.startswith("ROLLBACK"):
        # the settings go back to what they were at the savepoint, which may be a left
        # context's whose restore was still pending then, or was made after it and is undone
        setattr(connection, _RESTORE_PENDING, True)
    return execute(sql, params, many, context)


def _install_restore_wrapper() -> None:
    # first in the list (outermost): Django's execute_wrapper() context manager pops the last
    # element, so a wrapper someone pushes for a block is still the one they pop
    if _restore_before_statement not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _restore_before_statement)


# How many contexts enclose the running code (a nested one knows it has an enclosing context).
_depth: ContextVar[int] = ContextVar("k12cloud_tenant_depth", default=0)


@contextmanager
def _activate(state: TenantState) -> Iterator[TenantState]:
    _install_restore_wrapper()
    token = _state.set(state)
    depth_token = _depth.set(_depth.get() + 1)
    # a nested context's SAVEPOINT takes the settings along (the execute wrapper); the context
    # that opens the transaction sends them with its BEGIN; otherwise (a transaction this
    # context did not open and no savepoint, or a connection in pipeline mode) they are a
    # statement of their own
    opens_transaction = not connection.in_atomic_block
    setattr(connection, _ENTRY_PENDING, state)
    try:
        with transaction.atomic():
            if getattr(connection, _ENTRY_PENDING, None) is not None:
                setattr(connection, _ENTRY_PENDING, None)
                if not (opens_transaction and _begin_with_settings(state)):
                    _apply_to_database(state)
            yield state
    finally:
        setattr(connection, _ENTRY_PENDING, None)
        _state.reset(token)
        _depth.reset(depth_token)
        # The context that opened the transaction needs no restore: COMMIT or ROLLBACK has
        # discarded its settings. A nested context ran in a savepoint; releasing it keeps its
        # settings, and a rolled back savepoint may hold another nested context's, so the
        # enclosing context's settings go back before the next statement of the transaction.
        if not connection.in_atomic_block:
            setattr(connection, _RESTORE_PENDING, False)
        elif _depth.get() > 0 or connection.needs_rollback:
            setattr(connection, _RESTORE_PENDING, True)
        else:
            # no context encloses this one, but a transaction it did not open does (a plain
            # atomic block, a test's transaction): clear the settings now, as code outside any
            # context expects, rather than in front of whatever statement comes next
            _apply_to_database(_state.get())


def _organization_id(organization: Organization | int) -> int:
    return organization if isinstance(organization, int) else organization.pk


@contextmanager
def tenant_context(organization: Organization | int) -> Iterator[TenantState]:
    """Act for one organization: its rows, and no other tenant's, are visible and writable.

    Runs the block in a transaction (a savepoint when one is already open). Work that must
    commit in pieces, such as chunked de-identification, enters a context per chunk.
    """
    state = replace(_state.get(), organization_id=_organization_id(organization))
    with _activate(state) as active:
        yield active


@contextmanager
def user_context(user_id: int | None) -> Iterator[TenantState]:
    """A request's signed-in user, before any organization is chosen."""
    with _activate(TenantState(user_id=user_id)) as active:
        yield active


@contextmanager
def unscoped_all_tenants(*, reason: str) -> Iterator[TenantState]:
    """DANGER: every tenant's rows become visible. For ops staff tooling and platform sweeps.

    The reason is required and logged so that each use is deliberate and reviewable.
    """
    if not reason.strip():
        raise ValueError("unscoped_all_tenants() needs a reason.")
    logger.info("entering an all-tenants context: %s", reason)
    state = replace(_state.get(), organization_id=None, all_tenants_reason=reason)
    with _activate(state) as active:
        yield active


def select_acting_for(
    organization: Organization | int | None,
    expressions: str,
    params: Sequence[Any],
    *,
    all_tenants_reason: str | None = None,
) -> tuple[Any, ...]:
    """`SELECT <expressions>` (one row: typically a PL/pgSQL function's call) acting for
    `organization`, and its row. None acts for all tenants, which needs `all_tenants_reason`,
    logged as `unscoped_all_tenants` logs it.

    Outside any transaction the SELECT is a transaction of its own and sets the context
    itself: `WITH acting AS MATERIALIZED (SELECT set_config(...), ...) SELECT <expressions>
    FROM acting`. The materialized CTE is scanned, so its settings are made, before the select
    list is computed for its one row; they are local to the statement's implicit transaction,
    exactly as a context's are to its transaction, and end with it. Row-level security applies
    as in a context. One round trip instead of three (BEGIN with the settings, the statement,
    COMMIT), for work that stands alone, such as an audit event recorded outside any
    transaction (issue #20).

    That statement is sent as a prepared statement with server-side binding, through a psycopg
    cursor of its own (the values travel apart from the SQL, nothing is quoted on the client,
    the server plans it once per connection): record()'s CPU on the client went from about 155
    to 110 µs per event. Django's cursor wrapper is not in the way, so this function logs the
    query where Django would (`connection.queries`) and translates errors as Django does;
    execute wrappers do not see it (outside a transaction the tenancy wrapper has nothing to
    restore). A connection pooler in front of PostgreSQL must then support protocol-level
    prepared statements (PgBouncer does in transaction mode since 1.21).

    Inside a transaction it runs through Django's cursor in `tenant_context()` or
    `unscoped_all_tenants()` (a savepoint with the settings), or directly when that
    organization's context is already the current one.
    """
    if organization is None and not (all_tenants_reason or "").strip():
        raise ValueError("select_acting_for() for all tenants needs a reason.")
    organization_id = None if organization is None else _organization_id(organization)
    db = connections[DEFAULT_DB_ALIAS]
    if not db.in_atomic_block:
        row = _select_alone(db, organization_id, all_tenants_reason, expressions, params)
        if row is not _NOT_SENT:
            return cast(tuple[Any, ...], row)
    context: contextlib.AbstractContextManager[object]
    if organization_id is None:
        context = unscoped_all_tenants(reason=all_tenants_reason or "")
    elif _state.get().organization_id != organization_id:
        context = tenant_context(organization_id)
    else:
        context = contextlib.nullcontext()
    with context, db.cursor() as cursor:
        cursor.execute(f"SELECT {expressions}", params)
        return cast(tuple[Any, ...], cursor.fetchone())


# what _select_alone() returns when the connection cannot take the statement alone
_NOT_SENT: Any = object()
_ALONE_SQL = f"WITH acting AS MATERIALIZED ({_SETTINGS_SQL}) SELECT {{expressions}} FROM acting"


def _select_alone(
    db: BaseDatabaseWrapper,
    organization_id: int | None,
    all_tenants_reason: str | None,
    expressions: str,
    params: Sequence[Any],
) -> Any:
    """The SELECT with the context's settings in it, as the one statement of its implicit
    transaction (`select_acting_for`); its row. `_NOT_SENT`, having sent nothing, when the
    connection is not idle in autocommit outside pipeline mode."""
    db.ensure_connection()
    raw = db.connection
    if not (raw.autocommit and _between_transactions(raw)):
        return _NOT_SENT
    state = TenantState(
        organization_id=organization_id,
        user_id=_state.get().user_id,
        all_tenants_reason=all_tenants_reason if organization_id is None else None,
    )
    if state.all_tenants:
        logger.info("entering an all-tenants context: %s", all_tenants_reason)
    query = _ALONE_SQL.format(expressions=expressions)
    values = [*_settings_params(state), *params]
    started = time.monotonic()
    with db.wrap_database_errors, psycopg.Cursor(raw) as cursor:
        cursor.execute(query, values, prepare=True)
        row = cursor.fetchone()
    if db.queries_logged:
        with psycopg.ClientCursor(raw) as quoting:
            _log_sent(db, quoting.mogrify(query, values), started)
    return row


def tenant_filter_kwargs(model: Any) -> dict[str, int]:
    """The application-level filter for `model` under the current context (layer 4).

    Raises `TenantContextMissing` outside a context: failing closed is the point.
    """
    from django.conf import settings

    state = _state.get()
    if state.all_tenants:
        return {}
    if state.organization_id is None:
        raise TenantContextMissing(
            f"{model._meta.label} is tenant-owned and was queried outside a tenant context. "
            "Wrap the work in tenant_context(organization)."
        )
    if not settings.TENANCY_APPLICATION_SCOPING:
        return {}
    return {"organization_id": state.organization_id}
