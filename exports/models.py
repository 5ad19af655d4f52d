"""A full export of one organization's data (docs/exports.md).

One row per export: who asked and how, its progress (rows done of the total, for the page's
progress bar), and, once completed, where the ZIP lies in the `exports` storage (sealed under
the organization's data key, exports.crypto), its size and SHA-256, and when its link expires.
At most one export of an organization is queued or running at a time (a partial unique
constraint): a second request is refused with a message, not queued behind the first.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from k12cloud.models import TenantOwnedModel


class OrganizationExport(TenantOwnedModel):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    class Via(models.TextChoices):
        PORTAL = "portal", _("Portal")
        API = "api", _("API")
        COMMAND = "command", _("Ops command")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    via = models.CharField(max_length=12, choices=Via.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    rows_total = models.BigIntegerField(default=0)
    rows_done = models.BigIntegerField(default=0)
    # how many times a worker started it (a worker killed mid-export restarts it from scratch)
    attempts = models.PositiveSmallIntegerField(default=0)
    # the object in STORAGES["exports"] (ciphertext); empty until completed, and for the ops
    # command, which writes the plain ZIP to a path of its own
    storage_name = models.CharField(max_length=255, blank=True)
    key_version = models.PositiveIntegerField(null=True, blank=True)
    size = models.BigIntegerField(null=True, blank=True)  # of the ZIP, before encryption
    sha256 = models.CharField(max_length=64, blank=True)  # of the ZIP, before encryption
    # the exception's class only: messages may carry personal data
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    download_count = models.PositiveIntegerField(default=0)
    last_downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(status__in=["queued", "running"]),
                name="export_one_active_per_organization",
            )
        ]
        indexes = [models.Index(fields=["organization", "created_at"], name="export_history")]

    def __str__(self) -> str:
        return f"export {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def percent(self) -> int:
        if self.status == self.Status.COMPLETED:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)

    def is_downloadable(self, now: datetime | None = None) -> bool:
        return (
            self.status == self.Status.COMPLETED
            and bool(self.storage_name)
            and self.expires_at is not None
            and (now or timezone.now()) < self.expires_at
        )
