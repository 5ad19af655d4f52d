"""Authenticated, streamed encryption of backup files (format version 1).

A backup is encrypted in the process, chunk by chunk, before any byte of it is written anywhere.

    header   = MAGIC (8 bytes) | version (1) | key fingerprint (8) | salt (16) | chunk size (4)
    chunk    = ciphertext length (4, big-endian) | AES-256-GCM ciphertext with its 16-byte tag
    file key = HKDF-SHA256(backup key, salt, info="k12cloud backup v1")
    nonce    = chunk number (11 bytes, big-endian) | 1 if it is the last chunk else 0 (1 byte)

Every chunk is authenticated together with the header (associated data), so a changed header,
a changed, dropped, repeated or reordered chunk, or a file cut short fails to decrypt with a
message that says which. The key fingerprint (the first 8 bytes of SHA-256 of the key) tells a
wrong key apart from a damaged file before anything is decrypted. A fresh salt per file gives
each backup its own key, so counters never repeat under one key.

The backup key comes from the environment (BACKUP_ENCRYPTION_KEY, base64 of 32 random bytes),
never from the database the backups contain. Retired keys that must still decrypt older files
are listed in BACKUP_DECRYPTION_KEYS.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"K12CBKP\x00"
VERSION = 1
HEADER = struct.Struct(">8sB8s16sI")
LENGTH = struct.Struct(">I")
TAG_BYTES = 16
DEFAULT_CHUNK_SIZE = 1024 * 1024
MAX_CHUNK_SIZE = 64 * 1024 * 1024
KEY_BYTES = 32


class BackupKeyError(ValueError):
    """The configured backup key is missing or malformed."""


class BackupDecryptionError(ValueError):
    """The file cannot be decrypted: wrong key, not a backup, damaged or cut short."""


@dataclass(frozen=True)
class BackupKey:
    secret: bytes

    @property
    def fingerprint(self) -> bytes:
        return hashlib.sha256(self.secret).digest()[:8]

    @property
    def fingerprint_hex(self) -> str:
        return self.fingerprint.hex()


def parse_key(text: str, *, variable: str = "BACKUP_ENCRYPTION_KEY") -> BackupKey:
    """A key from its base64 text (32 bytes); the error names the variable, never the value."""
    try:
        secret = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BackupKeyError(f"{variable} is not base64 text.") from None
    if len(secret) != KEY_BYTES:
        raise BackupKeyError(
            f"{variable} must be base64 of {KEY_BYTES} random bytes "
            f"(e.g. `openssl rand -base64 32`), not {len(secret)} bytes."
        )
    return BackupKey(secret)


def generate_key_text() -> str:
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def _file_cipher(key: BackupKey, salt: bytes) -> AESGCM:
    file_key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=salt, info=b"k12cloud backup v1"
    ).derive(key.secret)
    return AESGCM(file_key)


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def encrypt_chunks(
    plaintext: Iterable[bytes], *, key: BackupKey, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Iterator[bytes]:
    """The encrypted file, piece by piece, from the plaintext's pieces (any sizes).

    Holds at most two chunks of plaintext in memory. An empty input still makes a valid file
    (one empty, final chunk).
    """
    salt = os.urandom(16)
    header = HEADER.pack(MAGIC, VERSION, key.fingerprint, salt, chunk_size)
    cipher = _file_cipher(key, salt)
    yield header
    counter = 0
    pending = bytearray()
    ready: bytes | None = None  # a full chunk, held back until we know whether it is the last
    for piece in plaintext:
        pending += piece
        while len(pending) >= chunk_size:
            if ready is not None:
                yield _sealed(cipher, counter, ready, last=False, header=header)
                counter += 1
            ready = bytes(pending[:chunk_size])
            del pending[:chunk_size]
    if ready is not None and pending:
        yield _sealed(cipher, counter, ready, last=False, header=header)
        counter += 1
        ready = None
    final = ready if ready is not None else bytes(pending)
    yield _sealed(cipher, counter, final, last=True, header=header)


def _sealed(cipher: AESGCM, counter: int, data: bytes, *, last: bool, header: bytes) -> bytes:
    sealed = cipher.encrypt(_nonce(counter, last), data, header)
    return LENGTH.pack(len(sealed)) + sealed


def _read_exactly(source: IO[bytes], size: int) -> bytes:
    parts: list[bytes] = []
    remaining = size
    while remaining:
        part = source.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def decrypt_chunks(source: IO[bytes], *, keys: Iterable[BackupKey]) -> Iterator[bytes]:
    """The plaintext, chunk by chunk; raises BackupDecryptionError saying what is wrong.

    Nothing unauthenticated is ever yielded: each chunk is checked before it is returned. A
    consumer that must not act on a partial stream (pg_restore) still learns of a failure only
    at the failing chunk, so callers treat the whole restore as failed on any error.
    """
    header = _read_exactly(source, HEADER.size)
    if len(header) < HEADER.size or not header.startswith(MAGIC):
        raise BackupDecryptionError(
            "not a k12cloud backup file (its header is missing or wrong): the file is damaged "
            "or was not written by `manage.py backup`"
        )
    _, version, fingerprint, salt, chunk_size = HEADER.unpack(header)
    if version != VERSION:
        raise BackupDecryptionError(
            f"backup format version {version} is not supported (this code reads {VERSION})"
        )
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise BackupDecryptionError("the backup header is damaged (impossible chunk size)")
    candidates = list(keys)
    key = next((k for k in candidates if k.fingerprint == fingerprint), None)
    if key is None:
        known = ", ".join(k.fingerprint_hex for k in candidates) or "none"
        raise BackupDecryptionError(
            f"wrong backup key: this file was encrypted with the key whose fingerprint is "
            f"{fingerprint.hex()}, and the configured keys have fingerprints {known} "
            "(set BACKUP_ENCRYPTION_KEY, or list the old key in BACKUP_DECRYPTION_KEYS)"
        )
    cipher = _file_cipher(key, salt)
    counter = 0
    while True:
        length_bytes = _read_exactly(source, LENGTH.size)
        if len(length_bytes) < LENGTH.size:
            raise BackupDecryptionError(
                f"the backup file is cut short: it ends after chunk {counter} without its "
                "final chunk"
            )
        (length,) = LENGTH.unpack(length_bytes)
        if not TAG_BYTES <= length <= chunk_size + TAG_BYTES:
            raise BackupDecryptionError(
                f"the backup file is damaged: chunk {counter} has an impossible length"
            )
        sealed = _read_exactly(source, length)
        if len(sealed) < length:
            raise BackupDecryptionError(
                f"the backup file is cut short in the middle of chunk {counter}"
            )
        last = False
        try:
            data = cipher.decrypt(_nonce(counter, False), sealed, header)
        except InvalidTag:
            try:
                data = cipher.decrypt(_nonce(counter, True), sealed, header)
                last = True
            except InvalidTag:
                raise BackupDecryptionError(
                    f"the backup file is damaged or was changed: chunk {counter} fails "
                    "authentication (AES-GCM tag mismatch)"
                ) from None
        yield data
        counter += 1
        if last:
            if source.read(1):
                raise BackupDecryptionError(
                    "the backup file is damaged: there are bytes after its final chunk"
                )
            return


class EncryptingReader(io.RawIOBase):
    """A read-only file object over encrypt_chunks(): what the storage API's save() reads.

    Counts the bytes and the SHA-256 of what it hands out, i.e. of the encrypted file.
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._buffer = b""
        self.size = 0
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        piece, self._buffer = self._buffer[:size], self._buffer[size:]
        target[:size] = piece
        self.size += size
        self.sha256.update(piece)
        return size
