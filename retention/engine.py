"""The de-identification engine: applies `retention.declarations` to one organization.

Set-based: per chunk of primary keys (settings.RETENTION_CHUNK_SIZE), one
`QuerySet.update()` (or delete) of the declared fields, never a row at a time in Python.
Each chunk is its own transaction under the organization's tenant context (row-level
security applies: the runtime role can touch no other tenant's rows) and advances the run's
per-model cursor in that same transaction, so a run killed at any point resumes from the
last committed chunk and never redoes one. A completed run is never repeated (one run per
organization and kind), so a second sweep changes nothing.

Order: every declared model, then the platform-level users whose only memberships were in the
organization, then the organization's encryption keys are destroyed (crypto-shredding: any
copy of an encrypted value, backups included, becomes unreadable), then the run completes
with its signed certificate (retention.certificates).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import date
from typing import Any, cast

from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection, models
from django.db.models import sql
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accounts.models import Membership, Organization, User
from accounts.permissions import Role
from accounts.security.models import UserSession
from audit.actions import Action
from audit.context import Actor, acting_as
from audit.services import record
from k12cloud.encryption.envelope import NO_MATCH, Sealed, seal
from k12cloud.encryption.fields import BlindIndexField, EncryptedTextField
from k12cloud.encryption.keys import organization_keys_destroy
from k12cloud.encryption.models import OrganizationDataKey
from k12cloud.tenancy import tenant_context, unscoped_all_tenants
from retention.certificates import certificate_issue, certificate_send
from retention.declarations import DECLARATIONS, Declaration, financial_record_labels
from retention.models import RetentionRun
from retention.policy import Category

logger = logging.getLogger(__name__)

USERS = "accounts.User"
# the organization's last admins: de-identified after the certificate is emailed to them
LAST_ADMINS = "accounts.User (last admins)"
SYSTEM_ACTOR = Actor.system("retention engine")
# de-identified users' placeholder addresses end with this (RFC 2606 `.invalid`)
DEIDENTIFIED_EMAIL_DOMAIN = "@deidentified.invalid"


class InjectedFailure(RuntimeError):
    """Raised by the failure injection point (settings.RETENTION_FAIL_AFTER_CHUNKS), which
    tests use to kill a run half way. Never set in production."""


def _model(declaration: Declaration) -> type[models.Model] | None:
    try:
        return apps.get_model(declaration.model)
    except LookupError:  # an app that is not installed (yet)
        return None


def _removed_value(model: type[models.Model], name: str, organization_id: int) -> Any:
    field = model._meta.get_field(name)
    if field.null:
        return None
    if isinstance(field, EncryptedTextField):
        # one encryption of "" per column and chunk: set-based, and the row still reads
        return Sealed(seal(organization_id, field.context, ""))
    if isinstance(field, BlindIndexField):
        return NO_MATCH
    if isinstance(field, models.JSONField):
        return models.Value({}, output_field=models.JSONField())
    return ""


def declaration_updates(
    declaration: Declaration, model: type[models.Model], organization_id: int
) -> dict[str, Any]:
    updates: dict[str, Any] = {
        name: _removed_value(model, name, organization_id) for name in declaration.remove
    }
    updates.update({name: make() for name, make in declaration.replace.items()})
    for name in declaration.generalize_year:
        updates[name] = models.functions.TruncYear(name)
    return updates


class _Chunks:
    """Counts committed chunks for the failure injection point."""

    def __init__(self) -> None:
        self.count = 0
        self.fail_after: int | None = getattr(settings, "RETENTION_FAIL_AFTER_CHUNKS", None)

    def committed(self) -> None:
        self.count += 1
        if self.fail_after is not None and self.count >= self.fail_after:
            raise InjectedFailure(f"injected failure after {self.count} chunks")


def _save_progress(run: RetentionRun, label: str, **changes: Any) -> None:
    entry = dict(run.progress.get(label, {}))
    entry.update(changes)
    run.progress = {**run.progress, label: entry}
    run.save(update_fields=["progress"])


def _rows(model: type[models.Model], organization_id: int) -> models.QuerySet[Any]:
    return model._base_manager.filter(organization_id=organization_id)


# One chunk in one statement (one round trip, no rows through Python): the chunk's ids by
# keyset over the primary key (`chunk`: the next `chunk_size` ids after the cursor), its bounds,
# the write to those rows (`changed`: an UPDATE or DELETE compiled by Django, bounded by the
# chunk's last id, so a range predicate, not a list of ids), and the run's progress (cursor and
# rows done, merged into the label's entry as `_save_progress` would), all in the chunk's
# transaction. Returns the chunk's last id, its row count and the rows done so far.
_CHUNK_SQL = """
WITH chunk AS (
    SELECT {pk} FROM {table} WHERE {organization} = %s AND {pk} > %s ORDER BY {pk} LIMIT %s
),
bounds AS (SELECT max({pk}) AS last, count(*) AS rows FROM chunk),
{changed}progress AS (
    UPDATE {run_table} SET {progress} = jsonb_set(
        {progress},
        ARRAY[%s],
        COALESCE({progress} -> %s, '{{}}')
        || jsonb_build_object(
            'cursor', bounds.last,
            'done', COALESCE(({progress} -> %s ->> 'done')::bigint, 0) + bounds.rows
        )
    )
    FROM bounds
    WHERE {run_table}.{run_pk} = %s AND bounds.rows > 0
    RETURNING ({progress} -> %s ->> 'done')::bigint AS done
)
SELECT bounds.last, bounds.rows, progress.done FROM bounds LEFT JOIN progress ON true
"""
# the chunk's write reads its upper bound from the statement's `bounds`
_CHUNK_LAST = RawSQL("(SELECT last FROM bounds)", (), output_field=models.BigIntegerField())


def _chunk_write_sql(
    model: type[models.Model], organization_id: int, cursor: int, updates: dict[str, Any] | None
) -> tuple[str, tuple[Any, ...]]:
    """The chunk's UPDATE (or, with `updates` None, DELETE: no cascades, leaf rows), compiled as
    `QuerySet.update()` and `_raw_delete()` compile theirs."""
    chunk = model._base_manager.filter(
        organization_id=organization_id, pk__gt=cursor, pk__lte=_CHUNK_LAST
    )
    query: sql.Query
    if updates is None:
        query = chunk.query.chain(sql.DeleteQuery)
    else:
        update = cast(sql.UpdateQuery, chunk.query.chain(sql.UpdateQuery))
        update.add_update_values(updates)
        if update.get_related_updates():
            raise ValueError(
                f"{model._meta.label}: a declared field of a parent model (multi-table "
                "inheritance) cannot be written in the chunk's one statement"
            )
        query = update
    write, params = query.get_compiler(chunk.db).as_sql()
    return write, tuple(params)


def _chunk(
    run: RetentionRun,
    model: type[models.Model],
    label: str,
    cursor: int,
    chunk_size: int,
    updates: dict[str, Any] | None,
    delete_rows: bool,
) -> tuple[int | None, int, int]:
    """De-identify the next chunk and save the progress, in one statement (the caller holds
    the tenant context and its transaction); returns (last id, rows, rows done)."""
    quote = connection.ops.quote_name
    changed, changed_params = "", ()
    if delete_rows or updates:
        write, changed_params = _chunk_write_sql(
            model, run.organization_id, cursor, None if delete_rows else updates
        )
        changed = f"changed AS ({write}),\n"
    pk, run_pk = model._meta.pk, RetentionRun._meta.pk
    assert pk is not None and pk.column is not None
    assert run_pk is not None and run_pk.column is not None
    statement = _CHUNK_SQL.format(
        pk=quote(pk.column),
        table=quote(model._meta.db_table),
        organization=quote("organization_id"),
        changed=changed,
        run_table=quote(RetentionRun._meta.db_table),
        run_pk=quote(run_pk.column),
        progress=quote("progress"),
    )
    params = (
        run.organization_id,
        cursor,
        chunk_size,
        *changed_params,
        label,
        label,
        label,
        run.pk,
        label,
    )
    with connection.cursor() as db:
        db.execute(statement, params)
        last, rows, done = db.fetchone()
    return last, rows, done


def _apply(run: RetentionRun, declaration: Declaration, chunks: _Chunks, chunk_size: int) -> None:
    model = _model(declaration)
    label = declaration.model
    if model is None or run.progress.get(label, {}).get("finished"):
        return
    organization_id = run.organization_id
    # the values the columns are set to, made once per model: one encryption of "" per
    # encrypted column (as the same one was already set on every row of a chunk)
    updates: dict[str, Any] | None = None
    while True:
        with tenant_context(organization_id):
            if updates is None and not declaration.delete_rows:
                updates = declaration_updates(declaration, model, organization_id)
            cursor = run.progress.get(label, {}).get("cursor") or 0
            last, count, done = _chunk(
                run, model, label, cursor, chunk_size, updates, declaration.delete_rows
            )
            if not count:
                _save_progress(run, label, finished=True)
                run.log = [
                    *run.log,
                    {
                        "model": label,
                        "category": declaration.category,
                        "rows": run.progress[label].get("done", 0),
                        "removed": list(declaration.remove),
                        "replaced": list(declaration.replace),
                        "generalized": list(declaration.generalize_year),
                        "deleted_rows": declaration.delete_rows,
                        "at": timezone.now().isoformat(),
                    },
                ]
                run.save(update_fields=["log"])
                return
            # what the statement saved, in the run in memory
            entry = dict(run.progress.get(label, {}))
            entry.update(cursor=last, done=done)
            run.progress = {**run.progress, label: entry}
        chunks.committed()


def _last_admin_ids(organization_id: int) -> list[int]:
    """The organization's admins at termination (still active accounts): they receive the
    certificate."""
    with tenant_context(organization_id):
        return list(
            Membership.objects.filter(role=Role.ORG_ADMIN, is_active=True, user__is_active=True)
            .order_by("user_id")
            .values_list("user_id", flat=True)
        )


def _sole_member_ids(organization_id: int) -> list[int]:
    """Users whose only memberships are in this organization (never ops staff): User is
    platform-level, so someone who also works elsewhere keeps their account."""
    with unscoped_all_tenants(
        reason="retention: find users whose only memberships are in the organization "
        "being de-identified (user ids only)"
    ):
        elsewhere = Membership._base_manager.exclude(organization_id=organization_id).values(
            "user_id"
        )
        return list(
            Membership._base_manager.filter(organization_id=organization_id)
            .exclude(user_id__in=elsewhere)
            .exclude(user__is_staff=True)
            .order_by("user_id")
            .values_list("user_id", flat=True)
        )


def users_deidentify(ids: list[int]) -> None:
    """The platform-level user rule, set-based for these users (the caller decides who, and
    holds the tenant context and transaction): email replaced by a placeholder, name removed,
    password unusable, deactivated; sessions, login addresses, SSO accounts and second factors
    deleted. Also used by the age-based rules (retention.aging)."""
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.mfa.models import RecoveryCodeDevice

    session_keys = UserSession.objects.filter(user_id__in=ids).values("session_key")
    Session.objects.filter(session_key__in=session_keys).delete()
    UserSession.objects.filter(user_id__in=ids).delete()
    EmailAddress.objects.filter(user_id__in=ids).delete()
    SocialAccount.objects.filter(user_id__in=ids).delete()  # SSO profile, its tokens
    TOTPDevice.objects.filter(user_id__in=ids).delete()
    RecoveryCodeDevice.objects.filter(user_id__in=ids).delete()  # and its codes
    User.objects.filter(pk__in=ids).update(
        email=models.functions.Concat(
            models.Value("deidentified-user-"),
            models.functions.Cast("pk", models.CharField()),
            models.Value(DEIDENTIFIED_EMAIL_DOMAIN),
            output_field=models.CharField(),
        ),
        full_name="",
        password="!",  # unusable: never matches a password  # noqa: S106
        is_active=False,
        last_login=None,
    )


def _deidentify_users(
    run: RetentionRun,
    user_ids: list[int],
    chunks: _Chunks,
    chunk_size: int,
    label: str = USERS,
    logged: bool = True,
) -> None:
    """`logged`: add an entry to the run's log (not after the certificate hashed the log)."""
    if run.progress.get(label, {}).get("finished"):
        return
    cursor = run.progress.get(label, {}).get("cursor") or 0
    pending = [pk for pk in user_ids if pk > cursor]
    for start in range(0, len(pending), chunk_size):
        ids = pending[start : start + chunk_size]
        with tenant_context(run.organization_id):
            users_deidentify(ids)
            done = run.progress.get(label, {}).get("done", 0) + len(ids)
            _save_progress(run, label, cursor=ids[-1], done=done)
        chunks.committed()
    with tenant_context(run.organization_id):
        _save_progress(run, label, finished=True)
        if not logged:
            return
        run.log = [
            *run.log,
            {
                "model": label,
                "category": Category.ACCOUNT_RECORDS,
                "rows": run.progress[label].get("done", 0),
                "replaced": ["email"],
                "removed": ["full_name", "password", "last_login", "sessions", "devices"],
                "at": timezone.now().isoformat(),
            },
        ]
        run.save(update_fields=["log"])


def _destroy_keys(run: RetentionRun, organization: Organization) -> None:
    with tenant_context(organization):
        if run.keys_destroyed_at is not None:
            return
        if OrganizationDataKey.objects.filter(destroyed_at__isnull=True).exists():
            organization_keys_destroy(organization=organization)
        run.keys_destroyed_at = timezone.now()
        run.log = [*run.log, {"step": "keys_destroyed", "at": run.keys_destroyed_at.isoformat()}]
        run.save(update_fields=["keys_destroyed_at", "log"])


def log_digest(log: list[Any]) -> str:
    """SHA-256 over the run's log (canonical JSON), for the certificate."""
    return hashlib.sha256(
        json.dumps(log, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def due_counts(organization_id: int) -> dict[str, int]:
    """Rows each declared model holds for the organization (what a run would touch)."""
    counts: dict[str, int] = {}
    with tenant_context(organization_id):
        financial = financial_record_labels()
        for declaration in DECLARATIONS:
            model = _model(declaration)
            if model is None or declaration.engine_skips or declaration.model in financial:
                continue
            counts[declaration.model] = _rows(model, organization_id).count()
        counts[USERS] = len(_sole_member_ids(organization_id))
    return counts


def run_start(*, organization: Organization, due_on: date, rule: str) -> RetentionRun:
    """The organization's termination run: created (audited) or, if it exists, resumed."""
    with tenant_context(organization):
        run = (
            RetentionRun.objects.select_for_update()
            .filter(kind=RetentionRun.Kind.TERMINATION)
            .first()
        )
        if run is not None:
            if run.status == RetentionRun.Status.RUNNING:
                run.attempts += 1
                run.save(update_fields=["attempts"])
            return run
        counts = due_counts(organization.pk)
        run = RetentionRun.objects.create(
            organization=organization,
            kind=RetentionRun.Kind.TERMINATION,
            rule=rule,
            due_on=due_on,
            progress={label: {"total": total, "done": 0} for label, total in counts.items()},
        )
        with acting_as(SYSTEM_ACTOR):
            record(
                Action.RETENTION_RUN_STARTED,
                organization=organization,
                target=run,
                changes={"kind": run.kind, "due_on": due_on.isoformat(), "rows": counts},
            )
    return run


def organization_deidentify(
    *,
    organization: Organization,
    due_on: date,
    rule: str,
    chunk_size: int | None = None,
    on_progress: Callable[[RetentionRun], None] | None = None,
) -> RetentionRun:
    """De-identify a terminated organization's data, then destroy its keys. Resumable and
    idempotent: call it again after any failure; a completed run returns at once."""
    run = run_start(organization=organization, due_on=due_on, rule=rule)
    if run.status == RetentionRun.Status.COMPLETED:
        return run
    chunk_size = chunk_size or settings.RETENTION_CHUNK_SIZE
    chunks = _Chunks()
    financial = financial_record_labels()
    for declaration in DECLARATIONS:
        if declaration.engine_skips or declaration.model in financial:
            continue
        _apply(run, declaration, chunks, chunk_size)
        if on_progress:
            on_progress(run)
    sole = _sole_member_ids(organization.pk)
    admins = set(_last_admin_ids(organization.pk))
    _deidentify_users(run, [u for u in sole if u not in admins], chunks, chunk_size)
    _destroy_keys(run, organization)
    with tenant_context(organization):
        if run.finished_at is None:
            run.finished_at = timezone.now()
            run.log_sha256 = log_digest(run.log)
            run.save(update_fields=["finished_at", "log_sha256"])
        with acting_as(SYSTEM_ACTOR):
            certificate = certificate_issue(
                run=run,
                organization=organization,
                after_sending=sum(1 for u in sole if u in admins),
            )
        certificate_send(certificate=certificate, organization=organization, user_ids=admins)
    _deidentify_users(
        run, [u for u in sole if u in admins], chunks, chunk_size, LAST_ADMINS, logged=False
    )
    with tenant_context(organization):
        run.status = RetentionRun.Status.COMPLETED
        run.save(update_fields=["status"])
        with acting_as(SYSTEM_ACTOR):
            record(
                Action.RETENTION_RUN_COMPLETED,
                organization=organization,
                target=run,
                changes={
                    "rows": {label: p.get("done", 0) for label, p in sorted(run.progress.items())},
                    "log_sha256": run.log_sha256,
                    "attempts": run.attempts,
                },
            )
    logger.info("retention run %s completed for organization %s", run.pk, organization.pk)
    return run


def model_deidentify(*, run: RetentionRun, label: str, chunk_size: int | None = None) -> int:
    """Apply one model's declaration for the run's organization (chunked, resumable); returns
    the rows done. The engine's inner step, on its own for benchmarks and tools."""
    declaration = next(d for d in DECLARATIONS if d.model == label)
    _apply(run, declaration, _Chunks(), chunk_size or settings.RETENTION_CHUNK_SIZE)
    return int(run.progress.get(label, {}).get("done", 0))
