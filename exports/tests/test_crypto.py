"""The sealed stream: what goes in comes out; altered, truncated, extended, reordered or moved
files are refused."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from exports.crypto import (
    HEADER,
    TAG_BYTES,
    EncryptingWriter,
    Spool,
    decrypt_stream,
    read_header,
)
from k12cloud.encryption.keys import DecryptionFailed

KEY = os.urandom(32)
SEGMENT = 64


def seal(data: bytes, *, context: str = "exports:1:1", pieces: int = 7) -> bytes:
    sink = io.BytesIO()
    writer = EncryptingWriter(
        sink, material=KEY, key_version=3, context=context, segment_bytes=SEGMENT
    )
    for start in range(0, len(data), pieces):
        writer.write(data[start : start + pieces])
    writer.close()
    return sink.getvalue()


def unseal(sealed: bytes, *, context: str = "exports:1:1", key: bytes = KEY) -> bytes:
    source = io.BytesIO(sealed)
    version, header = read_header(source)
    assert version == 3
    return b"".join(decrypt_stream(source, material=key, context=context, header=header))


@pytest.mark.parametrize("size", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 10 * SEGMENT, 1000])
def test_round_trip_at_every_boundary(size: int) -> None:
    data = os.urandom(size)
    assert unseal(seal(data)) == data


def test_the_same_plaintext_seals_differently_each_time() -> None:
    assert seal(b"x" * 100) != seal(b"x" * 100)


def test_a_flipped_bit_is_refused() -> None:
    sealed = bytearray(seal(os.urandom(300)))
    sealed[HEADER.size + 5] ^= 1
    with pytest.raises(DecryptionFailed):
        unseal(bytes(sealed))


def test_a_truncated_file_is_refused() -> None:
    sealed = seal(os.urandom(10 * SEGMENT + 5))
    segment = SEGMENT + TAG_BYTES
    with pytest.raises(DecryptionFailed):
        unseal(sealed[: HEADER.size + 3 * segment])  # whole segments, the last one missing


def test_reordered_segments_are_refused() -> None:
    sealed = seal(os.urandom(4 * SEGMENT + 5))
    segment = SEGMENT + TAG_BYTES
    head, body = sealed[: HEADER.size], sealed[HEADER.size :]
    first, second = body[:segment], body[segment : 2 * segment]
    with pytest.raises(DecryptionFailed):
        unseal(head + second + first + body[2 * segment :])


def test_another_context_or_key_is_refused() -> None:
    sealed = seal(b"another export's bytes")
    with pytest.raises(DecryptionFailed):
        unseal(sealed, context="exports:1:2")
    with pytest.raises(DecryptionFailed):
        unseal(sealed, key=os.urandom(32))


def test_not_a_sealed_file() -> None:
    with pytest.raises(DecryptionFailed):
        read_header(io.BytesIO(b"PK\x03\x04 a plain zip, not sealed"))


def test_a_spool_keeps_only_ciphertext_on_disk(tmp_path: Path) -> None:
    folder = tmp_path / "spools"
    folder.mkdir()
    spool = Spool(str(folder))
    secret = b"Quintessa Ravenscroft, 2014-03-09\n" * 100
    spool.write(secret)
    on_disk = [p.read_bytes() for p in folder.iterdir()]
    assert len(on_disk) == 1 and b"Quintessa" not in on_disk[0]
    assert b"".join(spool.read_back()) == secret
    assert list(folder.iterdir()) == []
