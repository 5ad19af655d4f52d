"""Celery tasks of the notification system.

- `send_outbound_email(organization_id, email_id)`: send one outbox row (idempotent); retried
  with exponential backoff and jitter when the mail server or the database fails transiently.
- `notifications.fan_out_pending` and `notifications.fan_out_notice` (in `fan_out.py`, listed
  in CELERY_IMPORTS: importing them here would tie this module to `services`, which enqueues
  from here).
- `relay_outbox()` (beat, every minute): send rows left pending, and fan out deferred notices
  left pending, e.g. by a process that died between its commit and the enqueue.
- `prune_task_runs()` (beat, daily): forget old periodic task runs.
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from k12cloud.notifications.relay import outbox_relay
from k12cloud.notifications.runs import task_runs_prune
from k12cloud.notifications.sending import (
    RETRY_BACKOFF_MAX_SECONDS,
    RETRY_BACKOFF_SECONDS,
    OutboundEmailNotSent,
    outbound_email_attempt,
)
from k12cloud.tasks import periodic_task
from k12cloud.tenancy import tenant_context


@shared_task(
    name="notifications.send_outbound_email",
    autoretry_for=(OutboundEmailNotSent, OperationalError, InterfaceError),
    retry_backoff=RETRY_BACKOFF_SECONDS,
    retry_backoff_max=RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=8,
    soft_time_limit=60,
    time_limit=90,
)
def send_outbound_email(organization_id: int, email_id: int) -> bool:
    # Not @tenant_task: the failed attempt must be committed before the retry is raised, so
    # the context (its transaction) closes first and the retry is raised outside it.
    with tenant_context(organization_id):
        outcome = outbound_email_attempt(email_id=email_id)
    if outcome.retry:
        raise OutboundEmailNotSent(outcome.error)
    return outcome.sent


@periodic_task(name="notifications.relay_outbox", soft_time_limit=50, time_limit=60)
def relay_outbox() -> int:
    return outbox_relay()


@periodic_task(name="notifications.prune_task_runs")
def prune_task_runs() -> int:
    return task_runs_prune()
