"""One beat only: the Celery beat scheduler that holds a Redis lock (CELERY_BEAT_SCHEDULER).

Every tick (at most CELERY_BEAT_MAX_LOOP_INTERVAL seconds apart) the scheduler renews a lock
in Redis (`SET key token NX PX ttl`, renewed only by its holder) and, while it holds it, writes
the beat heartbeat that /healthz/workers/ reads. A second beat started by mistake finds the lock
taken and stands by: it sends nothing, and takes over within BEAT_LOCK_TTL_SECONDS of the first
one dying. After a take-over, entries that came due meanwhile run once (the periodic tasks are
idempotent for their period, so an overlap at the hand-over changes nothing).

If Redis cannot be reached the beat sends nothing (no lock, no work): doubled work is worse
than a tick or two of delay, and the broker is in Redis anyway.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from typing import Any

import redis
from celery.beat import PersistentScheduler
from django.conf import settings

logger = logging.getLogger(__name__)

# Renew only a lock we still hold; release only our own.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5)


def beat_heartbeat() -> dict[str, Any] | None:
    """The running beat's last heartbeat (pid, host, time), or None when no beat is alive."""
    raw = redis_client().get(settings.BEAT_HEARTBEAT_KEY)
    return json.loads(raw) if raw else None


class SingleBeatScheduler(PersistentScheduler):
    """PersistentScheduler that only schedules while it holds the beat lock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        self._redis = redis_client()
        self._leading: bool | None = None  # unknown until the first tick: log it either way
        super().__init__(*args, **kwargs)

    def _hold_lock(self) -> bool:
        key = settings.BEAT_LOCK_KEY
        ttl_ms = settings.BEAT_LOCK_TTL_SECONDS * 1000
        try:
            held = bool(self._redis.eval(_RENEW, 1, key, self._token, ttl_ms)) or bool(
                self._redis.set(key, self._token, nx=True, px=ttl_ms)
            )
            if held:
                self._redis.set(
                    settings.BEAT_HEARTBEAT_KEY,
                    json.dumps(
                        {"host": socket.gethostname(), "pid": os.getpid(), "at": time.time()}
                    ),
                    ex=settings.BEAT_LOCK_TTL_SECONDS,
                )
        except redis.RedisError:
            logger.warning("beat: Redis unreachable; sending nothing until it answers")
            held = False
        if held != self._leading:
            logger.warning(
                "beat: %s",
                "holding the beat lock; scheduling"
                if held
                else "another beat holds the lock; standing by",
            )
            self._leading = held
        return held

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self._hold_lock():
            return float(self.max_interval or 5)
        return float(super().tick(*args, **kwargs))

    def close(self) -> None:
        try:
            if self._leading:
                self._redis.eval(_RELEASE, 1, settings.BEAT_LOCK_KEY, self._token)
                self._redis.delete(settings.BEAT_HEARTBEAT_KEY)
        except redis.RedisError:
            pass  # the lock expires on its own
        super().close()
