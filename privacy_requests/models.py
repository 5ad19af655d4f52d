"""A privacy rights request and what hangs off it: its timeline events, its messages with the
requester and the requester's single-use tokens.

The deadline-rule models live in `privacy_requests/rules/models.py`; importing it here registers
them with this app (their app label stays `privacy_requests`). Writes are in `services.py`,
reads in `selectors.py`, the allowed status moves in `status.py`.
"""

from __future__ import annotations

import hashlib

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from k12cloud.encryption.fields import BlindIndexField, EncryptedEmailField, EncryptedTextField
from k12cloud.models import TenantOwnedModel
from privacy_requests.rules.models import REQUEST_TYPE_CHOICES
from privacy_requests.status import CLOSED_STATUSES, Status

# a request's reference is unique in its organization (request_insert draws again on a clash)
REFERENCE_CONSTRAINT = "privacy_request_reference_unique"


class PrivacyRequest(TenantOwnedModel):
    """One privacy rights request to an organization, from receipt to closure.

    Personal fields are encrypted under the organization's data key (k12cloud.encryption);
    duplicates are found through blind indexes, never by decrypting rows. The statutory dates
    come from the deadline engine at receipt and are kept with the snapshot that produced them
    (`deadlines`), so a later rule change flags the request instead of silently moving it.
    `next_due_on` is the earliest open deadline, kept by the services, for the triage queue.
    """

    class Channel(models.TextChoices):
        WEB = "web", _("Web form")
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        MAIL = "mail", _("Mail")
        IN_PERSON = "in_person", _("In person")
        API = "api", _("API")

    class Relationship(models.TextChoices):
        SELF = "self", _("The person the data is about")
        PARENT = "parent", _("Parent or guardian")
        ELIGIBLE_STUDENT = "eligible_student", _("Eligible student (18 or older)")
        AGENT = "agent", _("Authorized agent")
        STAFF = "staff", _("Staff member on someone's behalf")

    class Outcome(models.TextChoices):
        FULFILLED = "fulfilled", _("Fulfilled")
        PARTIALLY_FULFILLED = "partially_fulfilled", _("Partially fulfilled")
        DENIED = "denied", _("Denied")

    class VerificationMethod(models.TextChoices):
        EMAIL = "email", _("Email address confirmed")
        IN_PERSON_ID = "in_person_id", _("In person with ID")
        RECORDS_MATCH = "records_match", _("Matched against records")
        SIGNED_DECLARATION = "signed_declaration", _("Signed declaration")
        AGENT_PROOF = "agent_proof", _("Authorized agent's proof")

    # shown to the requester and staff, e.g. "R-7KQ2-M9XD"; unique within the organization
    reference = models.CharField(max_length=16, editable=False)
    request_type = models.CharField(max_length=32, choices=REQUEST_TYPE_CHOICES)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.RECEIVED)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    language = models.CharField(max_length=8, default="en")

    requester_name = EncryptedTextField()
    requester_email = EncryptedEmailField(blank=True)
    requester_email_index = BlindIndexField(source="requester_email", null=True, blank=True)
    requester_phone = EncryptedTextField(blank=True)
    requester_address = EncryptedTextField(blank=True)
    relationship = models.CharField(max_length=20, choices=Relationship.choices)
    subject_name = EncryptedTextField(blank=True)
    subject_school = EncryptedTextField(blank=True)
    subject_birth_date = EncryptedTextField(blank=True)  # ISO date; encrypted, so text
    subject_index = BlindIndexField(source="subject_name", kind="name", null=True, blank=True)
    details = EncryptedTextField(blank=True)
    gpc_signal = models.BooleanField(
        default=False, help_text=_("The browser sent Sec-GPC: 1 (Global Privacy Control).")
    )

    received_at = models.DateTimeField()
    email_confirmed_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_method = models.CharField(
        max_length=24, choices=VerificationMethod.choices, blank=True
    )
    verification_evidence = EncryptedTextField(blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # indexed with the organization (privacy_request_assignee)
    )

    # the deadline engine's answer at receipt (DeadlineSnapshot.to_json_dict())
    deadlines = models.JSONField(default=dict)
    acknowledge_by = models.DateField(null=True, blank=True)
    respond_by = models.DateField(null=True, blank=True)
    extended_respond_by = models.DateField(null=True, blank=True)
    extended_at = models.DateTimeField(null=True, blank=True)
    extension_reason = EncryptedTextField(blank=True)
    next_due_on = models.DateField(null=True, blank=True)

    outcome = models.CharField(max_length=24, choices=Outcome.choices, blank=True)
    closure_reason = EncryptedTextField(blank=True)  # the requester sees it
    closed_at = models.DateTimeField(null=True, blank=True)
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    # Routing: a request sent to the platform organization about data another organization
    # controls is copied into that organization's queue and this one closes as routed. Both
    # sides keep the other's organization and reference (not tenant data: ids and codes).
    routed_to_organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    routed_to_reference = models.CharField(max_length=16, blank=True)
    routed_from_organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    routed_from_reference = models.CharField(max_length=16, blank=True)
    routed_at = models.DateTimeField(null=True, blank=True)
    # set when the organization's deadline rules changed after `deadlines` was computed, so staff
    # review the dates instead of the engine moving them silently
    deadline_snapshot_stale_since = models.DateTimeField(null=True, blank=True)
    # the requester was reminded to confirm their email (once, 24 hours after receipt)
    confirmation_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "reference"], name=REFERENCE_CONSTRAINT
            ),
            models.CheckConstraint(
                name="privacy_request_closed_has_closed_at",
                condition=Q(
                    status__in=sorted(s.value for s in CLOSED_STATUSES), closed_at__isnull=False
                )
                | (
                    ~Q(status__in=sorted(s.value for s in CLOSED_STATUSES))
                    & Q(closed_at__isnull=True)
                ),
            ),
        ]
        indexes = [
            # the triage queue: open requests by earliest deadline
            models.Index(
                fields=["organization", "next_due_on", "id"],
                name="privacy_request_queue",
                condition=Q(closed_at__isnull=True),
            ),
            models.Index(fields=["organization", "status"], name="privacy_request_status"),
            models.Index(fields=["organization", "assignee"], name="privacy_request_assignee"),
            models.Index(
                fields=["organization", "requester_email_index"], name="privacy_request_email"
            ),
            models.Index(fields=["organization", "subject_index"], name="privacy_request_subject"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class RequestEvent(TenantOwnedModel):
    """One entry of a request's timeline: a transition, an assignment, a note, a message sent.

    Summaries never hold personal values; the texts live encrypted in `RequestMessage`.
    """

    request = models.ForeignKey(
        PrivacyRequest, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=48)
    actor = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    from_status = models.CharField(max_length=32, blank=True)
    to_status = models.CharField(max_length=32, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["organization", "request", "occurred_at"], name="request_event_timeline"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.occurred_at:%Y-%m-%d %H:%M}"


class RequestMessage(TenantOwnedModel):
    """A message to or from the requester, or an internal note (never shown to them)."""

    class Direction(models.TextChoices):
        TO_REQUESTER = "to_requester", _("To the requester")
        FROM_REQUESTER = "from_requester", _("From the requester")
        INTERNAL = "internal", _("Internal note")

    request = models.ForeignKey(
        PrivacyRequest, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    direction = models.CharField(max_length=16, choices=Direction.choices)
    author = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    body = EncryptedTextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["organization", "request", "created_at"], name="request_message_thread"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} at {self.created_at:%Y-%m-%d %H:%M}"


class RequesterToken(TenantOwnedModel):
    """A single-use secret link for a requester: confirm their email, later their portal.

    Only the SHA-256 of the random secret is stored, so a database reader cannot use links.
    Services: privacy_requests.intake.services (issue, use).
    """

    class Purpose(models.TextChoices):
        CONFIRM_EMAIL = "confirm_email", _("Confirm email address")
        PORTAL = "portal", _("Requester portal")

    request = models.ForeignKey(
        PrivacyRequest, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    # Unique on its own, not led by organization: the public link is looked up across tenants
    # (the visitor has no organization yet), and a hash collision across tenants must not pass.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["organization", "request", "purpose"], name="requester_token_request"
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose} link for request {self.request_id}"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


# The fulfilment package's model lives with its services (privacy_requests.fulfilment).
from privacy_requests.fulfilment.models import EvidenceFile, ResponsePackage  # noqa: E402, F401
