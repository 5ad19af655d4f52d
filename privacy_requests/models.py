"""Deadline rules as data: the platform's jurisdiction rules and each organization's choices.

- `JurisdictionRule` (platform-level, not tenant-owned): one row per rule id and group of
  request types, i.e. one `RulePart` of the deadline engine. Ops staff edit it in the Django
  admin, through `services.jurisdiction_rule_save`, which bumps `version`.
- `OrganizationRuleSelection`, `ContractRule`, `OrganizationClosure` (tenant-owned): which
  rules apply to an organization, its own contract rules, and its closed days (internal
  targets only).

Business rules (validation across rows, versioning, defaults) live in `services.py`; the
conversion to the engine's `DeadlineRule` objects lives in `selectors.py`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from k12cloud.encryption.fields import BlindIndexField, EncryptedEmailField, EncryptedTextField
from k12cloud.models import TenantOwnedModel
from privacy_requests.deadlines import Confidence, RequestType, Unit
from privacy_requests.rule_periods import period_bound_errors, period_within_bounds
from privacy_requests.status import CLOSED_STATUSES, Status

REQUEST_TYPE_CHOICES = [(t.value, t.value) for t in RequestType]
UNIT_CHOICES = [(u.value, u.value.replace("_", " ")) for u in Unit]
CONFIDENCE_CHOICES = [(c.value, c.value) for c in Confidence]


JURISDICTION_RULE_PERIODS = ("acknowledge", "respond", "extension", "extension_notice")
CONTRACT_RULE_PERIODS = ("acknowledge", "respond")


def _period_pair_is_consistent(prefix: str) -> Q:
    """Amount and unit are both set (amount >= 1) or both empty."""
    return Q(**{f"{prefix}_amount__isnull": True, f"{prefix}_unit": ""}) | Q(
        **{f"{prefix}_amount__gte": 1}
    ) & ~Q(**{f"{prefix}_unit": ""})


def _amount_field(verbose_name: Any) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(
        verbose_name, null=True, blank=True, validators=[MinValueValidator(1)]
    )


def _unit_field() -> models.CharField:
    return models.CharField(max_length=16, choices=UNIT_CHOICES, blank=True)


class JurisdictionRule(models.Model):
    """One row of the deadline rules table: a rule id's periods for some request types.

    Platform-level: the law is the same for every tenant. Several rows may share a `rule_id`
    (CCPA's know/delete/correct, opt-out and limit rows); they share the rule-level fields
    (jurisdiction, calendar, roll-forward, pausing), which the service keeps in step.

    `version` is unique within a rule id and grows with every edit of any of its rows: a
    request stores the version of the row that governed it, so a later edit is detected
    (see `selectors.deadline_snapshot_is_stale`).
    """

    class ExtensionNoticeKind(models.TextChoices):
        NONE = "", _("no notice")
        WITHIN_RESPONSE_PERIOD = "within_response_period", _("within the response period")
        PERIOD = "period", _("within a period of its own")

    rule_id = models.SlugField(max_length=64, db_index=True)
    jurisdiction = models.CharField(max_length=64)
    request_types = ArrayField(models.CharField(max_length=32, choices=REQUEST_TYPE_CHOICES))

    acknowledge_amount = _amount_field(_("acknowledge within"))
    acknowledge_unit = _unit_field()
    respond_amount = _amount_field(_("respond within"))
    respond_unit = _unit_field()
    extension_amount = _amount_field(_("extension of"))
    extension_unit = _unit_field()
    extension_notice = models.CharField(
        max_length=32, choices=ExtensionNoticeKind.choices, blank=True
    )
    extension_notice_amount = _amount_field(_("extension notice within"))
    extension_notice_unit = _unit_field()

    pausing_allowed = models.BooleanField(
        default=False, help_text=_("May the clock stop while identity is verified?")
    )
    roll_forward = models.BooleanField(
        default=False,
        help_text=_(
            "Calendar-day and month deadlines on a weekend or holiday move to the next "
            "business day (GDPR)."
        ),
    )
    calendar_country = models.CharField(
        max_length=2, blank=True, help_text=_("ISO 3166 code (US, CA); empty: weekends only")
    )
    calendar_subdivision = models.CharField(
        max_length=3, blank=True, help_text=_("State or province, e.g. QC, ON")
    )

    source = models.CharField(max_length=300)
    confidence = models.CharField(max_length=16, choices=CONFIDENCE_CHOICES)
    notes = models.TextField(blank=True)
    effective_from = models.DateField(null=True, blank=True)
    effective_to = models.DateField(
        null=True, blank=True, help_text=_("Inclusive: the last day the rule is in force")
    )
    enabled = models.BooleanField(default=True)

    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["rule_id", "pk"]
        constraints = (
            *(
                models.CheckConstraint(
                    name=f"jurisdiction_rule_{prefix}_pair",
                    condition=_period_pair_is_consistent(prefix),
                )
                for prefix in ("acknowledge", "respond", "extension", "extension_notice")
            ),
            *(
                models.CheckConstraint(
                    name=f"jurisdiction_rule_{prefix}_bounded",
                    condition=period_within_bounds(prefix),
                )
                for prefix in JURISDICTION_RULE_PERIODS
            ),
            models.CheckConstraint(
                name="jurisdiction_rule_extension_needs_respond",
                condition=Q(extension_amount__isnull=True) | Q(respond_amount__isnull=False),
            ),
            models.CheckConstraint(
                name="jurisdiction_rule_notice_needs_extension",
                condition=Q(extension_notice="") | Q(extension_amount__isnull=False),
            ),
            models.CheckConstraint(
                name="jurisdiction_rule_notice_period_given",
                condition=~Q(extension_notice="period") | Q(extension_notice_amount__isnull=False),
            ),
            models.CheckConstraint(
                name="jurisdiction_rule_effective_dates_ordered",
                condition=Q(effective_from__isnull=True)
                | Q(effective_to__isnull=True)
                | Q(effective_to__gte=models.F("effective_from")),
            ),
            models.CheckConstraint(
                name="jurisdiction_rule_has_request_types",
                condition=Q(request_types__len__gte=1),
            ),
        )

    def __str__(self) -> str:
        return f"{self.rule_id} ({', '.join(self.request_types or [])})"

    def clean(self) -> None:
        errors = period_bound_errors(self, JURISDICTION_RULE_PERIODS)
        if errors:
            raise ValidationError(errors)


class OrganizationRuleSelection(TenantOwnedModel):
    """A jurisdiction rule id that applies to the organization's requests.

    An organization without rows uses `services.deadline_rules_default_for(organization)`.
    """

    rule_id = models.SlugField(max_length=64, db_index=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["rule_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "rule_id"], name="rule_selection_unique_per_org"
            ),
        ]

    def __str__(self) -> str:
        return self.rule_id


class ContractRule(TenantOwnedModel):
    """An organization's own deadline, e.g. a DPA's "delete within 7 days".

    Computed alongside the jurisdiction rules; since the earliest deadline binds, a contract
    rule can only ever make a deadline earlier. Its engine id is `contract:<slug>`, so it can
    never be mistaken for (or shadow) a jurisdiction rule.
    """

    slug = models.SlugField(max_length=64, db_index=False)
    name = models.CharField(max_length=200)
    source = models.CharField(max_length=300, help_text=_("e.g. District DPA §9"))
    request_types = ArrayField(models.CharField(max_length=32, choices=REQUEST_TYPE_CHOICES))
    acknowledge_amount = _amount_field(_("acknowledge within"))
    acknowledge_unit = _unit_field()
    respond_amount = models.PositiveIntegerField(
        _("respond within"), validators=[MinValueValidator(1)]
    )
    respond_unit = models.CharField(max_length=16, choices=UNIT_CHOICES)
    enabled = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "slug"], name="contract_rule_slug_unique_per_org"
            ),
            models.CheckConstraint(
                name="contract_rule_respond_positive", condition=Q(respond_amount__gte=1)
            ),
            models.CheckConstraint(
                name="contract_rule_acknowledge_pair",
                condition=_period_pair_is_consistent("acknowledge"),
            ),
            models.CheckConstraint(
                name="contract_rule_has_request_types", condition=Q(request_types__len__gte=1)
            ),
            *(
                models.CheckConstraint(
                    name=f"contract_rule_{prefix}_bounded", condition=period_within_bounds(prefix)
                )
                for prefix in CONTRACT_RULE_PERIODS
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = period_bound_errors(self, CONTRACT_RULE_PERIODS)
        if errors:
            raise ValidationError(errors)

    @property
    def engine_id(self) -> str:
        return f"{CONTRACT_RULE_PREFIX}{self.slug}"


CONTRACT_RULE_PREFIX = "contract:"


class OrganizationClosure(TenantOwnedModel):
    """A day the organization is closed (a state holiday, a district's winter break).

    For internal targets only: statutory deadlines never move for a closure.
    """

    date = models.DateField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "date"], name="closure_date_unique_per_org"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.reason}".strip()


# --- privacy rights requests ----------------------------------------------------------------


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
                fields=["organization", "reference"], name="privacy_request_reference_unique"
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
from privacy_requests.fulfilment.models import ResponsePackage  # noqa: E402, F401
