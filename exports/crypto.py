"""Streaming authenticated encryption for large files (the export's ZIP and its spools).

A value in a column is sealed whole (k12cloud.encryption.envelope); a ZIP of hundreds of
megabytes is not held in memory, so it is sealed in segments, the STREAM construction
(Hoang, Reyhanitabar, Rogaway and Vizár, 2015) over AES-256-GCM:

    header   b"k12x1" | key version (4 bytes) | salt (16 bytes) | segment size (4 bytes)
    segment  AES-256-GCM(subkey, nonce = counter (11 bytes) | last flag (1 byte), plaintext,
             associated data = header | context)

The subkey is HKDF-SHA256 of the organization's data key (its version in the header) with the
file's random salt and its context (e.g. "exports.OrganizationExport:17"), so no two files
share a key and nonces never repeat. Each segment authenticates its position and whether it is
the last one: reordering, dropping, truncating or appending segments, or moving the file to
another export or organization, fails decryption instead of yielding altered data.

Writing and reading keep one segment (64 KiB by default) in memory, whatever the file's size.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from k12cloud.encryption.keys import DecryptionFailed

MAGIC = b"k12x1"
HEADER = struct.Struct(">5sI16sI")
SEGMENT_BYTES = 64 * 1024
TAG_BYTES = 16


def _subkey(material: bytes, salt: bytes, context: str) -> AESGCM:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=salt, info=f"k12x1|{context}".encode()
    ).derive(material)
    return AESGCM(derived)


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class EncryptingWriter:
    """A write-only binary stream that seals what it is given into `sink`.

    `close()` writes the last segment (possibly empty) and must be called: without it the
    file is truncated and does not decrypt. It does not close `sink`.
    """

    def __init__(
        self,
        sink: BinaryIO,
        *,
        material: bytes,
        key_version: int,
        context: str,
        segment_bytes: int = SEGMENT_BYTES,
    ) -> None:
        self._sink = sink
        self._header = HEADER.pack(MAGIC, key_version, os.urandom(16), segment_bytes)
        salt = self._header[9:25]
        self._aead = _subkey(material, salt, context)
        self._aad = self._header + context.encode()
        self._segment = segment_bytes
        self._buffer = bytearray()
        self._counter = 0
        self._closed = False
        self.plaintext_bytes = 0
        sink.write(self._header)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:
        if self._closed:
            raise ValueError("write to a closed EncryptingWriter")
        self._buffer += data
        self.plaintext_bytes += len(data)
        # keep at least one byte back, so the last segment is never empty unless the whole
        # file is
        while len(self._buffer) > self._segment:
            self._emit(bytes(self._buffer[: self._segment]), last=False)
            del self._buffer[: self._segment]
        return len(data)

    def flush(self) -> None:
        self._sink.flush()

    def _emit(self, chunk: bytes, *, last: bool) -> None:
        self._sink.write(self._aead.encrypt(_nonce(self._counter, last), chunk, self._aad))
        self._counter += 1

    def close(self) -> None:
        if not self._closed:
            self._emit(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._closed = True
            self._sink.flush()

    @property
    def closed(self) -> bool:
        return self._closed


def read_header(source: BinaryIO) -> tuple[int, bytes]:
    """The key version a sealed file names, and its raw header."""
    header = source.read(HEADER.size)
    if len(header) != HEADER.size:
        raise DecryptionFailed("The file is too short to be a sealed export.")
    magic, version, _, segment = HEADER.unpack(header)
    if magic != MAGIC or segment <= 0:
        raise DecryptionFailed("The file is not a sealed export.")
    return version, header


def decrypt_stream(
    source: BinaryIO, *, material: bytes, context: str, header: bytes
) -> Iterator[bytes]:
    """The plaintext of a sealed file, segment by segment (after `read_header`).

    Raises DecryptionFailed on any tampering, truncation or a wrong key or context.
    """
    _, _, salt, segment = HEADER.unpack(header)
    aead = _subkey(material, salt, context)
    aad = header + context.encode()
    size = segment + TAG_BYTES
    counter = 0
    current = source.read(size)
    while True:
        following = source.read(size)
        last = not following
        try:
            plaintext = aead.decrypt(_nonce(counter, last), current, aad)
        except InvalidTag:
            raise DecryptionFailed(
                "The export file does not decrypt: it was altered, truncated or moved."
            ) from None
        if plaintext:
            yield plaintext
        if last:
            return
        counter += 1
        current = following


class Spool:
    """A temporary file on local disk, sealed under a random key that lives only in memory.

    For what must wait its turn before it goes into the ZIP (a table's CSV while its JSON
    Lines are written, files met along the rows): nothing personal reaches the disk in plain
    text, and a worker killed mid-export leaves only ciphertext no one can read.
    """

    def __init__(self, directory: str) -> None:
        self._key = os.urandom(32)
        self._file = open(  # noqa: SIM115 (closed by read_back() or discard())
            os.path.join(directory, f"spool-{os.urandom(8).hex()}"), "w+b"
        )
        self._writer = EncryptingWriter(
            self._file, material=self._key, key_version=0, context="spool"
        )

    def write(self, data: bytes) -> None:
        self._writer.write(data)

    @property
    def size(self) -> int:
        return self._writer.plaintext_bytes

    def read_back(self) -> Iterator[bytes]:
        """The plaintext, once; the file is removed afterwards."""
        self._writer.close()
        self._file.seek(0)
        try:
            _, header = read_header(self._file)
            yield from decrypt_stream(
                self._file,
                material=self._key,
                context="spool",
                header=header,
            )
        finally:
            self.discard()

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
            os.unlink(self._file.name)
