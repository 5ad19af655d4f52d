"""Recording periodic task runs (`TaskRun`), each write in its own short transaction."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from k12cloud.notifications.models import TaskRun


def task_run_start(*, name: str) -> int:
    with transaction.atomic():
        return TaskRun.objects.create(name=name, started_at=timezone.now()).pk


def task_run_finish(
    *, run_id: int, result: object = None, error: BaseException | None = None
) -> None:
    with transaction.atomic():
        TaskRun.objects.filter(pk=run_id).update(
            finished_at=timezone.now(),
            ok=error is None,
            result="" if result is None else str(result)[:200],
            error="" if error is None else type(error).__name__,
        )


def task_runs_prune() -> int:
    """Delete runs older than TASK_RUNS_KEEP_DAYS; returns how many."""
    cutoff = timezone.now() - timedelta(days=settings.TASK_RUNS_KEEP_DAYS)
    deleted, _ = TaskRun.objects.filter(started_at__lt=cutoff).delete()
    return deleted


def task_runs_latest() -> list[TaskRun]:
    """The latest run of each periodic task, by name (one query)."""
    return list(TaskRun.objects.order_by("name", "-started_at").distinct("name"))
