"""Rate limits that count and check in one atomic step (Redis, through the default cache).

Every limit in the portal goes through `rate_limit_hit`: one Lua script increments the counter of
the key, starts the window with the first hit, and refuses — without counting — a hit past the
limit, all inside Redis, which runs a script to completion before any other command. However
many web processes race, a window admits at most `limit` hits. (A check followed by a separate
"count" lets every racer pass the check before any of them counts: 15 concurrent submissions
against a limit of 5 were all accepted.)

The window is fixed: it starts at the first hit and lasts `window` seconds; `retry_after` is the
time left in it. A caller that reserved a hit and then did not use it (the form was invalid) gives
it back with `rate_limit_refund`, so a typo does not use up a requester's submissions.

Keys hold a SHA-256 digest of the identity (a client address, an API key prefix), never the
identity itself, under the cache's KEY_PREFIX.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

_PREFIX = "rate:"

# KEYS[1] counter; ARGV[1] limit; ARGV[2] window in milliseconds.
# Returns {allowed (1/0), hits counted in the window, milliseconds left in the window}.
_HIT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
if count > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return {0, count - 1, ttl}
end
return {1, count, ttl}
"""

# KEYS[1] counter: give one hit back, never below zero, keeping the window's expiry.
_REFUND = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then
  redis.call('DECR', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class RateLimitDecision:
    allowed: bool
    retry_after: int  # seconds until the window ends; 0 when allowed
    count: int  # hits counted in the current window, this one included when allowed


def rate_limit_key(scope: str, *identity: object) -> str:
    """The counter's key: the scope in clear (for operators), the identity as a digest."""
    digest = hashlib.sha256("|".join(str(part) for part in identity).encode()).hexdigest()
    return f"{_PREFIX}{scope}:{digest}"


def _redis(key: str) -> tuple[Any, str]:
    """The cache's own Redis connection and the key as the cache stores it (KEY_PREFIX)."""
    full_key = cache.make_and_validate_key(key)
    client = cache._cache.get_client(full_key, write=True)  # type: ignore[attr-defined]
    return client, full_key


def rate_limit_hit(key: str, *, limit: int, window: int) -> RateLimitDecision:
    """Count one hit against `key` and say whether it is within `limit` hits per `window` seconds.

    Atomic: the count and the check are one Redis script. A refused hit is not counted.
    """
    if limit < 1 or window < 1:
        raise ValueError("A rate limit needs a limit and a window of at least 1.")
    client, full_key = _redis(key)
    allowed, count, ttl_ms = client.eval(_HIT, 1, full_key, limit, window * 1000)
    retry_after = 0 if allowed else max(1, math.ceil(int(ttl_ms) / 1000))
    return RateLimitDecision(allowed=bool(allowed), retry_after=retry_after, count=int(count))


def rate_limit_refund(key: str) -> None:
    """Give back one hit that `rate_limit_hit` allowed but that was not used."""
    client, full_key = _redis(key)
    client.eval(_REFUND, 1, full_key)


def rate_limit_reset(key: str) -> None:
    """Forget the key's counter (ops tooling and tests)."""
    cache.delete(key)
