"""The backup file format: round trips, and each kind of damage named (backups.crypto)."""

from __future__ import annotations

import io
import os

import pytest

from backups import crypto

KEY = crypto.parse_key(crypto.generate_key_text())
OTHER = crypto.parse_key(crypto.generate_key_text())
CHUNK = 64


def encrypt(data: bytes, *, pieces: int = 7, key: crypto.BackupKey = KEY) -> bytes:
    parts = [data[i : i + pieces] for i in range(0, len(data), pieces)] or [b""]
    return b"".join(crypto.encrypt_chunks(iter(parts), key=key, chunk_size=CHUNK))


def decrypt(blob: bytes, keys: list[crypto.BackupKey] | None = None) -> bytes:
    return b"".join(crypto.decrypt_chunks(io.BytesIO(blob), keys=keys or [KEY]))


def chunks_of(blob: bytes) -> tuple[bytes, list[bytes]]:
    header, rest, parts = blob[: crypto.HEADER.size], blob[crypto.HEADER.size :], []
    while rest:
        (length,) = crypto.LENGTH.unpack(rest[:4])
        parts.append(rest[: 4 + length])
        rest = rest[4 + length :]
    return header, parts


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * CHUNK + 17])
def test_round_trip(size: int) -> None:
    data = os.urandom(size)
    blob = encrypt(data)
    assert decrypt(blob) == data
    assert data[:16] not in blob[crypto.HEADER.size :] or size < 16
    _, parts = chunks_of(blob)
    assert len(parts) == max(1, -(-size // CHUNK))


def test_each_file_has_its_own_salt() -> None:
    assert encrypt(b"same data") != encrypt(b"same data")


def test_the_encrypting_reader_counts_what_it_hands_out() -> None:
    import hashlib

    reader = crypto.EncryptingReader(crypto.encrypt_chunks(iter([b"x" * 1000]), key=KEY))
    blob = b""
    while piece := reader.read(100):
        blob += piece
    assert reader.size == len(blob)
    assert reader.sha256.hexdigest() == hashlib.sha256(blob).hexdigest()
    assert decrypt(blob) == b"x" * 1000


def test_a_wrong_key_is_named_with_both_fingerprints() -> None:
    with pytest.raises(crypto.BackupDecryptionError) as raised:
        decrypt(encrypt(b"data"), [OTHER])
    message = str(raised.value)
    assert message.startswith("wrong backup key")
    assert KEY.fingerprint_hex in message and OTHER.fingerprint_hex in message


def test_a_retired_key_still_decrypts() -> None:
    assert decrypt(encrypt(b"data"), [OTHER, KEY]) == b"data"


def damage(name: str, blob: bytes) -> bytes:
    header, parts = chunks_of(blob)
    if name == "flipped bit":
        middle = bytearray(blob)
        middle[len(blob) // 2] ^= 0x01
        return bytes(middle)
    if name == "dropped last chunk":
        return header + b"".join(parts[:-1])
    if name == "dropped middle chunk":
        return header + b"".join(parts[:1] + parts[2:])
    if name == "swapped chunks":
        return header + b"".join([parts[1], parts[0], *parts[2:]])
    if name == "cut in a chunk":
        return blob[:-10]
    if name == "trailing bytes":
        return blob + b"\x00"
    if name == "header chunk size changed":
        changed = bytearray(header)
        changed[-1] ^= 0x01
        return bytes(changed) + b"".join(parts)
    if name == "not a backup":
        return b"PGDMP" + blob[5:]
    if name == "version":
        changed = bytearray(header)
        changed[8] = 9
        return bytes(changed) + b"".join(parts)
    raise AssertionError(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("flipped bit", "fails authentication"),
        ("dropped last chunk", "cut short"),
        ("dropped middle chunk", "chunk 1 fails authentication"),
        ("swapped chunks", "chunk 0 fails authentication"),
        ("cut in a chunk", "cut short in the middle of chunk"),
        ("trailing bytes", "bytes after its final chunk"),
        ("header chunk size changed", "fails authentication"),
        ("not a backup", "not a k12cloud backup file"),
        ("version", "format version 9 is not supported"),
    ],
)
def test_damage_is_detected_and_named(name: str, message: str) -> None:
    blob = encrypt(os.urandom(4 * CHUNK + 5))
    with pytest.raises(crypto.BackupDecryptionError) as raised:
        decrypt(damage(name, blob))
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [("not base64!", "is not base64"), ("c2hvcnQ=", "must be base64 of 32 random bytes")],
)
def test_malformed_keys_are_refused_without_echoing_them(text: str, message: str) -> None:
    with pytest.raises(crypto.BackupKeyError) as raised:
        crypto.parse_key(text)
    assert message in str(raised.value)
    assert text not in str(raised.value)
