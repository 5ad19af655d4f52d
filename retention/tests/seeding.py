"""An organization full of personal data, seeded through real models and services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from accounts.models import ApiKey, Invitation, Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from k12cloud.notifications.services import email_enqueue
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest, RequestMessage
from privacy_requests.tests.factories import stored_request

# Values nobody else in the test database has, so finding one anywhere is a leak.
PERSONAL = {
    "requester_name": "Quintessa Ravenscroft",
    "requester_email": "quintessa.ravenscroft@example.org",
    "requester_phone": "+1 555 0199 7731",
    "requester_address": "1234 Wisteria Lane, Springfield",
    "subject_name": "Bartholomew Ravenscroft",
    "subject_school": "Hawthorne Elementary",
    "subject_birth_date": "2014-03-09",
    "details": "Records of Bartholomew in the reading program",
}
MESSAGE = "Zephyrine wrote about her son's reading scores"
ADMIN_NAME = "Evangeline Admintester"
ADMIN_EMAIL = "evangeline.admintester@terminated.example"
INVITEE_EMAIL = "invited.person@terminated.example"
API_KEY_NAME = "Evangeline's roster sync"


@dataclass
class Seeded:
    organization: Organization
    admin: User
    requests: list[PrivacyRequest]

    @property
    def values(self) -> list[str]:
        return [*PERSONAL.values(), MESSAGE, ADMIN_NAME, ADMIN_EMAIL, INVITEE_EMAIL, API_KEY_NAME]


def new_organization(**fields: object) -> Organization:
    """An organization (typed: factory_boy's stubs cannot say what a factory returns)."""
    return OrganizationFactory(**fields)


def seed_organization(slug: str = "closing-usd", *, requests: int = 3) -> Seeded:
    organization = new_organization(slug=slug, name="Closing Unified")
    admin = member(organization, Role.ORG_ADMIN, email=ADMIN_EMAIL, full_name=ADMIN_NAME)
    created = []
    for n in range(requests):
        request = stored_request(
            organization,
            request_type="deletion" if n % 2 else "access",
            status="fulfilled" if n else "received",
            outcome="fulfilled" if n else "",
            closed_at=timezone.now() if n else None,
            **PERSONAL,
        )
        created.append(request)
    with tenant_context(organization):
        RequestMessage.objects.create(
            organization=organization,
            request=created[0],
            direction=RequestMessage.Direction.FROM_REQUESTER,
            body=MESSAGE,
        )
        Invitation.objects.create(
            organization=organization,
            email=INVITEE_EMAIL,
            role=Role.VIEWER,
            token_hash=Invitation.hash_token(f"token-{slug}"),
            expires_at=timezone.now() + timedelta(days=7),
        )
        ApiKey.objects.create(
            organization=organization,
            name=API_KEY_NAME,
            role=Role.VIEWER,
            prefix=f"p{organization.pk}"[:16],
            secret_hash="0" * 64,
        )
        email_enqueue(
            organization=organization,
            to=PERSONAL["requester_email"],
            template="retention/email/terminated",
            subject="A notice",
            context={"due_on": None},
        )
    return Seeded(organization, admin, created)
