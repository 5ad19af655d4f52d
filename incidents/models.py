"""Security incidents, their statutory legs, the cascade across tenants and the notices sent.

Platform data (the law is the same for every tenant):
- `BreachRule`: one leg (or one variant of a leg) of one breach-notification regime, edited by
  ops staff in the admin through `rules.breach_rule_save`, which bumps `version`. Never deleted:
  a row is disabled instead, so that stored legs never point at nothing.

Tenant-owned (row-level security on every table):
- `Incident`: the register entry, breach or not (Québec requires a register of every incident,
  PIPEDA records for 24 months). Holds the clock-start events and, when it came from a vendor
  through the portal, the vendor's facts and the time of receipt (`notice_received_at`).
- `IncidentLeg`: one leg's due time as computed for this incident (stored so that alerts and
  the dashboard read it with one query), and when it was met.
- `LawEnforcementDelay`: who asked for a delay, when, and when the risk ended.
- `IncidentCascade` (vendor side): one district notified through the portal, and when and by
  whom it acknowledged. Nothing of the district's own incident crosses back.
- `RecipientList` / `Recipient`: uploaded family and staff lists (name, email, language),
  encrypted.
- `Notice` / `NoticeDelivery`: the notice of one leg, in English and Spanish, and one row per
  recipient it was queued for (unique: each recipient recorded once).
- `RegulatorSubmission`: a letter to a regulator, submitted by the organization, recorded.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.deadlines import DelayKind, LegStatus, LegUnit, Party
from k12cloud.encryption.fields import EncryptedEmailField, EncryptedTextField
from k12cloud.models import TenantOwnedModel

DATA_CATEGORIES = (
    ("student_information", _("Student information")),
    ("directory_information", _("Directory information")),
    ("education_records", _("Education records")),
    ("student_generated_content", _("Student-generated content")),
    ("staff_information", _("Staff information")),
    ("credentials", _("Credentials")),
    ("financial", _("Financial")),
    ("health", _("Health")),
)
DATA_CATEGORY_IDS = frozenset(c for c, _label in DATA_CATEGORIES)

UNIT_CHOICES = [(u.value, u.value.replace("_", " ")) for u in LegUnit]
CONFIDENCE_CHOICES = [(c, c) for c in ("high", "medium", "low")]


class BreachRule(models.Model):
    """One row of the breach rules table (platform data; see the module docstring)."""

    regime = models.SlugField(max_length=32)
    regime_name = models.CharField(max_length=120)
    jurisdiction = models.CharField(
        max_length=8, help_text=_("Where the regime applies: US-NY, US, EU, CA, CA-QC")
    )
    leg = models.SlugField(max_length=48)
    part = models.SlugField(max_length=48, default="default")
    party = models.CharField(max_length=16, choices=[(p.value, p.value) for p in Party])
    obligated = models.CharField(max_length=120, help_text=_("Who owes the notice"))
    recipient = models.SlugField(max_length=48)
    recipient_label = models.CharField(max_length=160)
    start_events = ArrayField(models.CharField(max_length=32))
    amount = models.PositiveIntegerField(null=True, blank=True)
    unit = models.CharField(max_length=16, choices=UNIT_CHOICES, blank=True)
    wording = models.CharField(max_length=200, blank=True)
    calendar_country = models.CharField(max_length=2, blank=True)
    calendar_subdivision = models.CharField(max_length=3, blank=True)
    residents_of = models.CharField(max_length=3, blank=True)
    min_residents = models.PositiveIntegerField(null=True, blank=True)
    categories = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    delay = models.CharField(
        max_length=24, choices=[(d.value, d.value) for d in DelayKind], default=DelayKind.NONE
    )
    delay_amount = models.PositiveIntegerField(null=True, blank=True)
    delay_unit = models.CharField(max_length=16, choices=UNIT_CHOICES, blank=True)
    citation = models.CharField(max_length=200)
    confidence = models.CharField(max_length=16, choices=CONFIDENCE_CHOICES)
    notes = models.TextField(blank=True)
    effective_from = models.DateField(null=True, blank=True)
    effective_to = models.DateField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["regime", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["regime", "leg", "part"], name="breach_rule_unique"),
            models.CheckConstraint(
                name="breach_rule_period_pair",
                condition=Q(amount__isnull=True, unit="") | Q(amount__gte=1) & ~Q(unit=""),
            ),
            models.CheckConstraint(
                name="breach_rule_has_start_event", condition=Q(start_events__len__gte=1)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.regime}/{self.leg}/{self.part}"


class IncidentStatus(models.TextChoices):
    SUSPECTED = "suspected", _("Suspected")
    CONFIRMED = "confirmed", _("Confirmed breach")
    CONTAINED = "contained", _("Contained")
    CLOSED = "closed", _("Closed")
    NOT_A_BREACH = "not_a_breach", _("Not a breach")


def _user_fk(related: str = "+", **kwargs: object) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name=related,
        db_index=False,
        **kwargs,  # type: ignore[arg-type]
    )


class Incident(TenantOwnedModel):
    reference = models.CharField(max_length=16, editable=False)
    title = EncryptedTextField(_("title"))
    description = EncryptedTextField(_("what happened"))
    systems = EncryptedTextField(_("systems involved"), blank=True)
    data_categories = ArrayField(
        models.CharField(max_length=40), default=list, blank=True, verbose_name=_("data")
    )
    affected_total = models.PositiveIntegerField(_("people affected"), null=True, blank=True)
    # {"NY": 120, "CA": 600}: affected people by state or province
    residents = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.SUSPECTED
    )
    not_breach_reasoning = EncryptedTextField(blank=True)
    discovered_at = models.DateTimeField(_("discovered at"))
    determined_at = models.DateTimeField(_("determined at"), null=True, blank=True)
    awareness_at = models.DateTimeField(null=True, blank=True)
    notice_received_at = models.DateTimeField(null=True, blank=True)
    individuals_notified_at = models.DateTimeField(null=True, blank=True)
    contained_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    proposed_regimes = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    regimes = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    regimes_confirmed_at = models.DateTimeField(null=True, blank=True)
    regimes_confirmed_by = _user_fk()
    # the cascade: this incident was opened by a vendor's notice through the portal
    source_organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    source_organization_name = models.CharField(max_length=200, blank=True)
    source_reference = models.CharField(max_length=16, blank=True)
    # the vendor's own leg to this district: its due time, and whether the notice was late
    source_leg_due_at = models.DateTimeField(null=True, blank=True)
    source_leg_citation = models.CharField(max_length=200, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = _user_fk()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = _user_fk()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-discovered_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "reference"], name="incident_reference_unique"
            ),
            models.UniqueConstraint(
                fields=["organization", "source_organization", "source_reference"],
                condition=~Q(source_reference=""),
                name="incident_one_per_source_notice",
            ),
        ]
        indexes = [models.Index(fields=["organization", "status"], name="incident_org_status")]

    def __str__(self) -> str:
        return self.reference

    @property
    def source_leg_met(self) -> bool | None:
        """Was the vendor's notice on time? None when there is no vendor leg to judge."""
        if self.source_leg_due_at is None or self.notice_received_at is None:
            return None
        return self.notice_received_at <= self.source_leg_due_at


class IncidentLeg(TenantOwnedModel):
    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="legs", db_index=False
    )
    regime = models.CharField(max_length=32)
    leg = models.CharField(max_length=48)
    part = models.CharField(max_length=48)
    rule_version = models.PositiveIntegerField()
    recipient = models.CharField(max_length=48)
    recipient_label = models.CharField(max_length=160)
    start_event = models.CharField(max_length=32, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=24, choices=[(s.value, s.value) for s in LegStatus])
    binding = models.BooleanField(default=False)
    period = models.CharField(max_length=40, blank=True)
    wording = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    citation = models.CharField(max_length=200)
    confidence = models.CharField(max_length=16)
    unit = models.CharField(max_length=16, blank=True)
    met_at = models.DateTimeField(null=True, blank=True)
    met_how = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["due_at", "regime", "leg", "part"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "incident", "regime", "leg", "part"],
                name="incident_leg_unique",
            )
        ]
        indexes = [models.Index(fields=["organization", "met_at", "due_at"], name="leg_open_due")]

    def __str__(self) -> str:
        return f"{self.regime}/{self.leg}"

    @property
    def is_open(self) -> bool:
        return self.met_at is None and self.status in (LegStatus.DUE, "no_numeric_deadline")


class LawEnforcementDelay(TenantOwnedModel):
    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="delays", db_index=False
    )
    agency = EncryptedTextField(_("agency"))
    requested_by = EncryptedTextField(_("who asked"))
    requested_at = models.DateTimeField(_("asked at"))
    risk_ended_on = models.DateField(_("risk ended on"), null=True, blank=True)
    recorded_by = _user_fk()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["requested_at"]
        indexes = [models.Index(fields=["organization", "incident"], name="le_delay_incident")]


class IncidentCascade(TenantOwnedModel):
    """Vendor side: one district told of the vendor's incident through the portal."""

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="cascades", db_index=False
    )
    district = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    district_name = models.CharField(max_length=200)
    district_reference = models.CharField(max_length=16)
    sent_at = models.DateTimeField()
    sent_by = _user_fk()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by_name = EncryptedTextField(blank=True)

    class Meta:
        ordering = ["district_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "incident", "district"], name="cascade_once_per_district"
            )
        ]


class RecipientList(TenantOwnedModel):
    class Kind(models.TextChoices):
        FAMILIES = "families", _("Families")
        STAFF = "staff", _("Staff")

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="recipient_lists", db_index=False
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    file_name = EncryptedTextField()
    row_count = models.PositiveIntegerField(default=0)
    uploaded_at = models.DateTimeField(default=timezone.now)
    uploaded_by = _user_fk()

    class Meta:
        ordering = ["uploaded_at"]
        indexes = [models.Index(fields=["organization", "incident"], name="recipient_list_inc")]


class Recipient(TenantOwnedModel):
    recipient_list = models.ForeignKey(
        RecipientList, on_delete=models.PROTECT, related_name="recipients", db_index=False
    )
    name = EncryptedTextField()
    email = EncryptedEmailField()
    language = models.CharField(max_length=8, default="en")

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["organization", "recipient_list"], name="recipient_list")]


class Notice(TenantOwnedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="notices", db_index=False
    )
    leg = models.ForeignKey(IncidentLeg, on_delete=models.PROTECT, related_name="+", db_index=False)
    subject_en = models.CharField(max_length=200)
    body_en = EncryptedTextField()
    subject_es = models.CharField(max_length=200)
    body_es = EncryptedTextField()
    include_members = models.BooleanField(default=False)
    recipient_lists = ArrayField(models.BigIntegerField(), default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    total = models.PositiveIntegerField(default=0)
    batches_done = models.PositiveIntegerField(default=0)
    prepared_by = _user_fk()
    prepared_at = models.DateTimeField(default=timezone.now)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-prepared_at"]
        indexes = [models.Index(fields=["organization", "incident"], name="notice_incident")]


class NoticeDelivery(TenantOwnedModel):
    notice = models.ForeignKey(
        Notice, on_delete=models.PROTECT, related_name="deliveries", db_index=False
    )
    recipient = models.ForeignKey(
        Recipient, on_delete=models.PROTECT, null=True, related_name="+", db_index=False
    )
    member = _user_fk()
    language = models.CharField(max_length=8)
    email_id = models.BigIntegerField(null=True)  # the outbox row (k12cloud.notifications)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "notice", "recipient"],
                condition=Q(recipient__isnull=False),
                name="notice_delivery_once_per_recipient",
            ),
            models.UniqueConstraint(
                fields=["organization", "notice", "member"],
                condition=Q(member__isnull=False),
                name="notice_delivery_once_per_member",
            ),
            models.CheckConstraint(
                name="notice_delivery_one_addressee",
                condition=Q(recipient__isnull=False, member__isnull=True)
                | Q(recipient__isnull=True, member__isnull=False),
            ),
        ]


class RegulatorSubmission(TenantOwnedModel):
    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="submissions", db_index=False
    )
    leg = models.ForeignKey(IncidentLeg, on_delete=models.PROTECT, related_name="+", db_index=False)
    submitted_at = models.DateTimeField()
    submitted_by = _user_fk()
    confirmation = EncryptedTextField(blank=True)

    class Meta:
        ordering = ["submitted_at"]
        indexes = [models.Index(fields=["organization", "incident"], name="submission_incident")]
