"""The key store: each organization's keys, wrapped under the master key, and their services.

Reading a key acts for the organization that owns the row being decrypted (its tenant context),
so row-level security lets a process see only keys of rows it could already see.
Unwrapped keys are cached in this process's memory only (never Redis), for `CACHE_SECONDS`,
and only once the transaction that read them has committed: a key created by a transaction
that rolls back can never be served from the cache.

Services (each writes exactly one audit event in the transaction that changes the keys):
    keys_ensure                 first use by an organization: data + index keys (KEY_CREATED)
    data_key_rotate             a new data key version; the old one still decrypts (KEY_ROTATED)
    data_reencrypt              re-encrypt rows under the current version, chunk by chunk
    master_key_rotate           re-wrap every key under the current master key (MASTER_KEY_ROTATED)
    organization_keys_destroy   crypto-shredding (KEY_DESTROYED)
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache, partial
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps
from django.db import connection, models, transaction
from django.utils import timezone

from k12cloud import tenancy
from k12cloud.encryption.master_keys import master_keys
from k12cloud.encryption.models import OrganizationDataKey

if TYPE_CHECKING:
    from accounts.models import Organization
    from k12cloud.encryption.fields import EncryptedTextField

Purpose = OrganizationDataKey.Purpose
NONCE_BYTES = 12
CACHE_SECONDS = 60.0
_ADVISORY_LOCK_CLASS = 0x6B31  # pg_advisory_xact_lock(class, organization): key changes


class EncryptionError(Exception):
    """Encrypted data cannot be written or read."""


class KeyDestroyed(EncryptionError):
    """The organization's keys were destroyed (crypto-shredding): its data is unreadable."""


class DecryptionFailed(EncryptionError):
    """A value or key does not authenticate: tampered, or moved between rows or tenants."""


@dataclass(frozen=True)
class DataKey:
    organization_id: int
    purpose: str
    version: int
    material: bytes

    def __repr__(self) -> str:  # never the key material
        return f"DataKey({self.organization_id}, {self.purpose!r}, v{self.version})"


# --- the in-memory cache ----------------------------------------------------------------------

_cache: dict[tuple[int, str, int], tuple[float, bytes]] = {}
_cache_lock = threading.Lock()


def _cached(organization_id: int, purpose: str, version: int) -> bytes | None:
    entry = _cache.get((organization_id, purpose, version))
    if entry is None or entry[0] < time.monotonic():
        return None
    return entry[1]


def _store(organization_id: int, purpose: str, version: int, material: bytes) -> None:
    with _cache_lock:
        _cache[(organization_id, purpose, version)] = (time.monotonic() + CACHE_SECONDS, material)


def _remember(key: DataKey) -> None:
    # after commit only (immediately outside a transaction)
    transaction.on_commit(
        partial(_store, key.organization_id, key.purpose, key.version, key.material)
    )


def forget(organization_id: int | None = None) -> None:
    """Drop cached keys (of one organization, or all). Other processes expire theirs in
    CACHE_SECONDS."""
    with _cache_lock:
        for cache_key in list(_cache):
            if organization_id is None or cache_key[0] == organization_id:
                del _cache[cache_key]
        for organization in list(_data_versions):
            if organization_id is None or organization == organization_id:
                del _data_versions[organization]


def _forget_data_versions(organization_id: int) -> None:
    """The organization's data key versions changed (a new one): the next preload reads them."""
    with _cache_lock:
        _data_versions.pop(organization_id, None)


# --- wrapping under the master key ------------------------------------------------------------


def _wrap_aad(organization_id: int, purpose: str, version: int) -> bytes:
    # binds the wrapped key to its row: it cannot be copied to another organization or version
    return f"k12cloud.datakey|{organization_id}|{purpose}|{version}".encode()


def _wrap(
    material: bytes, *, organization_id: int, purpose: str, version: int
) -> tuple[bytes, str]:
    keys = master_keys()
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(keys.keys[keys.current_id]).encrypt(
        nonce, material, _wrap_aad(organization_id, purpose, version)
    )
    return nonce + sealed, keys.current_id


def _unwrap(row: OrganizationDataKey) -> DataKey:
    if row.destroyed_at is not None or row.wrapped_key is None:
        raise KeyDestroyed(
            f"The encryption keys of organization {row.organization_id} were destroyed; "
            "its encrypted data is unreadable."
        )
    blob = bytes(row.wrapped_key)
    try:
        material = AESGCM(master_keys().get(row.master_key_id)).decrypt(
            blob[:NONCE_BYTES],
            blob[NONCE_BYTES:],
            _wrap_aad(row.organization_id, row.purpose, row.version),
        )
    except InvalidTag:
        raise DecryptionFailed(
            f"The {row.purpose} key v{row.version} of organization {row.organization_id} does "
            f"not unwrap under master key {row.master_key_id!r}."
        ) from None
    return DataKey(row.organization_id, row.purpose, row.version, material)


# --- reading keys -----------------------------------------------------------------------------


def _acting_for(organization_id: int) -> AbstractContextManager[object]:
    state = tenancy.current()
    if state.all_tenants or state.organization_id == organization_id:
        return nullcontext()
    return tenancy.tenant_context(organization_id)


def _keys_of(organization_id: int) -> models.QuerySet[OrganizationDataKey]:
    # explicit filter: under an all-tenants context the manager shows every organization's keys
    return OrganizationDataKey.objects.filter(organization_id=organization_id)


def _current_row(organization_id: int, purpose: str) -> OrganizationDataKey | None:
    return (
        _keys_of(organization_id)
        .filter(purpose=purpose, retired_at__isnull=True, destroyed_at__isnull=True)
        .first()
    )


def _refuse_if_destroyed(organization_id: int) -> None:
    if _keys_of(organization_id).filter(destroyed_at__isnull=False).exists():
        raise KeyDestroyed(
            f"The encryption keys of organization {organization_id} were destroyed; "
            "nothing more can be encrypted or read for it."
        )


def current_key(organization_id: int, purpose: str, *, create: bool = True) -> DataKey | None:
    """The key new values are encrypted (or indexed) with.

    One query (none inside `current_keys_pinned`). Created on the organization's first use when
    `create`; otherwise None when the organization has no keys yet. Raises KeyDestroyed after
    crypto-shredding.
    """
    pinned = (_pinned.get() or {}).get((organization_id, purpose))
    if pinned is not None:
        return pinned
    with _acting_for(organization_id):
        row = _current_row(organization_id, purpose)
        if row is None:
            _refuse_if_destroyed(organization_id)
            if not create:
                return None
            row = keys_ensure(organization_id=organization_id)[purpose]
        key = _unwrap(row)
    _remember(key)
    return key


# current keys read once by `current_keys_pinned` for the block that asked
_pinned: ContextVar[dict[tuple[int, str], DataKey] | None] = ContextVar(
    "k12cloud_pinned_current_keys", default=None
)


@contextmanager
def current_keys_pinned(organization_id: int) -> Iterator[None]:
    """Within the block, encrypt and index the organization's new rows without a query per
    value: the current data and index keys are read (or created) once, here.

    For bulk writes (an import of many thousand rows in one transaction). A rotation inside
    the block is not seen by it; the block should be one transaction's work.
    """
    keys = _current_keys(organization_id)
    token = _pinned.set({**(_pinned.get() or {}), **{k: v for k, v in keys.items() if v}})
    try:
        yield
    finally:
        _pinned.reset(token)


def _current_keys(organization_id: int) -> dict[tuple[int, str], DataKey | None]:
    """The current data and index keys, in one query; a purpose without a current row goes
    through `current_key` (which creates the keys, or refuses after crypto-shredding)."""
    purposes = (Purpose.DATA, Purpose.INDEX)
    with _acting_for(organization_id):
        rows = {row.purpose: row for row in _current_rows(organization_id)}
    keys: dict[tuple[int, str], DataKey | None] = {}
    for purpose in purposes:
        row = rows.get(purpose)
        if row is None:
            keys[(organization_id, purpose)] = current_key(organization_id, purpose)
            continue
        key = _unwrap(row)
        _remember(key)
        keys[(organization_id, purpose)] = key
    return keys


def _current_rows(organization_id: int) -> list[OrganizationDataKey]:
    """The organization's current (neither retired nor destroyed) data and index key rows,
    loaded with the columns `_unwrap` reads (the others deferred). Written in SQL: read on
    every intake, the ORM's query cost several times more CPU to build and compile than to
    run. Call in the organization's context (`_acting_for`); row-level security applies."""
    with connection.cursor() as cursor:
        cursor.execute(_current_rows_sql(), [organization_id, _CURRENT_PURPOSES])
        return [
            OrganizationDataKey.from_db(connection.alias, _CURRENT_ROW_FIELDS, row)
            for row in cursor.fetchall()
        ]


_CURRENT_ROW_FIELDS = [
    "id",
    "organization_id",
    "purpose",
    "version",
    "wrapped_key",
    "master_key_id",
    "destroyed_at",
]
_CURRENT_PURPOSES = [str(Purpose.DATA), str(Purpose.INDEX)]


@cache
def _current_rows_sql() -> str:
    return (
        f"SELECT {', '.join(_CURRENT_ROW_FIELDS)} FROM {OrganizationDataKey._meta.db_table} "
        "WHERE organization_id = %s AND purpose = ANY(%s) "
        "AND retired_at IS NULL AND destroyed_at IS NULL"
    )


@dataclass
class _Preloaded:
    """The keys `data_keys_preloaded` read for the block that asked."""

    keys: dict[tuple[int, str, int], bytes]
    # organizations whose keys came from the process cache: a version missing there (a
    # rotation in another process, not yet seen by this one) reads them all again, once
    from_cache: frozenset[int] = frozenset()


_preloaded: ContextVar[_Preloaded | None] = ContextVar("k12cloud_preloaded_keys", default=None)

# the data key versions each organization had when last read, kept with the keys themselves
# (after commit, for CACHE_SECONDS): {organization: (expires, versions)}
_data_versions: dict[int, tuple[float, tuple[int, ...]]] = {}


def _data_keys_cached(organization_id: int) -> dict[tuple[int, str, int], bytes] | None:
    """Every data key version of the organization from the process cache, or None when the
    cache does not hold all of them (or does not know which there are)."""
    entry = _data_versions.get(organization_id)
    if entry is None or entry[0] < time.monotonic():
        return None
    found = {}
    for version in entry[1]:
        material = _cached(organization_id, Purpose.DATA, version)
        if material is None:
            return None
        found[(organization_id, Purpose.DATA.value, version)] = material
    return found


def _store_data_keys(organization_id: int, keys: dict[tuple[int, str, int], bytes]) -> None:
    with _cache_lock:
        expires = time.monotonic() + CACHE_SECONDS
        for (_org, purpose, version), material in keys.items():
            _cache[(organization_id, purpose, version)] = (expires, material)
        _data_versions[organization_id] = (expires, tuple(sorted(v for _o, _p, v in keys)))


def _data_keys_read(organization_id: int) -> dict[tuple[int, str, int], bytes]:
    """Every live data key version of the organization (one query); cached after commit."""
    with _acting_for(organization_id):
        rows = list(_keys_of(organization_id).filter(purpose=Purpose.DATA))
    loaded = {}
    for row in rows:
        if row.destroyed_at is None and row.wrapped_key is not None:
            key = _unwrap(row)
            loaded[(organization_id, key.purpose, key.version)] = key.material
    if loaded:
        transaction.on_commit(partial(_store_data_keys, organization_id, dict(loaded)))
    return loaded


@contextmanager
def data_keys_preloaded(organization_id: int) -> Iterator[None]:
    """Within the block, decrypt the organization's rows without a query per row: every data
    key version it has is read once, here: from the process cache when it holds them all
    (no query), else with one query, whether or not a row is decrypted.

    For pages that decrypt a column of many rows in one transaction. The process cache takes
    keys only after commit (a key made by a transaction that rolls back is never served) and
    for CACHE_SECONDS. A rotation is seen at once: this process forgets the organization's
    versions when it rotates, and a row under a version the cache does not hold (rotated by
    another process) reads every version again, once per block. Destroyed keys: forgotten at
    once by the process that destroys them, within CACHE_SECONDS by the others (as for
    `key_version`).
    """
    outer = _preloaded.get()
    cached = _data_keys_cached(organization_id)
    keys = {**(outer.keys if outer else {}), **(cached or _data_keys_read(organization_id))}
    from_cache = outer.from_cache if outer else frozenset()
    if cached is not None:
        from_cache |= {organization_id}
    else:
        from_cache -= {organization_id}
    token = _preloaded.set(_Preloaded(keys, from_cache))
    try:
        yield
    finally:
        _preloaded.reset(token)


def key_version(organization_id: int, purpose: str, version: int) -> DataKey:
    """A specific version (to decrypt): from the cache, else one query."""
    preloaded = _preloaded.get()
    material = preloaded.keys.get((organization_id, purpose, version)) if preloaded else None
    if material is None:
        material = _cached(organization_id, purpose, version)
    if material is None and preloaded and organization_id in preloaded.from_cache:
        # rotated since this process cached the versions: read them all, for the whole block
        preloaded.keys.update(_data_keys_read(organization_id))
        preloaded.from_cache -= {organization_id}
        material = preloaded.keys.get((organization_id, purpose, version))
    if material is not None:
        return DataKey(organization_id, purpose, version, material)
    with _acting_for(organization_id):
        row = _keys_of(organization_id).filter(purpose=purpose, version=version).first()
        if row is None:
            _refuse_if_destroyed(organization_id)
            raise DecryptionFailed(
                f"Organization {organization_id} has no {purpose} key v{version}."
            )
        key = _unwrap(row)
    _remember(key)
    return key


# --- services ---------------------------------------------------------------------------------


def _lock(organization_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s::int, %s::int)",
            [_ADVISORY_LOCK_CLASS, organization_id % 2**31],
        )


def _create(organization_id: int, purpose: str, version: int) -> OrganizationDataKey:
    material = AESGCM.generate_key(bit_length=256)
    wrapped, master_key_id = _wrap(
        material, organization_id=organization_id, purpose=purpose, version=version
    )
    return OrganizationDataKey.objects.create(
        organization_id=organization_id,
        purpose=purpose,
        version=version,
        wrapped_key=wrapped,
        master_key_id=master_key_id,
    )


def keys_ensure(*, organization_id: int) -> dict[str, OrganizationDataKey]:
    """The organization's current data and index keys, creating the missing ones (audited).

    Serialised per organization by an advisory lock, so concurrent first uses create one key.
    """
    from audit.actions import Action
    from audit.services import record

    with tenancy.tenant_context(organization_id):
        _lock(organization_id)
        _refuse_if_destroyed(organization_id)
        current: dict[str, OrganizationDataKey] = {}
        created: list[str] = []
        for purpose in Purpose.values:
            row = _current_row(organization_id, purpose)
            if row is None:
                latest = _keys_of(organization_id).filter(purpose=purpose).order_by("-version")
                previous = latest.values_list("version", flat=True).first() or 0
                row = _create(organization_id, purpose, previous + 1)
                created.append(purpose)
            current[purpose] = row
        if created:
            record(
                Action.KEY_CREATED,
                organization=organization_id,
                target=current[created[0]],
                changes={"purposes": created, "versions": [current[p].version for p in created]},
            )
    return current


def data_key_rotate(*, organization: Organization) -> int | None:
    """Start using a new data key version; returns it (None: the organization has no keys).

    The previous version is retired, not destroyed: rows still encrypted under it keep reading
    (no downtime) until `data_reencrypt` moves them, and restored backups stay readable.
    The index key does not rotate, so stored blind indexes keep matching.
    """
    from audit.actions import Action
    from audit.services import record

    with tenancy.tenant_context(organization):
        _lock(organization.pk)
        current = _current_row(organization.pk, Purpose.DATA)
        if current is None:
            _refuse_if_destroyed(organization.pk)
            return None
        current.retired_at = timezone.now()
        current.save(update_fields=["retired_at"])
        row = _create(organization.pk, Purpose.DATA, current.version + 1)
        transaction.on_commit(partial(_forget_data_versions, organization.pk))
        record(
            Action.KEY_ROTATED,
            organization=organization,
            target=row,
            changes={"purpose": Purpose.DATA, "version": row.version, "previous": current.version},
        )
    return row.version


def encrypted_fields() -> Iterator[tuple[type[models.Model], list[EncryptedTextField]]]:
    from k12cloud.encryption.fields import EncryptedTextField

    for model in apps.get_models():
        found = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if found and model._meta.managed and not model._meta.proxy:
            yield model, found


def data_reencrypt(*, organization: Organization, chunk_size: int = 500) -> int:
    """Re-encrypt the organization's rows that are not under its current data key version.

    Each chunk is its own transaction, its rows locked (`select_for_update`) so a concurrent
    edit is never overwritten with the older value. Rows written meanwhile by a process that
    has not yet seen the rotation still read (old versions stay), and a later run moves them.
    Idempotent; returns the number of rows rewritten.
    """
    rewritten = 0
    for model, fields in encrypted_fields():
        last_pk: object = None
        while True:
            with tenancy.tenant_context(organization):
                key = current_key(organization.pk, Purpose.DATA, create=False)
                if key is None:
                    return rewritten
                rows = model._base_manager.filter(organization_id=organization.pk)
                if last_pk is not None:
                    rows = rows.filter(pk__gt=last_pk)
                chunk = list(
                    rows.order_by("pk")
                    .select_for_update()
                    .only("pk", "organization", *(f.name for f in fields))[:chunk_size]
                )
                if not chunk:
                    break
                for row in chunk:
                    updates = {
                        f.attname: f.reseal(row, key.version)
                        for f in fields
                        if f.needs_reseal(row, key.version)
                    }
                    if updates:
                        model._base_manager.filter(pk=row.pk).update(**updates)
                        rewritten += 1
                last_pk = chunk[-1].pk
    return rewritten


def master_key_rotate() -> int:
    """Re-wrap every organization's live keys under the current master key, in one transaction.

    Afterwards the previous master key can leave ENCRYPTION_MASTER_KEYS (once no backup that
    must stay restorable still needs it). Returns the number of keys re-wrapped.
    """
    from audit.actions import Action
    from audit.services import record

    current_id = master_keys().current_id
    with tenancy.unscoped_all_tenants(reason="re-wrap every organization's keys (master key)"):
        rows = (
            OrganizationDataKey.objects.filter(destroyed_at__isnull=True)
            .exclude(master_key_id=current_id)
            .order_by("pk")
            .select_for_update()
        )
        count = 0
        for row in rows:
            key = _unwrap(row)
            row.wrapped_key, row.master_key_id = _wrap(
                key.material,
                organization_id=row.organization_id,
                purpose=row.purpose,
                version=row.version,
            )
            row.save(update_fields=["wrapped_key", "master_key_id"])
            count += 1
        record(
            Action.MASTER_KEY_ROTATED,
            organization=None,
            changes={"master_key_id": current_id, "rewrapped": count},
        )
    return count


def organization_keys_destroy(*, organization: Organization) -> int:
    """Crypto-shredding: erase every version of the organization's keys. Irreversible.

    Every encrypted value of the organization becomes unreadable, in this database and in any
    copy of its rows. A database backup also holds the wrapped keys: those stay unreadable
    once the master key that wrapped them is retired (rotate-master, then remove the old key
    from ENCRYPTION_MASTER_KEYS when the backups it protects expire). PostgreSQL keeps the
    old tuple until VACUUM. Other processes drop their cached copy within CACHE_SECONDS.
    Returns the number of key versions destroyed.
    """
    from audit.actions import Action
    from audit.services import record

    with tenancy.tenant_context(organization):
        _lock(organization.pk)
        live = list(
            _keys_of(organization.pk)
            .filter(destroyed_at__isnull=True)
            .order_by("pk")
            .select_for_update()
        )
        if not live:
            _refuse_if_destroyed(organization.pk)
            raise EncryptionError(f"Organization {organization.slug} has no encryption keys.")
        now = timezone.now()
        for row in live:
            row.wrapped_key = None
            row.destroyed_at = now
            row.retired_at = row.retired_at or now
            row.save(update_fields=["wrapped_key", "destroyed_at", "retired_at"])
        record(
            Action.KEY_DESTROYED,
            organization=organization,
            target=organization,
            changes={
                "purposes": sorted({row.purpose for row in live}),
                "versions": len(live),
            },
        )
        transaction.on_commit(partial(forget, organization.pk))
    forget(organization.pk)
    return len(live)
