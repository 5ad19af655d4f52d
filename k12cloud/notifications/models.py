"""Rows of the notification system: the email outbox (also the record of every email sent),
in-app notifications, and each member's delivery preference."""

from __future__ import annotations

from django.conf import settings
from django.core.mail.message import make_msgid
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from k12cloud.encryption.fields import EncryptedEmailField, EncryptedTextField
from k12cloud.models import TenantOwnedModel


class OutboundEmail(TenantOwnedModel):
    """One email: written in the transaction that caused it, sent by the relay after commit.

    The row stays as the record of what was sent (to, template, time, delivery status) and is
    shown on the timeline of the object it is about (`target_type`/`target_id`, as in the audit
    log). Address and bodies are personal data, so they are encrypted; the subject never holds
    a requester's personal data (the callers' templates promise it, tests check it).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    to = EncryptedEmailField()
    # where replies go (the Reply-To header): the organization's privacy contact on emails to
    # requesters (privacy_requests.contact); empty: no Reply-To
    reply_to = EncryptedEmailField(blank=True, null=True)
    template = models.CharField(max_length=120)
    subject = models.CharField(max_length=255)
    body_text = EncryptedTextField()
    body_html = EncryptedTextField(blank=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    # a caller's key for "this email once", e.g. "ack-reminder:<request id>:<due date>:<user id>"
    dedupe_key = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    # the Message-ID header we sent, so a re-send after a crash can be recognised downstream
    message_id = models.CharField(max_length=255, blank=True)
    last_error = models.CharField(max_length=500, blank=True)  # exception class and SMTP code
    # after a failed attempt: the relay leaves the row alone until then (exponential backoff)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="outbound_email_dedupe_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "target_type", "target_id", "created_at"],
                name="outbound_email_target",
            ),
            # the relay: pending rows, oldest first
            models.Index(
                fields=["organization", "created_at"],
                name="outbound_email_pending",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template} ({self.status})"

    @staticmethod
    def new_message_id() -> str:
        """A Message-ID for a new row; stored with it, so every retry sends the same one."""
        return make_msgid(domain=settings.NOTIFICATIONS_MESSAGE_ID_DOMAIN)


class Notification(TenantOwnedModel):
    """An in-app notice for one member (the bell). Titles name references, never requesters."""

    recipient = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=255)
    url = models.CharField(max_length=500, blank=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    dedupe_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    read_at = models.DateTimeField(null=True, blank=True)
    # members who chose a digest get these in the next digest email instead of one email each
    digest_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "recipient", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="notification_dedupe_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "recipient", "created_at"], name="notification_recipient"
            ),
            models.Index(
                fields=["organization", "recipient"],
                name="notification_unread",
                condition=Q(read_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class DeferredNotice(TenantOwnedModel):
    """A `notify()` call to make after commit (`notify_after_commit`): written in the
    transaction of the change, so it commits or rolls back with it, then fanned out (a bell
    notice per recipient and the emails) by a worker, or by the relay if the enqueue was lost.

    Holds what `notify()` is given; titles name references, never requesters, and the email
    context only links. `delivered_at` is set in the transaction that wrote the notices.
    """

    recipient_ids = models.JSONField()  # user ids, in the order given
    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=255)
    url = models.CharField(max_length=500, blank=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    email_template = models.CharField(max_length=120, blank=True)
    email_context = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=200, blank=True)
    urgent = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # the relay: undelivered rows, oldest first
            models.Index(
                fields=["organization", "created_at"],
                name="deferred_notice_pending",
                condition=Q(delivered_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({'delivered' if self.delivered_at else 'pending'})"


class NotificationPreference(TenantOwnedModel):
    """How one member wants to hear from one organization: each notice by email, or a digest."""

    class Delivery(models.TextChoices):
        IMMEDIATE = "immediate", _("An email for each notification")
        DIGEST = "digest", _("One digest email each morning")

    user = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    delivery = models.CharField(max_length=16, choices=Delivery.choices, default=Delivery.IMMEDIATE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="notification_preference_unique"
            ),
        ]


class TaskRun(models.Model):
    """One run of a periodic task (beat), for ops staff: when, how long, and whether it worked.

    Platform-level: a sweep runs for every organization and holds no tenant data. `error` is the
    exception's class only; exception messages can carry personal data.
    """

    name = models.CharField(max_length=120)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(null=True)  # None while running (or when the worker died)
    result = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["name", "-started_at"], name="task_run_latest")]
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.name} at {self.started_at:%Y-%m-%d %H:%M:%S}"
