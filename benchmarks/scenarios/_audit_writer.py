"""One audit writer in its own process, as a gunicorn or Celery worker process writes events:
`python -m benchmarks.scenarios._audit_writer ORGANIZATION_ID EVENTS` records one event
(connecting and warming up), prints "ready", waits for a line on its standard input, then
records EVENTS events, each in its own transaction, and prints one JSON line with the wall
clock times it started and finished. Used by benchmarks/scenarios/audit.py; it uses only
`audit.services.record()`, so the same file measures any version of it."""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # as in production (and as the harness sets it)

    from audit.actions import Action
    from audit.context import Actor, acting_as
    from audit.services import record

    organization_id, events = int(sys.argv[1]), int(sys.argv[2])

    def one() -> None:
        record(
            Action.MEMBER_ROLE_CHANGED,
            organization=organization_id,
            target=("accounts.membership", 42),
            changes={"role": ["viewer", "privacy_staff"]},
        )

    with acting_as(Actor.system("benchmark")):
        one()
        print("ready", flush=True)
        sys.stdin.readline()
        started = time.time()
        for _ in range(events):
            one()
        finished = time.time()
    print(json.dumps({"started": started, "finished": finished, "events": events}), flush=True)


if __name__ == "__main__":
    main()
