"""Privacy requests for tests: received through the real service, or stored bare."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.models import Organization, User
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from privacy_requests.services import request_receive


def received_request(
    organization: Organization,
    *,
    actor: User | None = None,
    received_at: datetime | None = None,
    **fields: Any,
) -> PrivacyRequest:
    """A request received through `request_receive` (needs the rules table loaded)."""
    values: dict[str, Any] = {
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
