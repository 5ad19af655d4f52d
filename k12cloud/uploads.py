"""What an uploaded file is, told from its bytes (never from its name or the browser's word).

`sniff(content)` returns the one kind of document the portal accepts that the bytes are, or
None. Office documents are ZIP archives: told apart by the part every such document must hold
(`word/document.xml`, `xl/workbook.xml`), read from the archive's directory only. CSV is text:
UTF-8 (with or without a byte-order mark), no NUL or other control bytes, and rows that one
delimiter (comma, semicolon or tab) splits into the same number of columns, at least two.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass


@dataclass(frozen=True)
class FileKind:
    key: str
    label: str
    content_type: str
    extension: str


PDF = FileKind("pdf", "PDF", "application/pdf", "pdf")
PNG = FileKind("png", "PNG image", "image/png", "png")
JPEG = FileKind("jpeg", "JPEG image", "image/jpeg", "jpg")
GIF = FileKind("gif", "GIF image", "image/gif", "gif")
WEBP = FileKind("webp", "WebP image", "image/webp", "webp")
TIFF = FileKind("tiff", "TIFF image", "image/tiff", "tiff")
DOCX = FileKind(
    "docx",
    "Word document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "docx",
)
XLSX = FileKind(
    "xlsx",
    "Excel workbook",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xlsx",
)
CSV = FileKind("csv", "CSV", "text/csv", "csv")

KINDS = (PDF, PNG, JPEG, GIF, WEBP, TIFF, DOCX, XLSX, CSV)
BY_KEY = {kind.key: kind for kind in KINDS}

_SIGNATURES: tuple[tuple[bytes, FileKind], ...] = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
)
_TEXT_CONTROLS = frozenset(range(32)) - {9, 10, 13}
_CSV_SAMPLE = 64 * 1024
_CSV_DELIMITERS = (",", ";", "\t")  # spreadsheets in some locales write ; or tabs


def _office(content: bytes) -> FileKind | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if "word/document.xml" in names:
        return DOCX
    if "xl/workbook.xml" in names:
        return XLSX
    return None


def _csv(content: bytes) -> FileKind | None:
    sample = content[:_CSV_SAMPLE]
    if sample.startswith(b"\xef\xbb\xbf"):
        sample = sample[3:]
    if not sample.strip() or any(byte in _TEXT_CONTROLS for byte in sample):
        return None
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as error:
        if len(content) <= _CSV_SAMPLE or error.start < len(sample) - 3:
            return None  # not a character cut at the sample's end: not UTF-8
        text = sample[: error.start].decode("utf-8")
    lines = text.splitlines()
    if len(content) > _CSV_SAMPLE and len(lines) > 1:
        lines = lines[:-1]  # the sample may end inside a row
    for delimiter in _CSV_DELIMITERS:
        widths = {len(row) for row in csv.reader(lines, delimiter=delimiter) if row}
        # one delimiter splits every row the same way, into at least two columns
        if len(widths) == 1 and widths.pop() >= 2:
            return CSV
    return None


def sniff(content: bytes) -> FileKind | None:
    """The accepted kind of document these bytes are, or None."""
    for signature, kind in _SIGNATURES:
        if content.startswith(signature):
            return kind
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return WEBP
    if content.startswith(b"PK\x03\x04"):
        return _office(content)
    return _csv(content)
