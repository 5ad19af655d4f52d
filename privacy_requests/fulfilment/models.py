"""The response package of an access or portability request.

Imported at the end of privacy_requests.models, so the app registers it.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils import timezone

from k12cloud.encryption.fields import EncryptedTextField
from k12cloud.models import TenantOwnedModel


class ResponsePackage(TenantOwnedModel):
    """A ZIP of what the portal holds about a request's requester and subject.

    The ZIP itself is kept base64-encoded in an encrypted field, sealed under the organization's
    data key: rotation re-encrypts it like any other value, and crypto-shredding the
    organization's keys makes it unreadable. `contents` lists the files and their row counts
    only (no personal values), for the staff preview. `sha256` and `size` are of the ZIP bytes.
    """

    request = models.ForeignKey(
        "privacy_requests.PrivacyRequest",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # indexed with the organization (response_package_request)
    )
    content = EncryptedTextField()
    contents = models.JSONField(default=list)
    language = models.CharField(max_length=8, default="en")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    download_count = models.PositiveIntegerField(default=0)
    last_downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["organization", "request", "created_at"], name="response_package_request"
            )
        ]

    def __str__(self) -> str:
        return f"package {self.pk} of request {self.request_id}"

    def is_expired(self, now: datetime | None = None) -> bool:
        return (now or timezone.now()) >= self.expires_at
