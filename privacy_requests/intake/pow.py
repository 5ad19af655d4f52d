"""Proof of work for public forms, in the ALTCHA style, with no third party.

The server issues a challenge with the form: a random salt that carries its expiry, the SHA-256
of the salt followed by a secret number between 0 and `max_number`, and an HMAC of that hash
(so the server keeps no state until the answer comes back). The browser (static/js/intake.js)
tries numbers until the hash matches and sends back the payload: base64 of JSON with the
algorithm, challenge, number, salt and signature, the format ALTCHA widgets send.

Verification checks the signature, the expiry, the number, and that the challenge was not used
before (used challenges are remembered in the cache until they expire).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import constant_time_compare, salted_hmac

ALGORITHM = "SHA-256"
_HMAC_SALT = "k12cloud.privacy_requests.intake.pow"
_USED_KEY = "intake-pow-used:"


class ProofRefused(Exception):
    """The proof of work is missing, malformed, wrongly signed, wrong, expired or used."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # missing, invalid, expired, replayed


@dataclass(frozen=True)
class Challenge:
    algorithm: str
    challenge: str
    max_number: int
    salt: str
    signature: str


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _sign(challenge: str) -> str:
    return salted_hmac(_HMAC_SALT, challenge, algorithm="sha256").hexdigest()


def challenge_create(*, max_number: int | None = None, now: float | None = None) -> Challenge:
    """A new signed challenge; its number is secret until found."""
    top = settings.PRIVACY_INTAKE_POW_MAX_NUMBER if max_number is None else max_number
    expires = int(now if now is not None else time.time()) + settings.PRIVACY_INTAKE_POW_TTL_SECONDS
    salt = f"{secrets.token_hex(12)}?expires={expires}"
    challenge = _sha256(f"{salt}{secrets.randbelow(top + 1)}")
    return Challenge(ALGORITHM, challenge, top, salt, _sign(challenge))


def _expires(salt: str) -> int:
    _, _, query = salt.partition("?")
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name == "expires" and value.isdigit():
            return int(value)
    raise ProofRefused("invalid")


def proof_verify(payload: str, *, now: float | None = None) -> None:
    """Accept a solved challenge once, or raise `ProofRefused` saying why not."""
    if not payload:
        raise ProofRefused("missing")
    try:
        data = json.loads(base64.b64decode(payload, validate=True))
        algorithm, challenge, salt, signature = (
            str(data["algorithm"]),
            str(data["challenge"]),
            str(data["salt"]),
            str(data["signature"]),
        )
        number = int(data["number"])
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise ProofRefused("invalid") from None
    if algorithm != ALGORITHM or not constant_time_compare(signature, _sign(challenge)):
        raise ProofRefused("invalid")
    remaining = _expires(salt) - int(now if now is not None else time.time())
    if remaining <= 0:
        raise ProofRefused("expired")
    if number < 0 or not constant_time_compare(_sha256(f"{salt}{number}"), challenge):
        raise ProofRefused("invalid")
    # add() is atomic in Redis (SET NX): of two submissions of one answer, one wins
    if not cache.add(_USED_KEY + challenge, 1, timeout=remaining):
        raise ProofRefused("replayed")


def solve(challenge: Challenge) -> str:
    """The payload a browser would send; for tests and scripted clients."""
    for number in range(challenge.max_number + 1):
        if _sha256(f"{challenge.salt}{number}") == challenge.challenge:
            return payload_for(challenge, number)
    raise ValueError("challenge has no solution")


def payload_for(challenge: Challenge, number: int) -> str:
    data = {
        "algorithm": challenge.algorithm,
        "challenge": challenge.challenge,
        "number": number,
        "salt": challenge.salt,
        "signature": challenge.signature,
    }
    return base64.b64encode(json.dumps(data).encode()).decode()
