"""Deadline rules as data: the platform's jurisdiction rules and each organization's choices.

- `JurisdictionRule` (platform-level, not tenant-owned): one row per rule id and group of
  request types, i.e. one `RulePart` of the deadline engine. Ops staff edit it in the Django
  admin, through `services.jurisdiction_rule_save`, which bumps `version`.
- `OrganizationRuleSelection`, `ContractRule`, `OrganizationClosure` (tenant-owned): which
  rules apply to an organization, its own contract rules, and its closed days (internal
  targets only).

Business rules (validation across rows, versioning, defaults) live in `rules/services.py`; the
conversion to the engine's `DeadlineRule` objects lives in `rules/selectors.py`. The request
models are in `privacy_requests/models.py`, which imports this module so that Django registers
these models under the `privacy_requests` app label (no migration moved with them).
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from k12cloud.models import TenantOwnedModel
from privacy_requests.deadlines import Confidence, Unit
from privacy_requests.labels import REQUEST_TYPE_CHOICES as LABELLED_REQUEST_TYPE_CHOICES
from privacy_requests.rules.periods import period_bound_errors, period_within_bounds

# labelled (privacy_requests.labels): `get_request_type_display()` reads as words
REQUEST_TYPE_CHOICES = LABELLED_REQUEST_TYPE_CHOICES
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
