"""A software WebAuthn authenticator for tests: real EC P-256 keys, real signatures.

It builds what a browser returns from navigator.credentials.create() ('none' attestation) and
.get(), as the JSON that static/js/passkeys.js sends, so the server's verification (py_webauthn)
runs for real. Knobs let a test break one thing at a time: origin, RP id, challenge, counter,
signature, user verification.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

FLAG_UP = 0x01
FLAG_UV = 0x04
FLAG_BE = 0x08
FLAG_BS = 0x10
FLAG_AT = 0x40


def _b64(data: bytes) -> str:
    return bytes_to_base64url(data)


@dataclass
class SoftAuthenticator:
    rp_id: str
    origin: str
    user_verified: bool = True
    counter: int = 0
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    user_handle: bytes = b""

    @property
    def credential_id_b64(self) -> str:
        return _b64(self.credential_id)

    def _cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _flags(self, *, attested: bool) -> int:
        flags = FLAG_UP | (FLAG_UV if self.user_verified else 0)
        return flags | (FLAG_AT if attested else 0)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": challenge,
                "origin": origin or self.origin,
                "crossOrigin": False,
            }
        ).encode()

    def create(
        self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None
    ) -> str:
        """The JSON of a registration response to `options` (as the server sent them)."""
        self.user_handle = base64url_to_bytes(options["user"]["id"])
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        attested = (
            bytes(16)  # AAGUID: none
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + self._cose_public_key()
        )
        auth_data = (
            rp_hash
            + bytes([self._flags(attested=True)])
            + struct.pack(">I", self.counter)
            + attested
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return json.dumps(
            {
                "id": self.credential_id_b64,
                "rawId": self.credential_id_b64,
                "type": "public-key",
                "authenticatorAttachment": "cross-platform",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": _b64(client_data),
                    "attestationObject": _b64(attestation),
                    "transports": ["usb"],
                },
            }
        )

    def get(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        counter: int | None = None,
        tamper: bool = False,
    ) -> str:
        """The JSON of an assertion for `options`; the counter goes up by one unless given."""
        self.counter = self.counter + 1 if counter is None else counter
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        auth_data = rp_hash + bytes([self._flags(attested=False)]) + struct.pack(">I", self.counter)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        if tamper:
            auth_data = auth_data[:-1] + bytes([auth_data[-1] ^ 1])
        return json.dumps(
            {
                "id": self.credential_id_b64,
                "rawId": self.credential_id_b64,
                "type": "public-key",
                "authenticatorAttachment": "cross-platform",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": _b64(client_data),
                    "authenticatorData": _b64(auth_data),
                    "signature": _b64(signature),
                    "userHandle": _b64(self.user_handle) if self.user_handle else None,
                },
            }
        )
