"""The signed PDF receipt of a DPA acceptance.

The receipt states the facts (organization, version, its SHA-256, who accepted, when, from
which address) and a statement line; the statement is signed with Ed25519
(settings.TRUST_RECEIPT_PRIVATE_KEY) and the signature printed on the receipt. Anyone can check
it with the public key published at /trust/receipt-key/ (docs/trust-center.md shows how): the
signed message is exactly the "Signed statement" line, UTF-8 encoded.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from fpdf import FPDF

from trust.models import DpaAcceptance


@lru_cache(maxsize=4)
def _private_key(text: str) -> Ed25519PrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("TRUST_RECEIPT_PRIVATE_KEY is not an Ed25519 key")
        return key
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))


def receipt_private_key() -> Ed25519PrivateKey:
    return _private_key(settings.TRUST_RECEIPT_PRIVATE_KEY)


def receipt_public_key_pem() -> str:
    public = receipt_private_key().public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def receipt_public_key_base64() -> str:
    public = receipt_private_key().public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def receipt_statement(acceptance: DpaAcceptance) -> str:
    """The signed line: every fact that matters, in a fixed order (ASCII only)."""
    version = acceptance.version
    return "|".join(
        [
            "k12cloud-dpa-acceptance-v1",
            acceptance.receipt_number,
            f"organization={acceptance.organization.slug}",
            f"dpa-version={version.number}",
            f"sha256={acceptance.version_hash}",
            f"accepted-at={acceptance.accepted_at.isoformat()}",
            f"user-id={acceptance.user_id or ''}",
            f"ip={acceptance.ip_address or ''}",
        ]
    )


def receipt_signature(statement: str) -> str:
    return base64.b64encode(receipt_private_key().sign(statement.encode())).decode()


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def receipt_pdf(acceptance: DpaAcceptance, *, accepted_by: str) -> bytes:
    statement = receipt_statement(acceptance)
    signature = receipt_signature(statement)
    version = acceptance.version
    pdf = FPDF()
    pdf.set_title(f"DPA acceptance receipt {acceptance.receipt_number}")
    pdf.set_author("k-12.cloud")
    pdf.set_lang("en")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, "Receipt: Data Processing Addendum accepted", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    rows = [
        ("Receipt", acceptance.receipt_number),
        ("Organization", acceptance.organization.name),
        ("DPA version", f"{version.number} (effective {version.effective_on.isoformat()}, UTC)"),
        ("Version SHA-256", acceptance.version_hash),
        ("Accepted by", accepted_by),
        ("Accepted at", acceptance.accepted_at.isoformat()),
        ("From address", acceptance.ip_address or "not recorded"),
    ]
    for label, value in rows:
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(45, 8, _latin1(label))
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 8, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 8, "Signed statement", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Courier", "", 8)
    pdf.multi_cell(0, 5, _latin1(statement), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 8, "Ed25519 signature (base64)", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Courier", "", 8)
    pdf.multi_cell(0, 5, signature, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(
        0,
        5,
        "Verify the signature over the statement line (UTF-8) with k-12.cloud's receipt public "
        "key, published on the portal at /trust/receipt-key/.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())
