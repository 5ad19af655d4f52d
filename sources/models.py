"""An organization's student-information-system (SIS) data sources and what they hold.

- `DataSource`: a OneRoster 1.2 CSV bulk package upload, or a OneRoster 1.2 REST connection
  (its client secret encrypted with the organization's key).
- `SourceImport`: one load of a source (an uploaded package, or one student fetched over REST):
  who, when, file name, SHA-256, row counts per file, status and the errors found.
- `SisRecord`: one OneRoster row (a user, an enrollment, a class, a result, ...) as it came,
  encrypted with the organization's key. Joins between rows (an enrollment's user and class)
  go through blind indexes of the sourcedIds, never through plaintext.
- `SisLookupKey`: the blind indexes staff search users by (sourcedId, identifier, userIds,
  email, name with birth date), each pointing at a user row.
- `StudentLink`: a person confirmed as the subject of a privacy request (with the guardianship
  check), and, for deletion requests, when the district recorded the SIS deletion as done.

All personal values are ciphertext at rest; lookups compare HMACs (k12cloud.encryption).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from k12cloud.encryption.fields import BlindIndexField, EncryptedTextField
from k12cloud.models import TenantOwnedModel


class DataSource(TenantOwnedModel):
    class Kind(models.TextChoices):
        ONEROSTER_CSV = "oneroster_csv", _("OneRoster 1.2 CSV package")
        ONEROSTER_REST = "oneroster_rest", _("OneRoster 1.2 REST connection")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=120)
    # REST connections only
    base_url = models.URLField(_("base URL"), blank=True, help_text=_("e.g. https://sis.example"))
    token_url = models.URLField(_("token URL"), blank=True)
    client_id = models.CharField(_("client id"), max_length=200, blank=True)
    client_secret = EncryptedTextField(_("client secret"), blank=True)
    scopes = models.CharField(
        _("scopes"),
        max_length=400,
        blank=True,
        default=(
            "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly "
            "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-demographics.readonly "
            "https://purl.imsglobal.org/spec/or/v1p2/scope/gradebook.readonly"
        ),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="data_source_name_unique_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.name


class SourceImport(TenantOwnedModel):
    class Status(models.TextChoices):
        RUNNING = "running", _("Importing")
        SUCCEEDED = "succeeded", _("Imported")
        FAILED = "failed", _("Refused")
        REPLACED = "replaced", _("Replaced by a newer import")
        EXPIRED = "expired", _("Removed after the retention period")

    source = models.ForeignKey(
        DataSource, on_delete=models.CASCADE, related_name="imports", db_index=False
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    oneroster_version = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    # rows per file, e.g. {"users.csv": 50321}; never personal values
    counts = models.JSONField(default=dict, blank=True)
    # [{"file": "users.csv", "line": 12, "field": "sourcedId", "message": "..."}]: the
    # messages name files, lines and fields, never the values found there
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [
            models.Index(
                fields=["organization", "source", "status", "-started_at"],
                name="source_import_latest",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.started_at:%Y-%m-%d %H:%M}"


class SisRecord(TenantOwnedModel):
    """One OneRoster row, as the SIS sent it (decrypted `data` is the row's fields)."""

    class Kind(models.TextChoices):
        ORG = "org", "orgs"
        ACADEMIC_SESSION = "academicSession", "academicSessions"
        CLASS = "class", "classes"
        USER = "user", "users"
        ROLE = "role", "roles"
        DEMOGRAPHICS = "demographics", "demographics"
        ENROLLMENT = "enrollment", "enrollments"
        LINE_ITEM = "lineItem", "lineItems"
        RESULT = "result", "results"

    source_import = models.ForeignKey(
        SourceImport, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # HMAC of the row's own sourcedId, and of the user it is about (enrollments, roles,
    # results, demographics): joins without plaintext
    sourced_id_index = models.CharField(max_length=64)
    person_index = models.CharField(max_length=64, blank=True)
    data = EncryptedTextField()

    class Meta:
        indexes = [
            models.Index(
                fields=["organization", "source_import", "kind", "sourced_id_index"],
                name="sis_record_by_id",
            ),
            models.Index(
                fields=["organization", "source_import", "person_index"],
                name="sis_record_by_person",
                condition=~models.Q(person_index=""),
            ),
        ]

    @property
    def fields(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.data)
        return value


class SisLookupKey(TenantOwnedModel):
    """A way staff may find a user row: the HMAC of one of its identifiers."""

    class Kind(models.TextChoices):
        SOURCED_ID = "sourced_id", _("sourcedId")
        IDENTIFIER = "identifier", _("identifier")
        USER_ID = "user_id", _("userIds")
        EMAIL = "email", _("email")
        NAME_BIRTH_DATE = "name_birth_date", _("name and birth date")

    source_import = models.ForeignKey(
        SourceImport, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    record = models.ForeignKey(
        SisRecord, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value_index = models.CharField(max_length=64)

    class Meta:
        indexes = [
            models.Index(
                fields=["organization", "value_index", "kind"], name="sis_lookup_by_value"
            ),
            models.Index(fields=["organization", "source_import"], name="sis_lookup_by_import"),
            models.Index(fields=["organization", "record"], name="sis_lookup_by_record"),
        ]


class StudentLink(TenantOwnedModel):
    """The SIS person staff confirmed as a privacy request's subject."""

    class Guardianship(models.TextChoices):
        NOT_CHECKED = "not_checked", _("Not checked")
        CONFIRMED = "confirmed", _("The requester is a guardian linked in the SIS")
        NOT_FOUND = "not_found", _("The SIS links no guardian with the requester's email")
        NO_AGENTS = "no_agents", _("The SIS provides no guardian links for this student")

    request = models.ForeignKey(
        "privacy_requests.PrivacyRequest",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    source = models.ForeignKey(
        DataSource, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # the rows seen at confirmation; an import that expires (retention) leaves the link, which
    # finds the person again in the source's latest import by `sourced_id_index`
    source_import = models.ForeignKey(
        SourceImport, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    record = models.ForeignKey(
        SisRecord, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # what staff saw when they confirmed, kept with the link (encrypted): name, school, grade
    summary = EncryptedTextField(blank=True)
    sourced_id = EncryptedTextField()
    sourced_id_index = BlindIndexField(source="sourced_id", kind="identifier")
    guardianship = models.CharField(
        max_length=16, choices=Guardianship.choices, default=Guardianship.NOT_CHECKED
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    confirmed_at = models.DateTimeField(default=timezone.now)
    # deletion requests: the district deleted the records in its SIS and said so here
    sis_deletion_recorded_at = models.DateTimeField(null=True, blank=True)
    sis_deletion_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    sis_deletion_note = EncryptedTextField(blank=True)

    class Meta:
        ordering = ["confirmed_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "request", "source"], name="student_link_one_per_source"
            )
        ]
        indexes = [models.Index(fields=["organization", "request"], name="student_link_request")]
