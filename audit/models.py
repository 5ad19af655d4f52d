"""The audit log: one row per state change that matters. Append-only.

The runtime database role may only SELECT and INSERT here (k12cloud.database_roles), and a
trigger refuses UPDATE and DELETE for every role. Events of an organization are visible only
in its tenant context; platform events (no organization: sign-ins, MFA changes) only to ops.
Actors and targets are plain ids, not foreign keys: the log must outlive what it describes.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from audit.context import ActorKind


class AuditEvent(models.Model):
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for platform events (sign-ins, second factors, ops actions).",
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_api_key_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    # field names and non-personal values only (see audit.services.record)
    changes = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "-occurred_at", "-id"], name="audit_org_time"),
            models.Index(fields=["action", "-occurred_at"], name="audit_action_time"),
            models.Index(fields=["actor_user_id", "-occurred_at"], name="audit_actor_time"),
        ]

    def __str__(self) -> str:
        return f"{self.action} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"
