"""Acceptance: an organization with every kind of data exports every seeded value, decrypted,
and no value of another organization (every file of the ZIP scanned)."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest
from django.test import Client

from accounts.tests.factories import sign_in
from exports.registry import REGISTRY, Excluded
from exports.tests.helpers import completed_export, download, members
from exports.tests.seeding import seed
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest, RequestMessage

pytestmark = pytest.mark.django_db


def test_every_seeded_value_is_exported_and_no_other_organizations_value() -> None:
    ours = seed("Zanzibar")
    theirs = seed("Kathmandu")
    with tenant_context(ours.organization):
        request = PrivacyRequest.objects.order_by("pk").first()
        assert request is not None
        RequestMessage.objects.create(
            organization=ours.organization,
            request=request,
            direction=RequestMessage.Direction.FROM_REQUESTER,
            body='=HYPERLINK("http://evil.example","Zanzibar click")',
        )

    export = completed_export(ours.organization, ours.admin)
    data = download(sign_in(Client(), ours.admin), ours.organization, export)
    assert hashlib.sha256(data).hexdigest() == export.sha256
    assert len(data) == export.size
    files = members(data)
    texts = {name: content.decode("utf-8", "replace") for name, content in files.items()}

    missing = [v for v in ours.values if not any(v in text for text in texts.values())]
    assert missing == [], f"seeded values not in the export: {missing}"
    for value in [*theirs.values, "Kathmandu"]:
        leaked = [name for name, text in texts.items() if value.lower() in text.lower()]
        assert leaked == [], f"{value!r} of another organization is in {leaked}"

    manifest = json.loads(files["manifest.json"])
    assert manifest["schema_version"] == 1
    assert manifest["organization"]["slug"] == ours.organization.slug
    assert manifest["requested_by"]["email"] == ours.admin.email
    assert manifest["requested_via"] == "portal"
    # every file but the manifest is listed with its true size and SHA-256
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(listed) == set(files) - {"manifest.json"}
    for path, entry in listed.items():
        assert entry["size"] == len(files[path])
        assert entry["sha256"] == hashlib.sha256(files[path]).hexdigest()
    # each exported table: JSON Lines and CSV with the manifest's row count
    exported = {label for label, d in REGISTRY.items() if not isinstance(d, Excluded)}
    assert {t["table"] for t in manifest["tables"]} == exported
    for table in manifest["tables"]:
        lines = files[table["jsonl"]].decode().splitlines()
        assert len(lines) == table["rows"]
        rows = list(csv.reader(io.StringIO(files[table["csv"]].decode())))
        assert rows[0] == table["columns"]
        assert len(rows) - 1 == table["rows"]
    assert {t["table"] for t in manifest["excluded"]} == {
        label for label, d in REGISTRY.items() if isinstance(d, Excluded)
    }
    counts = {t["table"]: t["rows"] for t in manifest["tables"]}
    assert counts["privacy_requests.RequestMessage"] == 2
    assert counts["accounts.Membership"] == 1
    assert counts["audit.AuditEvent"] >= 1

    # decrypted in the JSON, and the file's path in the row
    evidence = json.loads(files["tables/privacy_requests.EvidenceFile.jsonl"].decode())
    assert evidence["file_name"] == "Zanzibar-attendance.pdf"
    assert files[evidence["content"]].startswith(b"%PDF-1.4 evidence of Zanzibar")
    # a cell that would start a formula is neutralised in the CSV, exact in the JSON
    messages_csv = files["tables/privacy_requests.RequestMessage.csv"].decode()
    assert "'=HYPERLINK(" in messages_csv
    assert '"=HYPERLINK(' not in messages_csv.replace("'=HYPERLINK(", "")
    assert '=HYPERLINK(\\"http' in files["tables/privacy_requests.RequestMessage.jsonl"].decode()
    # the readable index names every table
    index = texts["index.html"]
    assert all(t["table"] in index for t in manifest["tables"])
    # secrets stay out
    assert "token_hash" not in files["tables/accounts.Invitation.jsonl"].decode()
    assert "secret_hash" not in files["tables/accounts.ApiKey.csv"].decode()
