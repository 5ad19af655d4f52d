"""Certificates: issued once per completed run, signed, verifiable offline; JSON and PDF."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from k12cloud.tenancy import tenant_context
from retention.certificates import certificate_pdf, verify
from retention.models import DeidentificationCertificate
from retention.sweep import organization_retention_run
from retention.termination import organization_terminate
from retention.tests.seeding import seed_organization

pytestmark = pytest.mark.django_db
TERMINATED_AT = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


@pytest.fixture
def certificate() -> DeidentificationCertificate:
    with time_machine.travel(TERMINATED_AT, tick=False):
        seeded = seed_organization("closing-usd", requests=2)
        organization_terminate(organization=seeded.organization, actor=None)
    with time_machine.travel(TERMINATED_AT + timedelta(days=90), tick=False):
        organization_retention_run(organization_id=seeded.organization.pk)
        organization_retention_run(organization_id=seeded.organization.pk)  # no second one
    with tenant_context(seeded.organization):
        return DeidentificationCertificate.objects.select_related("run").get()


def test_the_certificate_says_what_when_and_how_much(
    certificate: DeidentificationCertificate,
) -> None:
    document = certificate.document
    assert document["organization"]["slug"] == "closing-usd"
    assert document["rule"] == "terminated customer data: 90 days after termination"
    assert document["due_on"] == "2026-05-31"
    assert document["data_to"] == "2026-03-02"
    assert document["rows"]["privacy_requests.PrivacyRequest"] == 2
    assert document["categories"]["privacy_requests"] == 3  # 2 requests and 1 message
    assert document["log_sha256"] == certificate.run.log_sha256
    assert document["keys_destroyed_at"] is not None
    assert verify(document, key=certificate.key_id, signature=certificate.signature)


def test_an_altered_certificate_does_not_verify(certificate: DeidentificationCertificate) -> None:
    altered = {**certificate.document, "due_on": "2026-04-01"}
    assert not verify(altered, key=certificate.key_id, signature=certificate.signature)
    assert not verify(certificate.document, key="0" * 16, signature=certificate.signature)


def test_export_writes_json_and_pdf_and_verify_checks_the_file(
    certificate: DeidentificationCertificate, tmp_path: Path
) -> None:
    call_command(
        "retention_certificate",
        "export",
        "--organization",
        "closing-usd",
        "--out",
        str(tmp_path),
        stdout=io.StringIO(),
    )
    (json_file,) = tmp_path.glob("*.json")
    (pdf_file,) = tmp_path.glob("*.pdf")
    assert pdf_file.read_bytes().startswith(b"%PDF")
    out = io.StringIO()
    call_command("retention_certificate", "verify", str(json_file), stdout=out)
    assert out.getvalue().startswith("Valid")

    data = json.loads(json_file.read_text())
    data["document"]["rows"]["privacy_requests.PrivacyRequest"] = 1
    json_file.write_text(json.dumps(data))
    with pytest.raises(CommandError) as refused:
        call_command("retention_certificate", "verify", str(json_file), stdout=io.StringIO())
    assert refused.value.returncode == 1


def test_bad_arguments_exit_2_naming_them(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as refused:
        call_command(
            "retention_certificate", "export", "--organization", "nope", "--out", str(tmp_path)
        )
    assert refused.value.returncode == 2 and "--organization" in str(refused.value)
    junk = tmp_path / "junk.json"
    junk.write_text("not json")
    with pytest.raises(CommandError) as refused:
        call_command("retention_certificate", "verify", str(junk))
    assert refused.value.returncode == 2 and "FILE" in str(refused.value)


def test_the_pdf_is_a_pdf(certificate: DeidentificationCertificate) -> None:
    pdf = certificate_pdf(certificate)
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000


def test_the_last_admins_receive_the_certificate_then_lose_their_accounts() -> None:
    from accounts.models import Organization, User
    from k12cloud.notifications.models import OutboundEmail
    from retention.tests.seeding import ADMIN_EMAIL, new_organization

    platform = new_organization(slug="k12cloud", kind=Organization.Kind.PLATFORM)
    with time_machine.travel(TERMINATED_AT, tick=False):
        seeded = seed_organization("closing-usd", requests=1)
        organization_terminate(organization=seeded.organization, actor=None)
    with time_machine.travel(TERMINATED_AT + timedelta(days=90), tick=False):
        organization_retention_run(organization_id=seeded.organization.pk)
    with tenant_context(platform):
        (email,) = OutboundEmail.objects.all()
        assert email.to == ADMIN_EMAIL
        assert email.template == "retention/email/certificate"
        assert email.subject == "Certificate of de-identification"
        body = email.body_text
    with tenant_context(seeded.organization):
        certificate = DeidentificationCertificate.objects.get()
    assert certificate.signature in body and certificate.document_sha256 not in email.subject
    assert certificate.document["users_deidentified_after_sending_this"] == 1
    admin = User.objects.get(pk=seeded.admin.pk)
    assert admin.email.startswith("deidentified-user-") and not admin.is_active
