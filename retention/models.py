"""Retention rules, legal holds and de-identification runs (all tenant-owned, under RLS)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from k12cloud.encryption.fields import EncryptedTextField
from k12cloud.models import TenantOwnedModel
from retention.policy import Category


class RetentionRule(TenantOwnedModel):
    """An organization's own, shorter, period for one category (the policy's when absent).

    Services validate it against `retention.policy.POLICY` (retention.services.rule_set):
    never longer than the policy, never for a category the policy does not let shorten.
    """

    category = models.CharField(max_length=32, choices=Category.choices)
    days = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "category"], name="retention_rule_one_per_category"
            ),
            models.CheckConstraint(name="retention_rule_days_positive", condition=Q(days__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.days} days"


class LegalHold(TenantOwnedModel):
    """Data that must not be de-identified while the hold is active.

    Scope: the whole organization, one user, one privacy request, or one category. Active
    from `placed_at` until `ends_on` (inclusive) or until released, whichever comes first.
    """

    class Scope(models.TextChoices):
        ORGANIZATION = "organization", _("The whole organization")
        USER = "user", _("One user")
        REQUEST = "request", _("One privacy request")
        CATEGORY = "category", _("One data category")

    scope = models.CharField(max_length=16, choices=Scope.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    request = models.ForeignKey(
        "privacy_requests.PrivacyRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    category = models.CharField(max_length=32, choices=Category.choices, blank=True)
    # staff prose may name people (a case, a plaintiff): encrypted like other personal data
    reason = EncryptedTextField(_("reason"))
    ends_on = models.DateField(_("end date"))
    placed_at = models.DateTimeField(default=timezone.now, editable=False)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="legal_hold_scope_target",
                condition=(
                    Q(scope="organization", user__isnull=True, request__isnull=True, category="")
                    | Q(scope="user", user__isnull=False, request__isnull=True, category="")
                    | Q(scope="request", user__isnull=True, request__isnull=False, category="")
                    | (
                        Q(scope="category", user__isnull=True, request__isnull=True)
                        & ~Q(category="")
                    )
                ),
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "ends_on"],
                name="legal_hold_open",
                condition=Q(released_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Legal hold {self.pk} ({self.scope}) until {self.ends_on}"

    def is_active(self, today: object) -> bool:
        return self.released_at is None and self.ends_on >= today  # type: ignore[operator]


class RetentionRun(TenantOwnedModel):
    """One de-identification of an organization's data: resumable, with per-category progress.

    `progress` is {label: {"cursor": last pk done, "done": rows changed, "total": rows due,
    "finished": bool}} keyed by the declaration's model label; a run that was killed is
    picked up by the next one from these cursors. `log` lists what was done, in order; its
    SHA-256 (`log_sha256`) goes into the certificate.
    """

    class Kind(models.TextChoices):
        TERMINATION = "termination", _("Terminated organization")

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        COMPLETED = "completed", _("Completed")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    rule = models.CharField(max_length=200)  # the rule it applied, in words
    due_on = models.DateField()
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    progress = models.JSONField(default=dict)
    log = models.JSONField(default=list)
    log_sha256 = models.CharField(max_length=64, blank=True)
    keys_destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # one de-identification per organization and kind: a second sweep resumes it
            models.UniqueConstraint(
                fields=["organization", "kind"], name="retention_run_one_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"Retention run {self.pk} ({self.kind}, {self.status})"

    @property
    def percent_done(self) -> int:
        total = sum(int(p.get("total", 0)) for p in self.progress.values())
        done = sum(int(p.get("done", 0)) for p in self.progress.values())
        if self.status == self.Status.COMPLETED:
            return 100
        return 0 if total == 0 else min(99, done * 100 // total)


class DeidentificationCertificate(TenantOwnedModel):
    """The signed statement that a run de-identified an organization's data.

    `document` is the certificate itself (categories, counts, date range, rule, run, times,
    the SHA-256 of the run's log; no personal data). `signature` is Ed25519 over its canonical
    JSON (retention.certificates), made with the platform's signing key, so anyone with the
    public key can verify it later; the PDF is rendered from the document on demand.
    """

    run = models.ForeignKey(
        RetentionRun, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    document = models.JSONField()
    document_sha256 = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=100)
    issued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "run"], name="certificate_one_per_run"),
        ]

    def __str__(self) -> str:
        return f"De-identification certificate {self.pk}"


class OrganizationRetention(Organization):
    """The ops admin's view of organizations for termination (retention.admin): a proxy, so
    its actions go through retention.termination's services."""

    class Meta:
        proxy = True
        verbose_name = "organization termination"
        verbose_name_plural = "organization terminations"


class AgedRecord(TenantOwnedModel):
    """A row the age-based rules (retention.aging) have de-identified in an active
    organization: the marker that keeps a second run from touching it again. Ids only.

    `model` is the declaration's label (e.g. "privacy_requests.PrivacyRequest"); a privacy
    request's marker also covers its events, messages and requester tokens (done with it in
    one transaction); "accounts.Membership" covers the member's invitations and API key names.
    """

    model = models.CharField(max_length=64)
    object_id = models.BigIntegerField()
    aged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "model", "object_id"], name="aged_record_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.object_id} aged out"
