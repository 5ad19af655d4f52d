"""Writing an organization's export ZIP, table by table, in bounded memory.

    manifest.json                  what is in the ZIP: each table's row count and columns, what
                                   was left out and why, and the size and SHA-256 of every
                                   other file; the schema version, the time, who asked
    index.html                     the same, readable in a browser once unzipped
    tables/<app.Model>.jsonl       one JSON object per row, encrypted fields decrypted
    tables/<app.Model>.csv         the same rows, one cell per column, spreadsheet-safe
    files/<app.Model>/<id>-<field>/<name>   the bytes of each stored file (evidence, response
                                   packages, purchase orders, vendors' files); the row holds
                                   the path

Rows are read in keyset chunks (`pk > last`, `chunk_size` at a time), each chunk in its own
tenant context (a short transaction under row-level security) through a server-side cursor;
the ZIP is written to a stream that is never seeked (data descriptors), so nothing grows with
the organization's size but the ZIP itself, which the caller seals as it goes. What must wait
for its turn (a table's CSV, the manifest's list of files) waits in a `Spool`: a temporary
file sealed under a key that lives only in this process's memory.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, BinaryIO

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Organization
from exports.crypto import Spool
from exports.models import OrganizationExport
from exports.registry import Table, excluded_tables, exported_tables, missing_decisions
from k12cloud.encryption.fields import EncryptedTextField
from k12cloud.encryption.keys import data_keys_preloaded
from k12cloud.tenancy import tenant_context
from privacy_requests.queue.selectors import csv_cell

SCHEMA_VERSION = 1
FORMAT = "k12cloud-organization-export"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")

Progress = Callable[[int], None]


class RegistryIncomplete(RuntimeError):
    """A tenant-owned model has no export decision: the export refuses to leave it out."""


@dataclass
class TableSummary:
    table: Table
    rows: int = 0


def chunk_size() -> int:
    return int(getattr(settings, "EXPORTS_CHUNK_SIZE", 1000))


def rows_total(organization: Organization) -> int:
    total = 0
    with tenant_context(organization):
        for table in exported_tables():
            total += table.model._base_manager.filter(organization_id=organization.pk).count()
    return total


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _safe_name(name: str) -> str:
    cleaned = _UNSAFE_NAME.sub("_", name).strip(" .")[:100]
    return cleaned or "file"


def file_path(table: Table, row: models.Model, field_name: str) -> str:
    spec = table.decision.files[field_name]
    name = spec.default_name
    if spec.name_field:
        name = str(getattr(row, spec.name_field) or "") or spec.default_name
    return f"files/{table.label}/{row.pk}-{field_name}/{_safe_name(name)}"


def _row_record(table: Table, row: models.Model) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for model_field in table.fields:
        if model_field.name in table.decision.files:
            has_file = bool(getattr(row, model_field.attname))
            record[model_field.name] = file_path(table, row, model_field.name) if has_file else None
        else:
            record[model_field.name] = _json_value(getattr(row, model_field.attname))
    for fk, names in table.decision.related.items():
        related = getattr(row, fk)
        for name in names:
            record[f"{fk}.{name}"] = None if related is None else getattr(related, name)
    return record


def _chunks(table: Table, organization_id: int, size: int) -> Iterator[list[models.Model]]:
    """The organization's rows of one table, `size` at a time, each chunk in its own short
    tenant context (so progress commits between chunks and no transaction lasts the export)."""
    last_pk: Any = None
    while True:
        with tenant_context(organization_id):
            queryset = table.model._base_manager.filter(organization_id=organization_id)
            if last_pk is not None:
                queryset = queryset.filter(pk__gt=last_pk)
            if table.decision.related:
                queryset = queryset.select_related(*table.decision.related)
            rows = list(queryset.order_by("pk")[:size].iterator(chunk_size=size))
            for row in rows:  # decrypt inside the context: the key store reads under RLS
                for model_field in table.fields:
                    if isinstance(model_field, EncryptedTextField):
                        getattr(row, model_field.attname)
        if not rows:
            return
        yield rows
        last_pk = rows[-1].pk
        if len(rows) < size:
            return


def _file_rows(table: Table, field_name: str, organization_id: int) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of each stored file of one field, one row in memory at a time."""
    spec = table.decision.files[field_name]
    columns = ["pk", "organization", field_name, *([spec.name_field] if spec.name_field else [])]
    last_pk: Any = None
    while True:
        with tenant_context(organization_id):
            queryset = table.model._base_manager.filter(organization_id=organization_id).only(
                *columns
            )
            if last_pk is not None:
                queryset = queryset.filter(pk__gt=last_pk)
            row = queryset.order_by("pk").first()
            if row is None:
                return
            encoded = getattr(row, field_name)
            path = file_path(table, row, field_name)
        last_pk = row.pk
        if encoded:
            yield path, base64.b64decode(encoded)


class _Member:
    """One file of the ZIP being written, with its size and SHA-256."""

    def __init__(self, archive: zipfile.ZipFile, path: str) -> None:
        self.path = path
        self._entry: IO[bytes] = archive.open(path, "w", force_zip64=True)
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._entry.write(data)
        self._hash.update(data)
        self.size += len(data)

    def close(self) -> dict[str, Any]:
        self._entry.close()
        return {"path": self.path, "size": self.size, "sha256": self._hash.hexdigest()}


class _CsvRows:
    """csv.writer into a Spool, a row at a time."""

    def __init__(self, spool: Spool) -> None:
        self._spool = spool
        self._text = io.StringIO()
        self._writer = csv.writer(self._text)

    def writerow(self, values: list[Any]) -> None:
        self._writer.writerow([csv_cell(v) for v in values])
        self._spool.write(self._text.getvalue().encode())
        self._text.seek(0)
        self._text.truncate()


def build(
    *,
    export: OrganizationExport,
    organization: Organization,
    sink: BinaryIO,
    progress: Progress,
    requested_by_email: str | None,
) -> dict[str, Any]:
    """Write the whole ZIP to `sink` (never seeked); returns the manifest's summary."""
    if missing := missing_decisions():
        raise RegistryIncomplete(f"no export decision for {missing} (exports/registry.py)")
    started = timezone.now()
    size = chunk_size()
    summaries: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="k12cloud-export-") as work,
        data_keys_preloaded(organization.pk),
        zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=5) as archive,
    ):
        members = Spool(work)  # the manifest's list of files: names can be personal
        members_count = 0

        def listed(entry: dict[str, Any]) -> None:
            nonlocal members_count
            members.write(json.dumps(entry).encode() + b"\n")
            members_count += 1

        for table in exported_tables():
            rows = 0
            jsonl_path, csv_path = f"tables/{table.label}.jsonl", f"tables/{table.label}.csv"
            jsonl = _Member(archive, jsonl_path)
            csv_spool = Spool(work)
            try:
                csv_rows = _CsvRows(csv_spool)
                csv_rows.writerow(table.columns)
                for chunk in _chunks(table, organization.pk, size):
                    for row in chunk:
                        record = _row_record(table, row)
                        jsonl.write(
                            json.dumps(record, cls=DjangoJSONEncoder, ensure_ascii=False).encode()
                            + b"\n"
                        )
                        csv_rows.writerow([record[c] for c in table.columns])
                    rows += len(chunk)
                    progress(len(chunk))
                listed(jsonl.close())
                csv_member = _Member(archive, csv_path)
                for piece in csv_spool.read_back():
                    csv_member.write(piece)
                listed(csv_member.close())
            finally:
                csv_spool.discard()
            for field_name in table.decision.files:
                for path, content in _file_rows(table, field_name, organization.pk):
                    member = _Member(archive, path)
                    member.write(content)
                    listed(member.close())
            summaries.append(
                {
                    "table": table.label,
                    "db_table": table.model._meta.db_table,
                    "rows": rows,
                    "columns": table.columns,
                    "file_columns": sorted(table.decision.files),
                    "omitted": dict(sorted(table.omitted.items())),
                    "jsonl": jsonl_path,
                    "csv": csv_path,
                }
            )

        head: dict[str, Any] = {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "export_id": export.pk,
            "organization": {
                "id": organization.pk,
                "slug": organization.slug,
                "name": organization.name,
                "status": organization.status,
            },
            "requested_by": {
                "user_id": export.requested_by_id,
                "email": requested_by_email,
            },
            "requested_via": export.via,
            "started_at": started.astimezone(UTC).isoformat(),
            "generated_at": datetime.now(UTC).isoformat(),
            "row_count": sum(s["rows"] for s in summaries),
            "tables": summaries,
            "excluded": [{"table": label, "reason": reason} for label, reason in excluded_tables()],
        }
        index = _Member(archive, "index.html")
        index.write(
            render_to_string(
                "exports/archive_index.html",
                {"manifest": head, "files_count": members_count},
            ).encode()
        )
        listed(index.close())

        manifest = archive.open("manifest.json", "w", force_zip64=True)
        opening = json.dumps(head, indent=2, ensure_ascii=False)
        manifest.write(opening[: opening.rindex("}")].rstrip().encode() + b',\n  "files": [\n')
        buffered = b""
        first = True
        for piece in members.read_back():
            buffered += piece
            *lines, buffered = buffered.split(b"\n")
            for line in lines:
                manifest.write((b"    " if first else b",\n    ") + line)
                first = False
        manifest.write(b"\n  ]\n}\n")
        manifest.close()
    return head
