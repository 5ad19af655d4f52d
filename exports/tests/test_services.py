"""Starting, refusing, failing, restarting, expiring and downloading exports."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from exports.models import OrganizationExport
from exports.services import (
    export_request,
    export_run,
    exports_sweep,
    storage,
)
from exports.tests.helpers import completed_export, download, members
from k12cloud.tenancy import tenant_context, unscoped_all_tenants
from privacy_requests.tests.factories import stored_request
from retention.termination import organization_terminate

pytestmark = pytest.mark.django_db
Status = OrganizationExport.Status


def actions(organization: Organization) -> list[str]:
    with unscoped_all_tenants(reason="test reads the audit trail"):
        return list(
            AuditEvent.objects.filter(
                organization_id=organization.pk, action__startswith="exports."
            )
            .order_by("id")
            .values_list("action", flat=True)
        )


def exports_of(organization: Organization) -> list[OrganizationExport]:
    with tenant_context(organization):
        return list(OrganizationExport.objects.order_by("pk"))


def page(organization: Organization) -> str:
    return reverse("accounts:export_list", kwargs={"org_slug": organization.slug})


def test_a_second_export_while_one_runs_is_refused_politely() -> None:
    org = OrganizationFactory.create()
    admin = member(org, Role.ORG_ADMIN)
    client = sign_in(Client(), admin)
    first = client.post(page(org), follow=True)
    assert "The export has started" in first.content.decode()
    second = client.post(page(org), follow=True)
    assert second.status_code == 200
    assert "already being prepared" in second.content.decode()
    assert [e.status for e in exports_of(org)] == [Status.QUEUED]
    assert actions(org) == [Action.ORGANIZATION_EXPORT_REQUESTED.value]


def test_the_database_refuses_two_active_exports_of_one_organization() -> None:
    org = OrganizationFactory.create()
    with tenant_context(org):
        OrganizationExport.objects.create(organization=org, via="api", status=Status.RUNNING)
        with pytest.raises(IntegrityError, match="export_one_active_per_organization"):
            OrganizationExport.objects.create(organization=org, via="api")


def test_another_organizations_export_does_not_block_this_one() -> None:
    one, two = OrganizationFactory.create(), OrganizationFactory.create()
    export_request(organization=one, actor=None, via="api", enqueue=False)
    export_request(organization=two, actor=None, via="api", enqueue=False)
    assert len(exports_of(one)) == len(exports_of(two)) == 1


def test_a_terminated_organizations_admin_exports_until_deidentification() -> None:
    org = OrganizationFactory.create()
    admin = member(org, Role.ORG_ADMIN)
    stored_request(org, requester_name="Terminated Requester")
    client = sign_in(Client(), admin)
    organization_terminate(organization=org, actor=None, reason="test")
    org.refresh_from_db()
    # the rest of the portal is closed to them; the export page is not
    dashboard = reverse("accounts:dashboard", kwargs={"org_slug": org.slug})
    assert client.get(dashboard).status_code == 404
    response = client.get(page(org))
    assert response.status_code == 200
    assert "This organization was terminated" in response.content.decode()
    client.post(page(org))
    (export,) = exports_of(org)
    assert export_run(organization=org, export_id=export.pk) == "completed"
    with tenant_context(org):
        export.refresh_from_db()
    assert b"Terminated Requester" in b"".join(
        members(download(client, org, export))[
            "tables/privacy_requests.PrivacyRequest.jsonl"
        ].splitlines()
    )
    # a viewer of the terminated organization has nothing here
    viewer = member(org, Role.VIEWER)
    assert sign_in(Client(), viewer).get(page(org)).status_code == 403
    # on the de-identification date, nothing is left to export
    with time_machine.travel(timezone.now() + timedelta(days=91)):
        client = sign_in(Client(), admin)  # the earlier session timed out meanwhile
        refused = client.post(page(org), follow=True)
        assert "nothing left to export" in refused.content.decode()
    assert len(exports_of(org)) == 1


def test_a_failed_export_is_recorded_and_leaves_no_file(tmp_path: Path) -> None:
    org = OrganizationFactory.create()
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the storage's folder should be")
    storages = {
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocked)},
        }
    }
    export = export_request(organization=org, actor=None, via="api", enqueue=False)
    from django.conf import settings

    with override_settings(STORAGES={**settings.STORAGES, **storages}):
        assert export_run(organization=org, export_id=export.pk) == "failed"
    with tenant_context(org):
        export.refresh_from_db()
    assert export.status == Status.FAILED
    assert export.error in {"NotADirectoryError", "FileExistsError"}
    assert export.storage_name == ""
    assert actions(org) == ["exports.requested", "exports.failed"]
    # and a new export may start
    export_request(organization=org, actor=None, via="api", enqueue=False)


def test_an_export_whose_worker_died_starts_over_and_completes(exports_storage: Path) -> None:
    org = OrganizationFactory.create()
    stored_request(org)
    export = export_request(organization=org, actor=None, via="api", enqueue=False)
    with tenant_context(org):
        # what a SIGKILLed worker leaves: running, half done, a file stored but not committed
        leftover = storage().save(f"{org.pk}/{export.pk}-leftover.zip.k12x", StringIO("x"))
        OrganizationExport.objects.filter(pk=export.pk).update(
            status=Status.RUNNING, attempts=1, rows_done=5, storage_name=leftover
        )
    assert export_run(organization=org, export_id=export.pk) == "completed"
    with tenant_context(org):
        export.refresh_from_db()
    assert export.status == Status.COMPLETED and export.attempts == 2
    assert export.rows_done == export.rows_total > 0
    assert not storage().exists(leftover)
    assert export.storage_name and storage().exists(export.storage_name)
    # run again (a redelivered message): nothing to do
    assert export_run(organization=org, export_id=export.pk) == "skipped"


def test_an_export_killed_too_often_fails() -> None:
    org = OrganizationFactory.create()
    export = export_request(organization=org, actor=None, via="api", enqueue=False)
    with tenant_context(org):
        OrganizationExport.objects.filter(pk=export.pk).update(status=Status.RUNNING, attempts=3)
    assert export_run(organization=org, export_id=export.pk) == "skipped"
    with tenant_context(org):
        export.refresh_from_db()
    assert (export.status, export.error) == (Status.FAILED, "TooManyAttempts")


def test_the_stored_file_is_sealed_not_a_zip() -> None:
    org = OrganizationFactory.create()
    stored_request(org, requester_name="Sealed Requester")
    export = completed_export(org, None)
    with storage().open(export.storage_name, "rb") as stored:
        sealed = stored.read()
    assert sealed.startswith(b"k12x1")
    assert b"PK\x03\x04" not in sealed[:64] and b"Sealed Requester" not in sealed


def test_an_expired_link_is_gone_and_the_sweep_deletes_the_file() -> None:
    org = OrganizationFactory.create()
    admin = member(org, Role.ORG_ADMIN)
    export = completed_export(org, admin)
    url = reverse("accounts:export_download", kwargs={"org_slug": org.slug, "export_id": export.pk})
    with time_machine.travel(export.expires_at + timedelta(seconds=1)):  # type: ignore[operator]
        client = sign_in(Client(), admin)  # a session of that day
        assert client.post(url).status_code == 410
        assert exports_sweep(organization=org) == {"expired": 1, "restarted": 0}
    with tenant_context(org):
        export.refresh_from_db()
    assert export.status == Status.EXPIRED and export.storage_name == ""
    assert actions(org)[-1] == Action.ORGANIZATION_EXPORT_EXPIRED.value
    assert exports_sweep(organization=org) == {"expired": 0, "restarted": 0}


def test_each_download_is_audited() -> None:
    org = OrganizationFactory.create()
    admin = member(org, Role.ORG_ADMIN)
    export = completed_export(org, admin)
    client = sign_in(Client(), admin)
    download(client, org, export)
    download(client, org, export)
    assert actions(org) == [
        "exports.requested",
        "exports.completed",
        "exports.downloaded",
        "exports.downloaded",
    ]
    with tenant_context(org):
        export.refresh_from_db()
    assert export.download_count == 2


def test_another_organizations_admin_cannot_see_or_download_it() -> None:
    org, other = OrganizationFactory.create(), OrganizationFactory.create()
    export = completed_export(org, None)
    outsider = sign_in(Client(), member(other, Role.ORG_ADMIN))
    for slug in (org.slug, other.slug):
        kwargs = {"org_slug": slug, "export_id": export.pk}
        assert outsider.post(reverse("accounts:export_download", kwargs=kwargs)).status_code == 404
        assert outsider.get(reverse("accounts:export_progress", kwargs=kwargs)).status_code == 404


def test_the_progress_url_answers_json() -> None:
    org = OrganizationFactory.create()
    admin = member(org, Role.ORG_ADMIN)
    stored_request(org)
    export = export_request(organization=org, actor=admin, via="portal", enqueue=False)
    client = sign_in(Client(), admin)
    url = reverse("accounts:export_progress", kwargs={"org_slug": org.slug, "export_id": export.pk})
    queued = client.get(url).json()
    assert (queued["status"], queued["percent"], queued["download_url"]) == ("queued", 0, None)
    export_run(organization=org, export_id=export.pk)
    done = client.get(url).json()
    assert done["status"] == "completed" and done["percent"] == 100
    assert done["rows_done"] == done["rows_total"] > 0
    assert done["download_url"].endswith(f"/exports/{export.pk}/download/")


def test_the_page_lists_the_history_in_a_fixed_number_of_queries(
    django_assert_num_queries: object,
) -> None:
    org = OrganizationFactory.create()
    admin = member(org, Role.ORG_ADMIN)
    client = sign_in(Client(), admin)
    for exports in (1, 4):
        while len(exports_of(org)) < exports:
            completed_export(org, admin)
        client.get(page(org))  # warm the session and caches
        with django_assert_num_queries(10):  # type: ignore[operator]
            response = client.get(page(org))
        body = response.content.decode()
        assert body.count(">Download</button>") == exports
        assert admin.email in body


# --- the ops command --------------------------------------------------------------------------


def test_the_command_names_an_unknown_organization_and_exits_2(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no organization 'nowhere-usd'") as raised:
        call_command("organization_export", "nowhere-usd", "--output", str(tmp_path / "x.zip"))
    assert raised.value.returncode == 2


def test_the_command_refuses_to_overwrite_a_file(tmp_path: Path) -> None:
    org = OrganizationFactory.create()
    existing = tmp_path / "out.zip"
    existing.write_text("keep me")
    with pytest.raises(CommandError, match="--output") as raised:
        call_command("organization_export", org.slug, "--output", str(existing))
    assert raised.value.returncode == 2 and existing.read_text() == "keep me"


def test_the_command_writes_the_zip_with_progress(tmp_path: Path) -> None:
    org = OrganizationFactory.create()
    for n in range(3):
        stored_request(org, requester_name=f"Commanded Requester {n}")
    output, out = tmp_path / "export.zip", StringIO()
    call_command("organization_export", org.slug, "--output", str(output), stdout=out)
    printed = out.getvalue()
    assert "rows (100 %)" in printed and f"wrote {output}" in printed
    files = members(output.read_bytes())
    manifest = json.loads(files["manifest.json"])
    assert manifest["requested_via"] == "command" and manifest["requested_by"]["user_id"] is None
    assert b"Commanded Requester 2" in files["tables/privacy_requests.PrivacyRequest.jsonl"]
    (export,) = exports_of(org)
    assert export.status == Status.COMPLETED and export.storage_name == ""
    assert actions(org) == ["exports.requested", "exports.completed"]


def test_the_command_process_exits_2_naming_the_organization(tmp_path: Path) -> None:
    """The real process, as ops staff run it."""
    from k12cloud.notifications.tests import processes

    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "organization_export",
            "no-such-org",
            "--output",
            str(tmp_path / "x.zip"),
        ],
        cwd=processes.ROOT,
        env=processes.environment(processes.new_queue()),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "no organization 'no-such-org'" in done.stderr
