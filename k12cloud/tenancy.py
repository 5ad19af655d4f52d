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

Entry points:
    tenant_context(organization)      a request, task or command acting for one organization
    user_context(user_id)             a signed-in user before an organization is chosen: they
                                      may read their own memberships and nothing else
    unscoped_all_tenants(reason=...)  the escape hatch for ops tooling and platform sweeps;
                                      grep for it in review
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

if TYPE_CHECKING:
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


def _apply_to_database(state: TenantState) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config(%s, %s, true), set_config(%s, %s, true), set_config(%s, %s, true)",
            [
                ORGANIZATION_SETTING,
                "" if state.organization_id is None else str(state.organization_id),
                USER_SETTING,
                "" if state.user_id is None else str(state.user_id),
                ALL_TENANTS_SETTING,
                "on" if state.all_tenants else "",
            ],
        )


@contextmanager
def _activate(state: TenantState) -> Iterator[TenantState]:
    previous = _state.get()
    token = _state.set(state)
    try:
        with transaction.atomic():
            _apply_to_database(state)
            yield state
    finally:
        _state.reset(token)
        # A nested context ran in a savepoint; releasing it keeps its settings, so put the
        # enclosing context's settings back for the rest of the outer transaction.
        if connection.in_atomic_block and not connection.needs_rollback:
            _apply_to_database(previous)


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
