"""/healthz/workers/: is a Celery worker answering, and is a beat scheduling?

For the monitoring that pages ops staff, not for the load balancer (that is /healthz/): a web
process is healthy without workers, but email and deadline reminders are not being sent.
Answers 200 when both are alive, 503 when either is not; the body says which. Names no hosts.
"""

from __future__ import annotations

import time

import redis
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from k12cloud.beat import beat_heartbeat

WORKER_PING_TIMEOUT = 1.0  # seconds; a worker busy with a task still answers (own thread)


def worker_answers() -> bool:
    """True when at least one worker answers a broadcast ping within the timeout."""
    from k12cloud.celery import app

    try:
        replies = app.control.ping(timeout=WORKER_PING_TIMEOUT, limit=1)
    except (redis.RedisError, OSError):
        return False
    return bool(replies)


@never_cache
@require_GET
def workers_health(request: HttpRequest) -> JsonResponse:
    try:
        heartbeat = beat_heartbeat()
    except redis.RedisError:
        heartbeat = None
    worker = worker_answers()
    beat = heartbeat is not None
    body: dict[str, object] = {
        "status": "ok" if worker and beat else "unavailable",
        "worker": worker,
        "beat": beat,
    }
    if heartbeat is not None:
        body["beat_heartbeat_age_seconds"] = round(max(0.0, time.time() - heartbeat["at"]), 1)
    return JsonResponse(body, status=200 if worker and beat else 503)
