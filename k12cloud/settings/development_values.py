"""Values that are public on purpose: local and test settings use them, production refuses them.

Each is in this repository, so anyone can forge what it signs. k12cloud.settings.production
stops start-up when one of them reaches a production environment (docs/security-production.md).
"""

# Ed25519 key (base64 of the raw 32 bytes) that signs local and test audit checkpoints
DEVELOPMENT_AUDIT_CHECKPOINT_PRIVATE_KEY = "lGWiiM5YheBcBqod8FzZAG/vP+3z2PaU5zWBt561V/U="
# Ed25519 key (base64 of the raw 32 bytes) that signs local and test DPA acceptance receipts
DEVELOPMENT_TRUST_RECEIPT_PRIVATE_KEY = "tnfXyUev4vFH9+FL3XmShbsBCupaXIrN225m6bAHX6k="
# Stripe placeholders: they never reach Stripe (tests fake its API at the HTTP boundary)
DEVELOPMENT_STRIPE_SECRET_KEY = "sk_test_k12cloud_development_placeholder"  # noqa: S105
DEVELOPMENT_STRIPE_WEBHOOK_SECRET = "whsec_k12cloud_development_only"  # noqa: S105
# remittance details printed on the portal's invoice PDF (billing.invoice_pdf): made up, and
# saying so, so that nobody pays into them; production requires real ones
DEVELOPMENT_BILLING_REMITTANCE = {
    "payee": "k-12.cloud (DEVELOPMENT - DO NOT PAY)",
    "address": "Accounts Receivable|PO Box 0000|Example City, CA 00000",
    "bank": "Bank: Example Bank (DEVELOPMENT)|Account name: k-12.cloud|"
    "Routing (ABA): 000000000|Account: 0000000000",
    "email": "billing@example.invalid",
    "tax_id": "00-0000000",
}


def _is_development_ed25519_key(text: str, development_base64: str) -> bool:
    """True when `text` is the given development Ed25519 key, as base64 or as PEM.

    Anything that is not a readable Ed25519 key is left to the system checks, which explain
    what is wrong with it.
    """
    import base64
    import binascii

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    development = base64.b64decode(development_base64)
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                return False
            return key.private_bytes_raw() == development
        return base64.b64decode(text, validate=True) == development
    except (ValueError, TypeError, binascii.Error):
        return False


def is_development_audit_key(text: str) -> bool:
    """True when `text` is the development checkpoint key, as base64 or as PEM."""
    return _is_development_ed25519_key(text, DEVELOPMENT_AUDIT_CHECKPOINT_PRIVATE_KEY)


# backups (backups/): the key that encrypts local and test backups; production refuses it
DEVELOPMENT_BACKUP_ENCRYPTION_KEY = "azEyY2xvdWQtZGV2ZWxvcG1lbnQtYmFja3VwLWtleSE="


def is_development_receipt_key(text: str) -> bool:
    """True when `text` is the development DPA receipt key, as base64 or as PEM."""
    return _is_development_ed25519_key(text, DEVELOPMENT_TRUST_RECEIPT_PRIVATE_KEY)
