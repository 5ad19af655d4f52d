"""Celery tasks: per-organization tasks, the fan-out of periodic sweeps, and periodic tasks.

A task that acts for one organization:

    @tenant_task(name="privacy_requests.send_reminder")
    def send_reminder(organization_id: int, request_id: int) -> None:
        privacy_request_remind(...)  # runs inside tenant_context(organization_id)

Tasks take ids (JSON only), never model instances. The decorator resolves the organization
and runs the body in its tenant context, so a task can no more skip the context than a view
can. An organization that no longer exists is logged and skipped rather than retried forever.

A periodic sweep (a beat schedule entry in k12cloud/celery.py) that fans out one tenant task
per organization, so that one tenant's failure stays its own:

    @periodic_task(name="privacy_requests.sweep_deadlines")
    def sweep_deadlines() -> int:
        return fan_out(track_deadlines)          # track_deadlines is a @tenant_task

    @tenant_task(name="privacy_requests.track_deadlines")
    def track_deadlines(organization_id: int) -> None:
        deadlines_track(organization=...)         # one idempotent service

`fan_out(task, *args)` lists the ids of active organizations (Organization is not tenant-owned,
so no tenant data is read) and enqueues `task.delay(organization_id, *args)` for each; it
returns how many it enqueued. `periodic_task` records each run (start, end, ok, error class) in
`notifications.TaskRun`, which ops staff read in the admin (docs/scheduled-work.md).

Only one beat sends the schedule (k12cloud.beat holds a Redis lock); still, every periodic task
and the services it calls must be idempotent: a run twice in the same hour changes nothing the
second time (reminders carry a dedupe key, the relay only sends pending rows).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from celery import shared_task

from k12cloud.tenancy import tenant_context

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


def tenant_task(**celery_options: Any) -> Callable[[Callable[..., R]], Any]:
    def decorator(function: Callable[..., R]) -> Any:
        @functools.wraps(function)
        def run_for_organization(organization_id: int, *args: Any, **kwargs: Any) -> R | None:
            from accounts.models import Organization

            if not Organization.objects.filter(pk=organization_id).exists():
                logger.warning(
                    "%s: organization %s is gone; skipping", function.__name__, organization_id
                )
                return None
            with tenant_context(organization_id):
                return function(organization_id, *args, **kwargs)

        return shared_task(**celery_options)(run_for_organization)

    return decorator


def active_organization_ids() -> list[int]:
    """Ids of the organizations a sweep works for (active ones), in a stable order."""
    from accounts.models import Organization

    return list(
        Organization.objects.filter(status=Organization.Status.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def fan_out(task: Any, *args: Any) -> int:
    """Enqueue `task(organization_id, *args)` once per active organization; return the count.

    `task` is a `@tenant_task`; `args` must be JSON values (ids, ISO dates).
    """
    organization_ids = active_organization_ids()
    for organization_id in organization_ids:
        task.delay(organization_id, *args)
    return len(organization_ids)


def periodic_task(*, name: str, **celery_options: Any) -> Callable[[Callable[..., R]], Any]:
    """A platform-level periodic task (beat): each run is recorded as a `TaskRun` row.

    The row is written in its own transaction before and after the body, so a failed run is
    recorded as failed (with the exception's class only: messages may carry personal data).
    """

    def decorator(function: Callable[..., R]) -> Any:
        @functools.wraps(function)
        def run_recorded(*args: Any, **kwargs: Any) -> R:
            from k12cloud.notifications.runs import task_run_finish, task_run_start

            run_id = task_run_start(name=name)
            try:
                result = function(*args, **kwargs)
            except BaseException as error:
                task_run_finish(run_id=run_id, error=error)
                raise
            task_run_finish(run_id=run_id, result=result)
            return result

        return shared_task(name=name, **celery_options)(run_recorded)

    return decorator
