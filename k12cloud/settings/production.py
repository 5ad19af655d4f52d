"""Production: every secret must come from the environment, and `check --deploy` is clean.

Start-up stops, with a message naming the variable (never its value), when a secret is missing
or is one of the development values published in this repository, when ALLOWED_HOSTS lets any
host through, or when PORTAL_BASE_URL is not an https:// address (docs/security-production.md).
"""

import base64
import binascii
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from k12cloud.encryption.master_keys import DEVELOPMENT_KEY_ID, parse_master_keys
from k12cloud.settings.base import *  # noqa: F403
from k12cloud.settings.development_values import (
    DEVELOPMENT_BACKUP_ENCRYPTION_KEY,
    DEVELOPMENT_BILLING_REMITTANCE,
    DEVELOPMENT_STRIPE_SECRET_KEY,
    DEVELOPMENT_STRIPE_WEBHOOK_SECRET,
    is_development_audit_key,
    is_development_receipt_key,
)
from k12cloud.settings.environment import env_bool, env_int, env_list, env_str

DEBUG = False
SECRET_KEY = env_str("SECRET_KEY")
ENCRYPTION_MASTER_KEYS = env_str("ENCRYPTION_MASTER_KEYS")
if DEVELOPMENT_KEY_ID in parse_master_keys(ENCRYPTION_MASTER_KEYS).keys:  # malformed: stops here
    raise ImproperlyConfigured("ENCRYPTION_MASTER_KEYS must not contain the development key.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("The environment variable ALLOWED_HOSTS is required but not set.")
if "*" in ALLOWED_HOSTS:
    # any Host header would be believed: password-reset links could name an attacker's host
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS must not contain '*' in production: list the portal's host names."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [f"https://{h}" for h in ALLOWED_HOSTS])

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

# signs audit chain checkpoints; validated by the audit system check (audit.checks)
AUDIT_CHECKPOINT_PRIVATE_KEY = env_str("AUDIT_CHECKPOINT_PRIVATE_KEY")
if is_development_audit_key(AUDIT_CHECKPOINT_PRIVATE_KEY):
    raise ImproperlyConfigured(
        "AUDIT_CHECKPOINT_PRIVATE_KEY must not be the development key (it is public): "
        "generate a key of your own (README: configuration)."
    )

# trust center: signs DPA acceptance receipts (docs/trust-center.md)
TRUST_RECEIPT_PRIVATE_KEY = env_str("TRUST_RECEIPT_PRIVATE_KEY")
if is_development_receipt_key(TRUST_RECEIPT_PRIVATE_KEY):
    raise ImproperlyConfigured(
        "TRUST_RECEIPT_PRIVATE_KEY must not be the development key (it is public): "
        "generate an Ed25519 key of your own (docs/trust-center.md)."
    )

# links in emails that tasks send (no web request to build them from): the public address
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL")
if urlsplit(PORTAL_BASE_URL).scheme != "https" or not urlsplit(PORTAL_BASE_URL).hostname:
    raise ImproperlyConfigured(
        "PORTAL_BASE_URL must be an https:// address in production, e.g. https://portal.example.org."
    )

# billing (billing/): the Stripe API key and the webhook endpoint's signing secret
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
for _name, _value, _development in (
    ("STRIPE_SECRET_KEY", STRIPE_SECRET_KEY, DEVELOPMENT_STRIPE_SECRET_KEY),
    ("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET, DEVELOPMENT_STRIPE_WEBHOOK_SECRET),
):
    if _value == _development:
        raise ImproperlyConfigured(
            f"{_name} must not be the development placeholder: set the value from Stripe."
        )

# backups (backups/, docs/backups.md): the key that encrypts them, never the development one
BACKUP_ENCRYPTION_KEY = env_str("BACKUP_ENCRYPTION_KEY")
if BACKUP_ENCRYPTION_KEY == DEVELOPMENT_BACKUP_ENCRYPTION_KEY:
    raise ImproperlyConfigured(
        "BACKUP_ENCRYPTION_KEY must not be the development key (it is public): "
        "generate one with `openssl rand -base64 32` (docs/backups.md)."
    )
try:
    _backup_key_bytes = len(base64.b64decode(BACKUP_ENCRYPTION_KEY, validate=True))
except (binascii.Error, ValueError):
    _backup_key_bytes = 0
if _backup_key_bytes != 32:
    raise ImproperlyConfigured(
        "BACKUP_ENCRYPTION_KEY must be base64 of 32 random bytes (`openssl rand -base64 32`)."
    )
# billing: how to pay by check or bank transfer, printed on every invoice PDF (billing.invoice_pdf).
# Payee, address and bank are required; none may be a development value ("DO NOT PAY").
BILLING_REMITTANCE = {
    key: env_str(f"BILLING_REMITTANCE_{key.upper()}", "" if key in ("email", "tax_id") else None)
    for key in DEVELOPMENT_BILLING_REMITTANCE
}
for _key, _value in BILLING_REMITTANCE.items():
    if _value and _value == DEVELOPMENT_BILLING_REMITTANCE[_key]:
        raise ImproperlyConfigured(
            f"BILLING_REMITTANCE_{_key.upper()} must not be the development value: "
            "set your own remittance details."
        )

# optional; when set, long enough that guessing it is hopeless (e.g. `openssl rand -hex 32`)
if HEALTHZ_TOKEN and len(HEALTHZ_TOKEN) < 32:  # noqa: F405
    raise ImproperlyConfigured("HEALTHZ_TOKEN must be at least 32 characters long when set.")

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
