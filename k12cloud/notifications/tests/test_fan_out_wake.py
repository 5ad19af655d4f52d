"""Deferred notices wake their organization's fan-out once, not once per commit (issue #20):
the first commit takes the wake-up and publishes `fan_out_pending`; commits while that task
waits publish nothing, and the task fans all of them out. Real Redis (cache and broker), real
worker, committed rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.test import override_settings

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from k12cloud.notifications.deferred import notify_after_commit
from k12cloud.notifications.fan_out import fan_out_pending, fan_out_wake_key
from k12cloud.notifications.models import DeferredNotice, Notification
from k12cloud.notifications.tests import processes
from k12cloud.tenancy import tenant_context

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory.create()


@pytest.fixture
def officer(org: Organization) -> User:
    return member(org, Role.PRIVACY_OFFICER, email="olga@lincoln.example")


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue of this test's own, which this process publishes to as well."""
    with processes.publishing_to_new_queue() as name:
        yield name


def _waiting(queue: str) -> int:
    """Messages waiting in the broker's queue (a Redis list)."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        return int(broker.llen(queue))
    finally:
        broker.close()


def _commit_notice(org: Organization, officer: User, n: int) -> None:
    with (
        override_settings(NOTIFICATIONS_DELIVERY="celery"),
        tenant_context(org),
        transaction.atomic(),
    ):
        notify_after_commit(
            organization=org,
            recipient_ids=[officer.pk],
            kind="request_new",
            title=f"New request {n}",
            dedupe_key=f"wake-test-{n}",
        )


def _delivered(org: Organization) -> tuple[list[bool], list[str]]:
    with tenant_context(org):
        rows = DeferredNotice.objects.order_by("pk").values_list("delivered_at", flat=True)
        titles = Notification.objects.order_by("title").values_list("title", flat=True)
        return [row is not None for row in rows], list(titles)


def test_commits_while_a_fan_out_waits_publish_nothing_and_one_task_fans_out_all(
    org: Organization, officer: User, queue: str, tmp_path: Path
) -> None:
    for n in range(3):
        _commit_notice(org, officer, n)
    assert _waiting(queue) == 1  # the first commit's task; the next two found it waiting
    assert cache.get(fan_out_wake_key(org.pk)) is not None
    assert _delivered(org) == ([False, False, False], [])

    log = tmp_path / "worker.log"
    worker = processes.start_worker(queue, log, concurrency=1)
    try:
        processes.wait_for(
            lambda: _delivered(org)[0] == [True, True, True],
            timeout=60,
            what="one fan-out task to deliver the three notices",
            log=log,
        )
    finally:
        processes.kill(worker)
    assert _delivered(org)[1] == ["New request 0", "New request 1", "New request 2"]
    assert cache.get(fan_out_wake_key(org.pk)) is None
    assert _waiting(queue) == 0


def test_the_task_frees_the_wake_up_before_it_reads_so_a_later_commit_publishes_again(
    org: Organization, officer: User, queue: str
) -> None:
    _commit_notice(org, officer, 0)
    _commit_notice(org, officer, 1)
    assert _waiting(queue) == 1

    # the waiting task, run here (the message stays in the queue; nothing consumes it)
    assert fan_out_pending.apply(args=[org.pk]).get() == 2
    assert _delivered(org)[0] == [True, True]
    assert cache.get(fan_out_wake_key(org.pk)) is None

    _commit_notice(org, officer, 2)  # after the task started: wakes a new one
    assert _waiting(queue) == 2
    assert _delivered(org)[0] == [True, True, False]


def test_another_organizations_waiting_fan_out_does_not_hold_back_this_one(
    org: Organization, officer: User, queue: str
) -> None:
    other = OrganizationFactory.create()
    other_officer = member(other, Role.PRIVACY_OFFICER)
    _commit_notice(other, other_officer, 0)
    _commit_notice(org, officer, 0)
    assert _waiting(queue) == 2  # one wake-up per organization
    assert fan_out_pending.apply(args=[org.pk]).get() == 1
    assert _delivered(org)[0] == [True]
    assert _delivered(other)[0] == [False]  # its own task, still waiting, fans it out
