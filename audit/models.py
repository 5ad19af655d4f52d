"""The audit log: one row per state change that matters. Append-only.

The runtime database role may only SELECT and INSERT here (k12cloud.database_roles), and a
trigger refuses UPDATE and DELETE for every role. Events of an organization are visible only
in its tenant context; platform events (no organization: sign-ins, MFA changes) only to ops.
A member's own sign-in and second-factor events are also copied onto their organizations'
chains (audit.services.MEMBER_COPIES).
Actors and targets are plain ids, not foreign keys: the log must outlive what it describes.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit.context import ActorKind


class AuditEvent(models.Model):
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        # the chain's unique (organization, sequence) and audit_org_time indexes lead with it
        db_index=False,
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
    # The hash chain (audit.chain): position in the organization's chain (or the platform's),
    # the previous event's hash and this event's. record() inserts an event unsealed (no
    # sequence, empty hashes); the sealer (audit.sealing) fills them once, with sealed_at,
    # shortly after commit. Events sealed as they were written (before sealing existed, or by
    # a migration) have no sealed_at. A trigger allows that one UPDATE and nothing else.
    sequence = models.BigIntegerField(null=True, blank=True)
    previous_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)
    sealed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # one event per position in each chain; also the index verification streams from.
            # Sealed events only: an unsealed one has no position yet, so record()'s INSERT
            # does not touch these indexes (the sealer's UPDATE adds the entry).
            models.UniqueConstraint(
                fields=["organization", "sequence"],
                condition=models.Q(organization__isnull=False, sequence__isnull=False),
                name="audit_org_chain_position",
            ),
            models.UniqueConstraint(
                fields=["sequence"],
                condition=models.Q(organization__isnull=True, sequence__isnull=False),
                name="audit_platform_chain_position",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-occurred_at", "-id"], name="audit_org_time"),
            # the audit page's filters, each in the page's order (newest first)
            models.Index(
                fields=["organization", "action", "-occurred_at", "-id"],
                name="audit_org_action_time",
            ),
            models.Index(
                fields=["organization", "actor_user_id", "-occurred_at", "-id"],
                name="audit_org_actor_time",
            ),
            models.Index(
                fields=["organization", "target_type", "target_id", "-occurred_at", "-id"],
                name="audit_org_target_time",
            ),
            # what the sealer reads: the few events not sealed yet, per chain, in id order
            models.Index(
                fields=["organization", "id"],
                condition=models.Q(sequence__isnull=True),
                name="audit_unsealed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"

    @property
    def sealed(self) -> bool:
        return self.sequence is not None


class AuditChainHead(models.Model):
    """The last sealed position and hash of each chain: one row per chain, locked by its sealer.

    Not append-only (every sealing moves it) and not trusted: verification never reads it. It
    makes sealing O(1) per event and serializes the sealers of one chain (audit.chain.lock_head).
    """

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        help_text="Empty for the platform chain.",
    )
    sequence = models.BigIntegerField()
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            # one row per chain, the platform's (no organization) included
            models.UniqueConstraint(
                Coalesce("organization", models.Value(0)), name="audit_chain_head_one_per_chain"
            ),
        ]

    def __str__(self) -> str:
        return f"head of {self.organization_id or 'platform'} at {self.sequence}"


class AuditCheckpoint(models.Model):
    """A signed statement that a chain had `sequence` events, the last one hashing to `hash`.

    Signed with an Ed25519 key from the environment (audit.checkpoints), which the database
    does not hold: rewriting a chain or cutting its tail no longer matches the checkpoint.
    Append-only like the events.
    """

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for the platform chain.",
    )
    sequence = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=100)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "sequence"], name="audit_checkpoint_chain"),
        ]

    def __str__(self) -> str:
        return f"checkpoint of {self.organization_id or 'platform'} at {self.sequence}"
