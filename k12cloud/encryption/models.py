"""An organization's keys, each wrapped (AES-256-GCM) under a master key.

Tenant-owned, under row-level security like the data they protect: a process acting for one
organization can read only that organization's wrapped keys (and still needs the master key
from the environment to use them).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from k12cloud.models import TenantOwnedModel


class OrganizationDataKey(TenantOwnedModel):
    """One version of one of an organization's keys.

    `data` keys encrypt field values; rotation adds a version and retires the previous one,
    which still decrypts until every row is re-encrypted (and for restored backups).
    The `index` key (blind indexes) does not rotate with the data key, so stored indexes keep
    matching. Destroying sets `wrapped_key` to NULL on every version of both purposes.
    """

    class Purpose(models.TextChoices):
        DATA = "data", "data"
        INDEX = "index", "blind index"

    purpose = models.CharField(max_length=8, choices=Purpose.choices)
    version = models.PositiveIntegerField()
    # nonce (12 bytes) + AES-GCM ciphertext and tag of the 32-byte key; NULL once destroyed
    wrapped_key = models.BinaryField(null=True, editable=False)
    master_key_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    retired_at = models.DateTimeField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "purpose", "version"], name="datakey_unique_version"
            ),
            models.UniqueConstraint(
                fields=["organization", "purpose"],
                condition=models.Q(retired_at__isnull=True, destroyed_at__isnull=True),
                name="datakey_one_current_per_purpose",
            ),
            models.CheckConstraint(
                name="datakey_destroyed_has_no_key",
                condition=models.Q(destroyed_at__isnull=True, wrapped_key__isnull=False)
                | models.Q(destroyed_at__isnull=False, wrapped_key__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} key v{self.version} of {self.organization_id}"
