"""Backups of the whole database and the restore drills that prove them (platform records).

Neither belongs to a tenant: a backup holds every organization's rows, and only ops staff see
these records (the ops admin). They carry no personal data: names, sizes, hashes, counts.
"""

from __future__ import annotations

from django.db import models


class Backup(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"

    class Trigger(models.TextChoices):
        SCHEDULED = "scheduled", "scheduled (beat)"
        MANUAL = "manual", "manual (manage.py backup)"

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    # the name in the "backups" storage (STORAGES["backups"]); empty until something is stored
    storage_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, help_text="of the encrypted file")
    key_fingerprint = models.CharField(max_length=16, blank=True)
    server_version = models.CharField(max_length=64, blank=True)
    # time, size, SHA-256, server version, applied migrations, per-table row counts
    manifest = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["status", "-started_at"], name="backups_status_started")]

    def __str__(self) -> str:
        return f"backup {self.pk} of {self.started_at:%Y-%m-%d %H:%M} UTC ({self.status})"


class RestoreDrill(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "running"
        PASSED = "passed", "passed"
        FAILED = "failed", "failed"

    class Trigger(models.TextChoices):
        SCHEDULED = "scheduled", "scheduled (beat)"
        ON_DEMAND = "on_demand", "on demand (manage.py restore_drill)"

    # SET_NULL: pruning a backup must not erase the history of the drills that tested it
    backup = models.ForeignKey(
        Backup, null=True, blank=True, on_delete=models.SET_NULL, related_name="drills"
    )
    backup_label = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    scratch_database = models.CharField(max_length=63, blank=True)
    failed_step = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    # [{"step": ..., "seconds": ..., "ok": ..., "detail": ...}] in the order they ran
    steps = models.JSONField(default=list, blank=True)
    # recovery point: how old the backup was when the drill started (data that would be lost);
    # recovery time: how long fetching, decrypting, restoring and checking it took
    recovery_point_seconds = models.FloatField(null=True, blank=True)
    recovery_time_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"restore drill {self.pk} of {self.started_at:%Y-%m-%d %H:%M} UTC ({self.status})"
