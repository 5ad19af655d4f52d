"""Importing a OneRoster CSV bulk package into a data source (`oneroster_package_import`).

One transaction per package: every row is read, checked and written (encrypted, in chunks
with `bulk_create`) or nothing is. A refused package leaves a `SourceImport` marked failed
with the problems found (file, line, field; never the values), audited. A successful import
replaces the source's previous one: its rows are deleted in the same transaction, so the
portal never holds two copies of a district's SIS.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any

import psycopg
from django.db import connection, transaction
from django.utils import timezone

from audit.actions import Action
from audit.services import record as audit_record
from k12cloud.encryption.envelope import blind_index, seal
from k12cloud.encryption.keys import current_keys_pinned
from k12cloud.tenancy import settings_in_force
from sources.models import DataSource, SisLookupKey, SisRecord, SourceImport, StudentLink
from sources.oneroster import csv_package
from sources.oneroster.csv_package import PackageProblem, PackageRefused

if TYPE_CHECKING:
    from accounts.models import Organization, User

CHUNK_SIZE = 2000
Kind = SisRecord.Kind
KIND_OF_FILE = {
    "orgs": Kind.ORG,
    "academicSessions": Kind.ACADEMIC_SESSION,
    "classes": Kind.CLASS,
    "demographics": Kind.DEMOGRAPHICS,
    "roles": Kind.ROLE,
    "users": Kind.USER,
    "enrollments": Kind.ENROLLMENT,
    "lineItems": Kind.LINE_ITEM,
    "results": Kind.RESULT,
}
# the column naming the user a row is about
PERSON_COLUMN = {
    "demographics": "sourcedId",
    "roles": "userSourcedId",
    "enrollments": "userSourcedId",
    "results": "studentSourcedId",
}


def identifier_index(organization_id: int, value: str) -> str:
    return blind_index(organization_id, value, kind="identifier", create=True)


def name_birth_date_key(given_name: str, family_name: str, birth_date: str) -> str:
    """The value behind a name + birth date lookup key (normalized by the "name" kind)."""
    return f"{given_name} {family_name} {birth_date}"


def sha256_of(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    for block in iter(lambda: stream.read(1 << 20), b""):
        digest.update(block)
    stream.seek(0)
    return digest.hexdigest()


class _Writer:
    """Buffers records (and the lookup keys of user records) and writes them in chunks.

    A package holds hundreds of thousands of rows, so the rows bypass model instances: each
    `data` is sealed here with the same function and context as `EncryptedTextField` (it reads
    back through the model like any other row), and each chunk is one INSERT ... SELECT FROM
    unnest(...) per table with server-side parameters, inside the import's transaction and
    tenant context (row-level security checks every row).
    """

    def __init__(self, source_import: SourceImport, chunk_size: int) -> None:
        self.source_import_id = source_import.pk
        self.organization_id = source_import.organization_id
        self.chunk_size = chunk_size
        self.context = SisRecord._meta.get_field("data").context
        self.rows: list[tuple[str, str, str, str]] = []
        self.keys: list[list[tuple[str, str]]] = []  # per buffered record: (kind, index)

    def add(
        self,
        *,
        kind: str,
        sourced_id_index: str,
        person_index: str,
        data: str,
        keys: list[tuple[str, str]] | None = None,
    ) -> None:
        envelope = seal(self.organization_id, self.context, data)
        self.rows.append((kind, sourced_id_index, person_index, envelope))
        self.keys.append(keys or [])
        if len(self.rows) >= self.chunk_size:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        kinds, sourced, persons, data = (list(column) for column in zip(*self.rows, strict=True))
        count = len(self.rows)
        settings_in_force()  # no execute wrapper sees a raw cursor: a pending restore goes first
        raw = psycopg.Cursor(connection.connection)  # server-side binding: arrays as they are
        try:
            raw.execute(
                f"INSERT INTO {SisRecord._meta.db_table} "
                "(organization_id, source_import_id, kind, sourced_id_index, person_index, data) "
                "SELECT %s, %s, * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) "
                "RETURNING id",
                [self.organization_id, self.source_import_id, kinds, sourced, persons, data],
            )
            ids = [row[0] for row in raw.fetchall()]
            if len(ids) != count:
                raise RuntimeError("The SIS rows were not all written.")
            lookup = [
                (record_id, kind, index)
                for record_id, keys in zip(ids, self.keys, strict=True)
                for kind, index in keys
            ]
            if lookup:
                record_ids, lookup_kinds, indexes = (list(c) for c in zip(*lookup, strict=True))
                raw.execute(
                    f"INSERT INTO {SisLookupKey._meta.db_table} "
                    "(organization_id, source_import_id, record_id, kind, value_index) "
                    "SELECT %s, %s, * FROM unnest(%s::bigint[], %s::text[], %s::text[])",
                    [
                        self.organization_id,
                        self.source_import_id,
                        record_ids,
                        lookup_kinds,
                        indexes,
                    ],
                )
        finally:
            raw.close()
        self.rows, self.keys = [], []


def _user_keys(organization_id: int, row: dict[str, str], birth_date: str) -> list[tuple[str, str]]:
    keys = [(SisLookupKey.Kind.SOURCED_ID, identifier_index(organization_id, row["sourcedId"]))]
    if row.get("identifier"):
        keys.append(
            (SisLookupKey.Kind.IDENTIFIER, identifier_index(organization_id, row["identifier"]))
        )
    for _type, value in csv_package.user_ids(row.get("userIds", "")):
        keys.append((SisLookupKey.Kind.USER_ID, identifier_index(organization_id, value)))
    if row.get("email"):
        keys.append(
            (
                SisLookupKey.Kind.EMAIL,
                blind_index(organization_id, row["email"], kind="email", create=True),
            )
        )
    if birth_date:
        given_names = {row["givenName"], row.get("preferredGivenName", "")} - {""}
        for given in sorted(given_names):
            value = name_birth_date_key(given, row["familyName"], birth_date)
            keys.append(
                (
                    SisLookupKey.Kind.NAME_BIRTH_DATE,
                    blind_index(organization_id, value, kind="name", create=True),
                )
            )
    return list(dict.fromkeys(keys))


def _import_rows(
    package: csv_package.Package, source_import: SourceImport, chunk_size: int
) -> tuple[dict[str, int], list[PackageProblem]]:
    organization_id = source_import.organization_id
    problems: list[PackageProblem] = []
    counts: dict[str, int] = {}
    writer = _Writer(source_import, chunk_size)
    birth_dates: dict[str, str] = {}
    roles: dict[str, list[tuple[str, str, str]]] = defaultdict(list)  # user: (type, role, org)
    legacy = package.oneroster_version == "1.1"
    for stem in csv_package.FILES:
        if not package.has(stem):
            continue
        kind = KIND_OF_FILE[stem]
        person_column = PERSON_COLUMN.get(stem)
        count = 0
        for _line, row in csv_package.rows(package, stem, problems):
            count += 1
            if problems:  # keep reading to report every problem; write nothing more
                continue
            if stem == "demographics" and row.get("birthDate"):
                birth_dates[row["sourcedId"]] = row["birthDate"]
            if stem == "roles":
                roles[row["userSourcedId"]].append(
                    (row.get("roleType", ""), row["role"], row["orgSourcedId"])
                )
            keys = None
            if stem == "users":
                user: dict[str, Any] = _with_derived(row, roles, birth_dates, legacy=legacy)
                keys = _user_keys(organization_id, user, user["derived"].get("birthDate", ""))
                row = user
            person = row.get(person_column, "") if person_column else ""
            writer.add(
                kind=kind,
                sourced_id_index=identifier_index(organization_id, row["sourcedId"]),
                person_index=identifier_index(organization_id, person) if person else "",
                data=json.dumps(row, separators=(",", ":"), ensure_ascii=False),
                keys=keys,
            )
        counts[f"{stem}.csv"] = count
        if len(problems) >= csv_package.MAX_PROBLEMS:
            break
    if not problems:
        writer.flush()
    return counts, problems


def _with_derived(
    row: dict[str, str],
    roles: dict[str, list[tuple[str, str, str]]],
    birth_dates: dict[str, str],
    *,
    legacy: bool,
) -> dict[str, Any]:
    """The user row plus what other files say about the user (role, orgs, birth date)."""
    sourced_id = row["sourcedId"]
    if legacy:
        role = row.get("role", "")
        orgs = csv_package.id_list(row.get("orgSourcedIds", ""))
    else:
        held = roles.get(sourced_id, [])
        primary = [r for r in held if r[0] == "primary"] or held
        role = primary[0][1] if primary else ""
        orgs = list(dict.fromkeys(r[2] for r in primary + held))
        if not orgs and row.get("primaryOrgSourcedId"):
            orgs = [row["primaryOrgSourcedId"]]
    derived = {
        "role": role,
        "orgSourcedIds": orgs,
        "birthDate": birth_dates.get(sourced_id, ""),
        "agentSourcedIds": csv_package.id_list(row.get("agentSourcedIds", "")),
        "grades": csv_package.id_list(row.get("grades", "")),
    }
    return {**row, "derived": derived}


def import_rows_delete(*, organization_id: int, import_ids: Iterable[int]) -> int:
    """Delete the rows of these imports (set-based: a package may hold a million rows); the
    `SourceImport` rows stay as history (counts and checksums, no personal data)."""
    ids = list(import_ids)
    if not ids:
        return 0
    SisLookupKey.objects.filter(organization_id=organization_id, source_import_id__in=ids).delete()
    StudentLink.objects.filter(organization_id=organization_id, source_import_id__in=ids).update(
        source_import=None, record=None
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {SisRecord._meta.db_table} "
            "WHERE organization_id = %s AND source_import_id = ANY(%s)",
            [organization_id, ids],
        )
        return int(cursor.rowcount)


def oneroster_package_import(
    *,
    organization: Organization,
    actor: User | None,
    source: DataSource,
    stream: IO[bytes],
    file_name: str,
    chunk_size: int = CHUNK_SIZE,
) -> SourceImport:
    """Import a OneRoster CSV bulk package into `source` (a oneroster_csv source).

    Returns the import: status SUCCEEDED, or FAILED with `errors` listing the problems
    (file, line, field, message). Raises nothing for a malformed package; raises ValueError
    when the source is not a CSV source of this organization.
    """
    if source.organization_id != organization.pk or source.kind != DataSource.Kind.ONEROSTER_CSV:
        raise ValueError("Packages are imported into a OneRoster CSV source of the organization.")
    digest = sha256_of(stream)
    started_at = timezone.now()
    try:
        with transaction.atomic(), current_keys_pinned(organization.pk):
            source_import = SourceImport.objects.create(
                organization=organization,
                source=source,
                started_by=actor,
                started_at=started_at,
                file_name=file_name[:255],
                sha256=digest,
            )
            package = csv_package.open_package(stream)
            source_import.oneroster_version = package.oneroster_version
            counts, problems = _import_rows(package, source_import, chunk_size)
            if problems:
                raise PackageRefused(problems)
            previous = list(
                SourceImport.objects.for_organization(organization)
                .filter(source=source, status=SourceImport.Status.SUCCEEDED)
                .values_list("pk", flat=True)
            )
            import_rows_delete(organization_id=organization.pk, import_ids=previous)
            SourceImport.objects.filter(pk__in=previous).update(status=SourceImport.Status.REPLACED)
            source_import.status = SourceImport.Status.SUCCEEDED
            source_import.counts = counts
            source_import.finished_at = timezone.now()
            source_import.save(
                update_fields=["status", "counts", "finished_at", "oneroster_version"]
            )
            audit_record(
                Action.SIS_PACKAGE_IMPORTED,
                organization=organization,
                target=source_import,
                changes={
                    "source": source.name,
                    "file_name": source_import.file_name,
                    "sha256": digest,
                    "counts": counts,
                    "replaced_imports": previous,
                },
            )
            return source_import
    except PackageRefused as refused:
        with transaction.atomic():
            failed = SourceImport.objects.create(
                organization=organization,
                source=source,
                started_by=actor,
                started_at=started_at,
                finished_at=timezone.now(),
                file_name=file_name[:255],
                sha256=digest,
                status=SourceImport.Status.FAILED,
                errors=[p.as_dict() for p in refused.problems],
            )
            audit_record(
                Action.SIS_PACKAGE_REFUSED,
                organization=organization,
                target=failed,
                changes={
                    "source": source.name,
                    "file_name": failed.file_name,
                    "sha256": digest,
                    "problems": len(refused.problems),
                    "first_problem": str(refused.problems[0]) if refused.problems else "",
                },
            )
        return failed
