"""Privacy requests for tests: received through the real service, or stored bare."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.models import Organization, User
from k12cloud.tenancy import tenant_context
from privacy_requests.fulfilment.models import EvidenceFile
from privacy_requests.models import PrivacyRequest
from privacy_requests.services import request_receive


def received_request(
    organization: Organization,
    *,
    actor: User | None = None,
    received_at: datetime | None = None,
    **fields: Any,
) -> PrivacyRequest:
    """A request received through `request_receive` (needs the rules table loaded).

    Without the new-request alert unless `alert=True`: most tests count the notices and emails
    of what they exercise (test_alerts covers the alerts)."""
    values: dict[str, Any] = {
        "alert": False,
        "request_type": "access",
        "channel": "phone",
        "relationship": "parent",
        "requester_name": "Rosa Parent",
        "requester_email": "rosa.parent@example.org",
        "subject_name": "Sam Student",
        **fields,
    }
    with tenant_context(organization):
        return request_receive(
            organization=organization, received_at=received_at, actor=actor, **values
        )


def stored_request(organization: Organization, **fields: Any) -> PrivacyRequest:
    """A bare request row without deadlines (for URL sweeps that need only an id)."""
    with tenant_context(organization):
        count = PrivacyRequest.objects.count()
        values: dict[str, Any] = {
            "reference": f"R-T{count:03d}-{organization.pk % 10000:04d}",
            "request_type": "access",
            "channel": "phone",
            "relationship": "self",
            "requester_name": "Stored Requester",
            "received_at": timezone.now(),
            **fields,
        }
        return PrivacyRequest.objects.create(organization=organization, **values)


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def stored_evidence(
    organization: Organization, request: PrivacyRequest | None = None, **fields: Any
) -> EvidenceFile:
    """An evidence file row of `request` (default: the organization's newest request), for URL
    sweeps and permission tables that need a real id."""
    with tenant_context(organization):
        request = request or PrivacyRequest.objects.order_by("-pk").first()
        assert request is not None, "store a request first"
        content = fields.pop("content", PDF_BYTES)
        values: dict[str, Any] = {
            "content": base64.b64encode(content).decode("ascii"),
            "file_name": "attendance.pdf",
            "kind": "pdf",
            "sha256": hashlib.sha256(content).hexdigest(),
            "size": len(content),
            **fields,
        }
        return EvidenceFile.objects.create(organization=organization, request=request, **values)
