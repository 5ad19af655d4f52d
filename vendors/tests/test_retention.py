"""A terminated district's de-identification: the vendor rows lose their personal fields, and
the de-identification certificate lists the vendors' certificates of disposition."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from k12cloud.tenancy import tenant_context
from retention.models import DeidentificationCertificate
from retention.sweep import organization_retention_run
from retention.termination import organization_terminate
from vendors.models import VendorTaskReceipt
from vendors.services import IncomingFile, receipt_answer
from vendors.tests.factories import district_request, scene

pytestmark = pytest.mark.django_db
TERMINATED_AT = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
CERTIFICATE = IncomingFile("certificate.pdf", "application/pdf", b"%PDF-1.7 disposed")


def test_the_deidentification_certificate_lists_the_vendor_certificates() -> None:
    s = scene()
    with time_machine.travel(TERMINATED_AT - timedelta(days=10), tick=False):
        pr = district_request(s.district, request_type="delete")
        [task] = s.forward(pr, kind="deletion_certificate")
        with tenant_context(s.vendor_org):
            receipt_answer(
                organization=s.vendor_org,
                actor=s.vendor_staff,
                receipt=VendorTaskReceipt.objects.get(),
                answer_kind="deletion_attested",
                files=[CERTIFICATE],
            )
    with time_machine.travel(TERMINATED_AT, tick=False):
        organization_terminate(organization=s.district, actor=None)
    with time_machine.travel(TERMINATED_AT + timedelta(days=90), tick=False):
        organization_retention_run(organization_id=s.district.pk)
    with tenant_context(s.district):
        certificate = DeidentificationCertificate.objects.get()
    assert certificate.document["vendor_certificates"] == [
        {
            "vendor": "BrightPath Learning",
            "task": task.reference,
            "request": pr.reference,
            "attested_on": "2026-02-20",
            "certificate_sha256": [hashlib.sha256(CERTIFICATE.data).hexdigest()],
        }
    ]
    # the engine de-identified the district's vendor rows too
    assert certificate.document["rows"]["vendors.VendorTask"] == 1
    assert certificate.document["rows"]["vendors.VendorFile"] == 1
