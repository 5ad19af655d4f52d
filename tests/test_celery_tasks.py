"""The task helpers: fan-out per organization, periodic runs recorded, reliability settings."""

from __future__ import annotations

from typing import Any

import pytest
from celery.beat import PersistentScheduler
from django.conf import settings
from django.utils import timezone

from accounts.models import Organization
from accounts.tests.factories import OrganizationFactory
from k12cloud import tenancy
from k12cloud.beat import SingleBeatScheduler
from k12cloud.celery import app
from k12cloud.notifications.models import TaskRun
from k12cloud.tasks import fan_out, periodic_task, tenant_task

pytestmark = pytest.mark.django_db

seen: list[tuple[int, int | None, str]] = []


@tenant_task(name="tests.remember_context")
def remember_context(organization_id: int, label: str) -> None:
    seen.append((organization_id, tenancy.current().organization_id, label))


@periodic_task(name="tests.sweep")
def sweep(label: str) -> int:
    return fan_out(remember_context, label)


@periodic_task(name="tests.broken_sweep")
def broken_sweep() -> None:
    raise LookupError("a personal value that must not be stored: rosa@example.org")


@pytest.fixture
def eager() -> Any:
    app.conf.task_always_eager = True  # Celery runs .delay() here: no broker in this test
    seen.clear()
    yield
    app.conf.task_always_eager = False


def test_fan_out_runs_one_tenant_task_per_active_organization(eager: None) -> None:
    first, second = OrganizationFactory.create(), OrganizationFactory.create()
    OrganizationFactory.create(status=Organization.Status.TERMINATED, terminated_at=timezone.now())
    assert sweep.apply(args=["hourly"]).get() == 2
    assert seen == [(first.pk, first.pk, "hourly"), (second.pk, second.pk, "hourly")]
    [run] = TaskRun.objects.filter(name="tests.sweep")
    assert run.ok is True and run.result == "2" and run.finished_at is not None


def test_a_failed_periodic_run_is_recorded_with_the_error_class_only() -> None:
    result = broken_sweep.apply()
    assert result.failed()
    [run] = TaskRun.objects.filter(name="tests.broken_sweep")
    assert run.ok is False
    assert run.error == "LookupError"
    assert run.finished_at is not None


def test_reliability_settings() -> None:
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    assert conf.task_time_limit and conf.task_soft_time_limit
    longest = max(
        task.time_limit or conf.task_time_limit
        for name, task in app.tasks.items()
        if not name.startswith("celery.")
    )
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > longest
    assert issubclass(SingleBeatScheduler, PersistentScheduler)
    assert conf.beat_scheduler == "k12cloud.beat:SingleBeatScheduler"


def test_the_send_task_retries_transient_failures_with_backoff_and_jitter() -> None:
    from k12cloud.notifications.tasks import send_outbound_email

    task: Any = send_outbound_email
    assert task.retry_backoff and task.retry_jitter
    names = {error.__name__ for error in task.autoretry_for}
    assert names == {"OutboundEmailNotSent", "OperationalError", "InterfaceError"}
