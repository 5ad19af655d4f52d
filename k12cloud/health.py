"""/healthz/workers/: is a Celery worker answering, and is a beat scheduling?

For the monitoring that pages ops staff, not for the load balancer (that is /healthz/): a web
process is healthy without workers, but email and deadline reminders are not being sent.
Answers 200 when both are alive, 503 when either is not.

Anyone may read the status code and `{"status": "ok" | "unavailable"}`. Which part is down, and
how old the beat's heartbeat is, only ops staff signed in with a verified second factor, or a
caller presenting `Authorization: Bearer <HEALTHZ_TOKEN>`, may read. Names no hosts.
"""

from __future__ import annotations

import hmac
import time

import redis
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.cache import patch_vary_headers
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


def presents_health_token(request: HttpRequest) -> bool:
    """True when the request carries `Authorization: Bearer <HEALTHZ_TOKEN>` (constant time)."""
    expected: str = getattr(settings, "HEALTHZ_TOKEN", "")
    if not expected:
        return False
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return False
    return hmac.compare_digest(presented.strip().encode(), expected.encode())


def may_read_details(request: HttpRequest) -> bool:
    """Ops staff with a verified second factor (as the ops admin requires), or the token."""
    if presents_health_token(request):
        return True
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return False
    is_verified = getattr(user, "is_verified", None)  # django_otp.middleware.OTPMiddleware
    return is_verified is not None and bool(is_verified())


@never_cache
@require_GET
def workers_health(request: HttpRequest) -> JsonResponse:
    try:
        heartbeat = beat_heartbeat()
    except redis.RedisError:
        heartbeat = None
    worker = worker_answers()
    beat = heartbeat is not None
    status = 200 if worker and beat else 503
    body: dict[str, object] = {"status": "ok" if status == 200 else "unavailable"}
    if may_read_details(request):
        body.update(worker=worker, beat=beat)
        if heartbeat is not None:
            body["beat_heartbeat_age_seconds"] = round(max(0.0, time.time() - heartbeat["at"]), 1)
    response = JsonResponse(body, status=status)
    patch_vary_headers(response, ["Authorization", "Cookie"])
    return response
