"""The abstract base for tenant-owned models.

Every row that belongs to one organization inherits from `TenantOwnedModel`: a non-null
organization foreign key (layer 1), a default manager that fails closed outside a tenant
context and filters to the acting organization (layer 4), and, through the migration
operation `k12cloud.rls.EnableTenantRowLevelSecurity`, PostgreSQL row-level security (layer 5).
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar, Self

from django.db import connection, models
from django.db.models import signals
from django.db.models.fields import AutoFieldMixin

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


def tenant_row_insert(instance: TenantOwnedModel) -> None:
    """INSERT a new tenant-owned row as `Model.objects.create()` would, in one statement
    written once per model: the ORM's INSERT machinery (query, compiler, save path) costs
    several times the statement on a hot path (a deferred notice on every intake).

    The same checks and values as `create()`: it fails closed outside a tenant context
    (`TenantManager.create`), related objects must be saved, each field's value is prepared
    by `pre_save(add=True)` and `get_db_prep_save` (timestamps, sealed values), and the
    instance is left as `save()` leaves it (its id set, no longer "adding"). Row-level
    security applies as to any INSERT. A model whose save anything else could observe (a
    `save()` override, pre_save/post_save receivers, a parent model, a database default) is
    saved by `save()` instead.
    """
    model = type(instance)
    tenancy.tenant_filter_kwargs(model)
    observed = signals.pre_save.has_listeners(model) or signals.post_save.has_listeners(model)
    if observed or not _plain_insert(model):
        instance.save(force_insert=True)
        return
    instance._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]
    fields = _insert_fields(model)
    values = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model), values)
        (instance.pk,) = cursor.fetchone()
    instance._state.adding = False
    instance._state.db = connection.alias


@cache
def _plain_insert(model: type[models.Model]) -> bool:
    """Whether `save()` of a new `model` row is exactly its INSERT (see tenant_row_insert)."""
    meta = model._meta
    return (
        model.save is models.Model.save
        and model.save_base is models.Model.save_base
        and not meta.parents
        and isinstance(meta.pk, AutoFieldMixin)
        and not any(f.db_returning and not f.primary_key for f in meta.concrete_fields)
        and not any(f.has_db_default() for f in meta.concrete_fields)
    )


@cache
def _insert_fields(model: type[models.Model]) -> tuple[Any, ...]:
    return tuple(f for f in model._meta.concrete_fields if not f.primary_key)


@cache
def _insert_sql(model: type[models.Model]) -> str:
    quote = connection.ops.quote_name
    fields = _insert_fields(model)
    return (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(str(f.column)) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote(str(model._meta.pk.column))}"
    )


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
