"""A district's EdTech vendors and the tasks it forwards to them (docs/vendors.md).

District side (the district's tenant):
- `Vendor`: the registry row, with the data processing agreement (DPA) in force and its
  response terms; optionally the vendor's own organization on this portal.
- `VendorPolicy`: the district's margin before its own deadline (business days).
- `VendorTask`: one request forwarded to one vendor, with the identifiers shared (only those
  the district chose), the instructions, its own due date, and the vendor's answer.

Vendor side (the vendor's tenant, when the vendor is an organization here):
- `VendorTaskReceipt`: what crossed the tenant line: the district's name, the shared
  identifiers, the instructions, the kind and the due date. Nothing else of the request.

`VendorFile` holds an export or a certificate of disposition on either side, sealed under the
owning organization's key (base64 in an encrypted field, like response packages).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from k12cloud.encryption.fields import EncryptedTextField
from k12cloud.models import TenantOwnedModel

# National Data Privacy Agreement (Student Data Privacy Consortium) defaults
DEFAULT_ACCESS_RESPONSE_DAYS = 45
DEFAULT_DISPOSAL_DAYS = 60
DEFAULT_MARGIN_BUSINESS_DAYS = 5


class Vendor(TenantOwnedModel):
    name = models.CharField(_("name"), max_length=200)
    services = models.TextField(_("services"), blank=True)
    data_categories = ArrayField(
        models.CharField(max_length=80), default=list, blank=True, verbose_name=_("data categories")
    )
    # one address a line; a vendor's contact people are personal data
    contact_emails = EncryptedTextField(_("contact email addresses"), blank=True)
    dpa_signed_on = models.DateField(_("DPA signed on"), null=True, blank=True)
    dpa_expires_on = models.DateField(_("DPA expires on"), null=True, blank=True)
    access_response_days = models.PositiveSmallIntegerField(
        _("days to answer an access request"), default=DEFAULT_ACCESS_RESPONSE_DAYS
    )
    disposal_days = models.PositiveSmallIntegerField(
        _("days to dispose of data"), default=DEFAULT_DISPOSAL_DAYS
    )
    # the vendor's own organization on this portal: tasks go to its queue, not by email
    portal_organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("organization on k-12.cloud"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="vendor_name_unique"),
            models.CheckConstraint(
                name="vendor_terms_positive",
                condition=Q(access_response_days__gte=1, disposal_days__gte=1),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def contact_email_list(self) -> list[str]:
        return [line.strip() for line in (self.contact_emails or "").splitlines() if line.strip()]


class VendorPolicy(TenantOwnedModel):
    """The district's forwarding settings (one row per organization, made on first save)."""

    margin_business_days = models.PositiveSmallIntegerField(
        _("margin before our deadline (business days)"), default=DEFAULT_MARGIN_BUSINESS_DAYS
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="vendor_policy_one_per_org")
        ]


class TaskKind(models.TextChoices):
    ACCESS_EXPORT = "access_export", _("Access: export the student's data")
    DELETION_CERTIFICATE = "deletion_certificate", _("Deletion, with a certificate of disposition")
    CORRECTION = "correction", _("Correction")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Waiting for the vendor")
    ANSWERED = "answered", _("Answered")
    SKIPPED = "skipped", _("Skipped")


class AnswerKind(models.TextChoices):
    EXPORT = "export", _("Export provided")
    DELETION_ATTESTED = "deletion_attested", _("Deletion attested, certificate attached")
    CORRECTED = "corrected", _("Correction made")
    NO_RECORDS = "no_records", _("No records")


class Delivery(models.TextChoices):
    PORTAL = "portal", _("In the vendor's k-12.cloud queue")
    EMAIL = "email", _("By email link")


# the request's fields a district may share with a vendor, and "student_id", the district's
# own student number (typed by staff). Nothing is shared unless staff tick it.
SHAREABLE_IDENTIFIERS: dict[str, Any] = {
    "subject_name": _("Student's name"),
    "subject_birth_date": _("Student's birth date"),
    "subject_school": _("School"),
    "student_id": _("Student ID"),
    "requester_name": _("Requester's name"),
    "requester_email": _("Requester's email"),
}


# which answers fit which kind of task
ANSWERS_FOR_KIND: dict[str, tuple[str, ...]] = {
    TaskKind.ACCESS_EXPORT: (AnswerKind.EXPORT, AnswerKind.NO_RECORDS),
    TaskKind.DELETION_CERTIFICATE: (AnswerKind.DELETION_ATTESTED, AnswerKind.NO_RECORDS),
    TaskKind.CORRECTION: (AnswerKind.CORRECTED, AnswerKind.NO_RECORDS),
}
# answers that must come with a file
ANSWERS_WITH_FILE = (AnswerKind.EXPORT, AnswerKind.DELETION_ATTESTED)


class _AnswerFields(models.Model):
    """The answer, the same on both sides of the hand-off."""

    kind = models.CharField(max_length=24, choices=TaskKind.choices)
    status = models.CharField(max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    due_on = models.DateField()
    identifiers = EncryptedTextField()  # JSON object: only what the district chose to share
    instructions = EncryptedTextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answer_kind = models.CharField(max_length=24, choices=AnswerKind.choices, blank=True)
    answer_note = EncryptedTextField(blank=True)  # the reason for "no records", or a remark
    responder_name = EncryptedTextField(blank=True)
    responder_email = EncryptedTextField(blank=True)

    class Meta:
        abstract = True

    @property
    def identifier_items(self) -> list[tuple[str, str]]:
        data: dict[str, Any] = json.loads(self.identifiers or "{}")
        return [(str(SHAREABLE_IDENTIFIERS.get(k, k)), str(v)) for k, v in data.items()]

    @property
    def is_open(self) -> bool:
        return self.status == TaskStatus.OPEN


class VendorTask(TenantOwnedModel, _AnswerFields):
    """A district's request forwarded to one of its vendors (the district's tenant)."""

    reference = models.CharField(max_length=16, editable=False)
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    request = models.ForeignKey(
        "privacy_requests.PrivacyRequest",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    delivery = models.CharField(max_length=8, choices=Delivery.choices)
    forwarded_at = models.DateTimeField(default=timezone.now)
    forwarded_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # the due date the vendor's terms give, before the cap (shown beside `due_on`)
    terms_due_on = models.DateField()
    # the vendor's copy, when the vendor is an organization here (ids and codes only)
    receipt_organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    receipt_reference = models.CharField(max_length=16, blank=True)
    skipped_at = models.DateTimeField(null=True, blank=True)
    skipped_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    skip_reason = EncryptedTextField(blank=True)
    # the request was closed while this task was open: why (the closer's words) and when
    closed_open_reason = EncryptedTextField(blank=True)
    closed_open_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # the off-portal vendor's single-use link and re-open code (hashes only)
    link_token_hash = models.CharField(max_length=64, blank=True)
    link_expires_at = models.DateTimeField(null=True, blank=True)
    link_used_at = models.DateTimeField(null=True, blank=True)
    code_hash = models.CharField(max_length=64, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "reference"], name="vendor_task_reference_unique"
            ),
            models.UniqueConstraint(
                fields=["organization", "link_token_hash"],
                name="vendor_task_link_unique",
                condition=~Q(link_token_hash=""),
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "request"], name="vendor_task_request"),
            models.Index(
                fields=["organization", "due_on"],
                name="vendor_task_open_due",
                condition=Q(status="open"),
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()


class VendorTaskReceipt(TenantOwnedModel, _AnswerFields):
    """A forwarded task in the vendor's own queue (the vendor's tenant).

    Holds only what the district shared: its name, the identifiers it chose, the
    instructions, the kind and the due date, and the district task's reference to answer to.
    """

    reference = models.CharField(max_length=16, editable=False)
    from_organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    from_organization_name = models.CharField(max_length=200)
    from_task_reference = models.CharField(max_length=16)
    received_at = models.DateTimeField(default=timezone.now)
    answered_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "reference"], name="vendor_receipt_reference_unique"
            ),
            models.UniqueConstraint(
                fields=["organization", "from_organization", "from_task_reference"],
                name="vendor_receipt_one_per_task",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "due_on"], name="vendor_receipt_queue")
        ]

    def __str__(self) -> str:
        return self.reference


class VendorFile(TenantOwnedModel):
    """An export or a certificate of disposition, sealed under the owning organization's key."""

    class Purpose(models.TextChoices):
        EXPORT = "export", _("Export")
        CERTIFICATE = "certificate", _("Certificate of disposition")
        OTHER = "other", _("Supporting file")

    task = models.ForeignKey(
        VendorTask,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    receipt = models.ForeignKey(
        VendorTaskReceipt,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    purpose = models.CharField(max_length=12, choices=Purpose.choices)
    name = EncryptedTextField()  # a file name can carry a student's name
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    content = EncryptedTextField()  # base64 of the bytes
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="vendor_file_one_owner",
                condition=(Q(task__isnull=False) & Q(receipt__isnull=True))
                | (Q(task__isnull=True) & Q(receipt__isnull=False)),
            )
        ]
        indexes = [
            models.Index(fields=["organization", "task"], name="vendor_file_task"),
            models.Index(fields=["organization", "receipt"], name="vendor_file_receipt"),
        ]

    def __str__(self) -> str:
        return f"vendor file {self.pk}"
