"""A process that commits an outbox row and is SIGKILLed before its after-commit enqueue.

    python -m k12cloud.notifications.tests.crash_after_commit <organization id> <address>
    python -m k12cloud.notifications.tests.crash_after_commit <organization id> --request

The kill is itself an after-commit callback registered before `email_enqueue`'s, and callbacks
run in order: the row is committed, the enqueue never happens, and the process dies. With
`--request`, the committed work is an API-channel request whose new-request alert is a
deferred notice (`notify_after_commit`): committed, its fan-out never enqueued.
"""

from __future__ import annotations

import os
import signal
import sys

import django


def main(organization_id: int, address: str) -> None:
    django.setup()
    from django.db import transaction

    from accounts.models import Organization
    from k12cloud.notifications.services import email_enqueue
    from k12cloud.tenancy import tenant_context

    organization = Organization.objects.get(pk=organization_id)
    if address == "--request":
        from privacy_requests.services import request_receive

        with tenant_context(organization):
            transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))
            request = request_receive(
                organization=organization,
                request_type="access",
                channel="api",
                relationship="parent",
                requester_name="Crash Parent",
                requester_email="crash.parent@example.org",
            )
            print(f"request {request.pk}", flush=True)
        print("the enqueue ran: the process was not killed", flush=True)  # never printed
        return
    with tenant_context(organization):
        transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))
        email = email_enqueue(
            organization=organization,
            to=address,
            template="notifications/email/notice",
            subject="Crash test",
            context={"title": "Crash test", "url": ""},
            dedupe_key="crash-after-commit",
        )
        print(f"row {email.pk if email else None}", flush=True)
    print("the enqueue ran: the process was not killed", flush=True)  # never printed


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
