"""A new request's alert is fanned out after commit by a real Celery worker (issue #20): the
intake's transaction writes one deferred notice, the worker writes the bell notices and the
emails (sent through the outbox), and a notice whose enqueue was lost (the process died
between its commit and the enqueue, or the broker was down) is fanned out by the relay.

Real worker, real Redis broker, committed rows (k12cloud.notifications.tests.processes).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from accounts.api_keys import api_key_create
from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from k12cloud.notifications.models import DeferredNotice, Notification, OutboundEmail
from k12cloud.notifications.tasks import relay_outbox
from k12cloud.notifications.tests import processes
from k12cloud.tenancy import tenant_context

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_rules")]


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory.create(country="US", subdivision="CA")


@pytest.fixture
def team(org: Organization) -> dict[str, User]:
    return {
        "admin": member(org, Role.ORG_ADMIN, email="ada@lincoln.example"),
        "officer": member(org, Role.PRIVACY_OFFICER, email="olga@lincoln.example"),
        "staff": member(org, Role.PRIVACY_STAFF, email="sam@lincoln.example"),
    }


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue of this test's own, which this process publishes to as well."""
    with processes.publishing_to_new_queue() as name:
        yield name


def _state(org: Organization) -> tuple[list[tuple[str, str]], list[str], list[bool]]:
    """(kind, recipient email) of the notices; the emails' statuses; deferred rows delivered."""
    with tenant_context(org):
        notices = sorted(
            Notification.objects.select_related("recipient").values_list("kind", "recipient__email")
        )
        emails = sorted(OutboundEmail.objects.values_list("status", flat=True))
        deferred = list(
            DeferredNotice.objects.order_by("pk").values_list("delivered_at", flat=True)
        )
    return notices, emails, [d is not None for d in deferred]


def test_an_api_intake_alerts_the_team_through_the_worker(
    org: Organization, team: dict[str, User], queue: str, tmp_path: Path
) -> None:
    recording, log = tmp_path / "delivered.txt", tmp_path / "worker.log"
    worker = processes.start_worker(
        queue, log, concurrency=1, NOTIFICATIONS_RECORDING_FILE=str(recording)
    )
    key = api_key_create(
        organization=org, user=team["admin"], name="SIS", role=Role.PRIVACY_STAFF, expires_at=None
    )
    try:
        with override_settings(NOTIFICATIONS_DELIVERY="celery"):
            response = Client(headers={"Authorization": f"Bearer {key.token}"}).post(
                reverse("accounts_api:request_intake", kwargs={"org_slug": org.slug}),
                json.dumps(
                    {
                        "request_type": "access",
                        "relationship": "parent",
                        "requester_name": "Rosa Parent",
                        "requester_email": "rosa.parent@example.org",
                    }
                ),
                content_type="application/json",
            )
        assert response.status_code == 201, response.content
        # committed with the request: the deferred notice, and no notice or email yet unless
        # the worker was already quick
        processes.wait_for(
            lambda: _state(org)[1] == ["sent", "sent"],
            timeout=60,
            what="the worker to fan out the alert and send its emails",
            log=log,
        )
    finally:
        processes.kill(worker)
    notices, _emails, delivered = _state(org)
    # the privacy officer and staff (not the admin: there is a privacy team), once each
    assert notices == [
        ("request_new", "olga@lincoln.example"),
        ("request_new", "sam@lincoln.example"),
    ]
    assert delivered == [True]
    assert len(recording.read_text().splitlines()) == 2


def test_an_alert_whose_enqueue_was_lost_is_fanned_out_by_the_relay(
    org: Organization, team: dict[str, User], queue: str, tmp_path: Path
) -> None:
    crashed = subprocess.run(
        [
            sys.executable,
            "-m",
            "k12cloud.notifications.tests.crash_after_commit",
            str(org.pk),
            "--request",
        ],
        cwd=processes.ROOT,
        env=processes.environment(processes.new_queue()),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert crashed.returncode == -9, crashed.stdout + crashed.stderr  # SIGKILLed
    assert "the enqueue ran" not in crashed.stdout
    assert _state(org) == ([], [], [False])  # the request and its alert committed, no more

    log = tmp_path / "worker.log"
    worker = processes.start_worker(
        queue, log, concurrency=1, NOTIFICATIONS_RELAY_AFTER_SECONDS="0"
    )
    try:
        relay_outbox.apply_async(queue=queue)  # what beat sends every minute
        processes.wait_for(
            lambda: _state(org)[1] == ["sent", "sent"],
            timeout=60,
            what="the relay to fan out the alert and the worker to send its emails",
            log=log,
        )
    finally:
        processes.kill(worker)
    notices, _emails, delivered = _state(org)
    assert notices == [
        ("request_new", "olga@lincoln.example"),
        ("request_new", "sam@lincoln.example"),
    ]
    assert delivered == [True]
