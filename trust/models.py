"""The trust center's data (docs/trust-center.md).

Platform data, the same for every tenant (tests/test_architecture.py PLATFORM_MODELS):
document versions (the DPA, the privacy policy, the terms, the subprocessor list), maintenance
windows and the minute-by-minute health checks behind the status page.

Tenant-owned, under row-level security: an organization's DPA acceptances, its objections to a
version, and its members' dismissals of banners.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from k12cloud.encryption.fields import EncryptedTextField
from k12cloud.models import TenantOwnedModel


class DocumentKind(models.TextChoices):
    DPA = "dpa", _("Data Processing Addendum")
    PRIVACY = "privacy", _("Privacy policy")
    TERMS = "terms", _("Terms of service")
    SUBPROCESSORS = "subprocessors", _("Subprocessors")


class DocumentVersion(models.Model):
    """One version of a document. A draft until published; published, it never changes.

    The database refuses an UPDATE of a published row's content and any DELETE of a published
    row (trigger `trust_documentversion_immutable`, migration 0002); the admin and the service
    refuse them first with a readable message.
    """

    document = models.CharField(_("document"), max_length=16, choices=DocumentKind.choices)
    # assigned when published: 1, 2, 3... per document (the stable address /trust/<doc>/v<n>/)
    number = models.PositiveIntegerField(_("version number"), null=True, blank=True, editable=False)
    body = models.TextField(_("body (Markdown)"))
    summary = models.TextField(_("summary of changes"), blank=True)
    material = models.BooleanField(
        _("material change"),
        default=False,
        help_text=_("Material changes need at least 30 days' notice before they take effect."),
    )
    effective_on = models.DateField(
        _("effective on (UTC date)"), help_text=_("Takes effect at 00:00 UTC on this date.")
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)
    content_hash = models.CharField(
        _("content hash (SHA-256)"), max_length=64, blank=True, editable=False
    )
    # bookkeeping the notice sweep writes after publishing (allowed by the trigger)
    notices_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminder_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["document", "-number", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "number"], name="trust_version_number_unique_per_document"
            ),
            models.CheckConstraint(
                name="trust_version_published_has_number_and_hash",
                condition=models.Q(published_at__isnull=True)
                | (models.Q(number__isnull=False) & ~models.Q(content_hash="")),
            ),
        ]

    def __str__(self) -> str:
        label = f"v{self.number}" if self.number else "draft"
        return f"{self.get_document_display()} {label}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def compute_hash(self) -> str:
        """SHA-256 over what the version says: document, body, summary, materiality, date."""
        canonical = "\n".join(
            [
                self.document,
                self.effective_on.isoformat(),
                "material" if self.material else "minor",
                self.summary.replace("\r\n", "\n"),
                self.body.replace("\r\n", "\n"),
            ]
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


class MaintenanceKind(models.TextChoices):
    PLANNED = "planned", _("Planned maintenance")
    EMERGENCY = "emergency", _("Emergency maintenance")


class Service(models.TextChoices):
    WEB = "web", _("Web portal")
    API = "api", _("API")
    BACKGROUND = "background", _("Background work")
    EMAIL = "email", _("Email delivery")


class MaintenanceWindow(models.Model):
    """A window of maintenance: planned (7 days' notice, 8 hours a year) or emergency."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CANCELLED = "cancelled", _("Cancelled")

    kind = models.CharField(
        _("kind"), max_length=16, choices=MaintenanceKind.choices, default=MaintenanceKind.PLANNED
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    services = ArrayField(
        models.CharField(max_length=16, choices=Service.choices),
        verbose_name=_("services affected"),
        default=list,
    )
    summary = models.TextField(_("summary"))
    reason = models.TextField(_("reason (emergency maintenance)"), blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    # bumped when the window moves, so that notices about the new times are sent again
    revision = models.PositiveIntegerField(default=1, editable=False)
    reminder_sent_for_revision = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                name="trust_maintenance_ends_after_start",
                condition=models.Q(ends_at__gt=models.F("starts_at")),
            ),
        ]
        indexes = [models.Index(fields=["starts_at"], name="trust_maintenance_start")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_at:%Y-%m-%d %H:%M} UTC"

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    def service_labels(self) -> list[str]:
        return [str(Service(s).label) for s in self.services]


class HealthCheck(models.Model):
    """One minute's check of the platform, recorded by the beat task `trust.record_health`."""

    minute = models.DateTimeField(unique=True)  # UTC, truncated to the minute
    web = models.BooleanField()
    database = models.BooleanField()
    redis = models.BooleanField()
    worker = models.BooleanField()
    beat = models.BooleanField()
    email = models.BooleanField(default=True)

    class Meta:
        ordering = ["-minute"]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {'up' if self.portal_up else 'down'}"

    @property
    def portal_up(self) -> bool:
        """The portal (web pages and the API) answers: what the 99.9 % commitment measures."""
        return self.web and self.database and self.redis


# --- tenant-owned -----------------------------------------------------------------------------


class DpaAcceptance(TenantOwnedModel):
    """An organization admin accepted one DPA version for the organization."""

    version = models.ForeignKey(
        DocumentVersion, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # SET_NULL: the record outlives a deleted account (the audit event names the actor too)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    accepted_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    version_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "version"], name="trust_dpa_accepted_once_per_version"
            ),
        ]

    def __str__(self) -> str:
        return f"DPA acceptance {self.pk}"

    @property
    def receipt_number(self) -> str:
        """Printed on the PDF receipt."""
        return f"DPA-{self.organization_id}-{self.pk}"


class DocumentObjection(TenantOwnedModel):
    """An organization admin objected to a version before it took effect (shown to ops)."""

    version = models.ForeignKey(
        DocumentVersion, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # SET_NULL: the record outlives a deleted account (the audit event names the actor too)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    text = EncryptedTextField(_("objection"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["organization", "version"], name="trust_objection_version")]

    def __str__(self) -> str:
        return f"Objection {self.pk}"


class BannerDismissal(TenantOwnedModel):
    """A member closed one banner (a notice or a maintenance window) in this organization."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=64)  # "version:<id>" or "maintenance:<id>:<revision>"
    dismissed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "key"], name="trust_banner_dismissed_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} dismissed"
