"""The abstract base for tenant-owned models.

Every row that belongs to one organization inherits from `TenantOwnedModel`: a non-null
organization foreign key (layer 1), a default manager that fails closed outside a tenant
context and filters to the acting organization (layer 4), and, through the migration
operation `k12cloud.rls.EnableTenantRowLevelSecurity`, PostgreSQL row-level security (layer 5).
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from django.db import models

from k12cloud import tenancy


class TenantQuerySet(models.QuerySet):
    def for_organization(self, organization: Any) -> Self:
        """Rows of `organization`, which must be the organization being acted for.

        Selectors call this with the organization they were given, so passing the wrong one
        is caught here rather than silently returning an empty page.
        """
        state = tenancy.require_acting_for(organization.pk)
        if state.all_tenants:
            return self.filter(organization_id=organization.pk)
        return self  # already filtered by the manager


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    def get_queryset(self) -> TenantQuerySet:
        queryset: TenantQuerySet = super().get_queryset()
        return queryset.filter(**tenancy.tenant_filter_kwargs(self.model))

    def create(self, **kwargs: Any) -> Any:
        """Insert one row. Fails closed outside a tenant context as `get_queryset` does, but
        builds no filter: an INSERT uses none, and building it was a third of a small
        `create()`'s CPU (a timeline event, a deferred notice). Row-level security still
        refuses a row of another organization."""
        tenancy.tenant_filter_kwargs(self.model)
        return super().get_queryset().create(**kwargs)


class TenantOwnedModel(models.Model):
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )

    # Django's deletion collector and related-object access use `_base_manager`, which stays
    # a plain Manager: those run under whatever context is active, and RLS still applies.
    objects: ClassVar[TenantManager] = TenantManager()

    class Meta:
        abstract = True


# The encryption key store lives in its own package; importing it registers the model.
from k12cloud.encryption.models import OrganizationDataKey  # noqa: E402, F401
