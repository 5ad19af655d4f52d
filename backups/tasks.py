"""Beat tasks (k12cloud/celery.py): the daily backup with its pruning, the monthly drill."""

from __future__ import annotations

from backups.models import Backup, RestoreDrill
from backups.services import BackupFailed, backup_create, backups_prune, restore_drill_run
from k12cloud.tasks import periodic_task

# a dump of a large database takes a while: well past the default limits, and below the
# broker's visibility timeout (CELERY_VISIBILITY_TIMEOUT, 7 h) so it is never run twice at once
LONG = {"soft_time_limit": 5 * 3600, "time_limit": 6 * 3600}


@periodic_task(name="backups.backup_daily", **LONG)
def backup_daily() -> int:
    """Back up, then prune by retention; a failed backup prunes nothing (ops are emailed)."""
    try:
        backup = backup_create(trigger=Backup.Trigger.SCHEDULED)
    except BackupFailed:
        return 0
    backups_prune()
    return backup.pk


@periodic_task(name="backups.restore_drill_monthly", **LONG)
def restore_drill_monthly() -> str:
    drill = restore_drill_run(trigger=RestoreDrill.Trigger.SCHEDULED)
    return f"{drill.pk}:{drill.status}"
