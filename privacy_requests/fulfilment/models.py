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


class EvidenceFile(TenantOwnedModel):
    """A file staff gathered elsewhere (a scan, a spreadsheet from another system) and attach to
    a request's package, as they will share it: redaction is the organization's job, before
    the upload.

    The bytes are kept base64-encoded in an encrypted field under the organization's data key,
    like the package; the file's name and description are encrypted too (a name often names
    the child). `kind` is what the bytes are (k12cloud.uploads.sniff), never what the name says.
    """

    request = models.ForeignKey(
        "privacy_requests.PrivacyRequest",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # indexed with the organization (evidence_file_request)
    )
    content = EncryptedTextField()
    file_name = EncryptedTextField()
    description = EncryptedTextField(blank=True, default="")
    kind = models.CharField(max_length=16)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    added_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [
            models.Index(
                fields=["organization", "request", "added_at"], name="evidence_file_request"
            )
        ]

    def __str__(self) -> str:
        return f"evidence file {self.pk} of request {self.request_id}"
