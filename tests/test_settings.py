"""Configuration from the environment: clear failures, and a clean `check --deploy`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from k12cloud.settings.environment import database_from_url

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "k12cloud.settings.production",
    "SECRET_KEY": "a-production-like-secret-key-with-enough-length-and-entropy-0123456789abc",
    "DATABASE_URL": "postgresql://k12cloud_app:pw@db.internal:5432/k12cloud",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "ALLOWED_HOSTS": "portal.k-12.cloud",
    "EMAIL_HOST": "smtp.internal",
    "AUDIT_CHECKPOINT_PRIVATE_KEY": "dGhpcy1pcy1hLXRlc3Qta2V5LW9mLTMyLWJ5dGVzISE=",
    "ENCRYPTION_MASTER_KEYS": "prod1:cHJvZHVjdGlvbi1saWtlLW1hc3Rlci1rZXktMzJieXQ=",
    "STRIPE_SECRET_KEY": "sk_live_production_like",
    "STRIPE_WEBHOOK_SECRET": "whsec_production_like",
    "PORTAL_BASE_URL": "https://portal.k-12.cloud",
    "BACKUP_ENCRYPTION_KEY": "cHJvZHVjdGlvbi1saWtlLWJhY2t1cC1rZXktMzJieXQ=",
    "BILLING_REMITTANCE_PAYEE": "k-12.cloud, Inc.",
    "BILLING_REMITTANCE_ADDRESS": "Accounts Receivable|1 Market St|San Francisco, CA 94105",
    "BILLING_REMITTANCE_BANK": "Bank: First Bank|Routing (ABA): 121000000|Account: 123456789",
    "TRUST_RECEIPT_PRIVATE_KEY": "cHJvZHVjdGlvbi1saWtlLXJlY2VpcHQta2V5LTMyYnk=",
}


# set by the browser tests' session fixture when they share this worker; not production's
TEST_HARNESS_ONLY = {"DJANGO_ALLOW_ASYNC_UNSAFE"}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in PRODUCTION_ENV and k not in TEST_HARNESS_ONLY
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_check_deploy_is_clean() -> None:
    result = manage("check", "--deploy", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    "missing",
    [
        "SECRET_KEY",
        "DATABASE_URL",
        "ALLOWED_HOSTS",
        "EMAIL_HOST",
        "AUDIT_CHECKPOINT_PRIVATE_KEY",
        "ENCRYPTION_MASTER_KEYS",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "PORTAL_BASE_URL",
        "BACKUP_ENCRYPTION_KEY",
        "BILLING_REMITTANCE_PAYEE",
        "BILLING_REMITTANCE_ADDRESS",
        "BILLING_REMITTANCE_BANK",
        "TRUST_RECEIPT_PRIVATE_KEY",
    ],
)
def test_production_refuses_to_start_without_a_secret(missing: str) -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert f"{missing} is required but not set" in result.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("prod1:c2hvcnQ=", "master key 'prod1' must be 32 random bytes"),
        ("dev:" + "a" * 43 + "=", "must not contain the development key"),
    ],
)
def test_production_refuses_a_malformed_or_development_master_key(value: str, message: str) -> None:
    result = manage("check", env={**PRODUCTION_ENV, "ENCRYPTION_MASTER_KEYS": value})
    assert result.returncode != 0
    assert message in result.stderr
    assert value.partition(":")[2] not in result.stderr


DEVELOPMENT_AUDIT_KEY_PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJRloojOWIXgXAaqHfBc2QBv7z/t89j2lOc1gbeetVf1\n"
    "-----END PRIVATE KEY-----\n"
)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "AUDIT_CHECKPOINT_PRIVATE_KEY",
            "lGWiiM5YheBcBqod8FzZAG/vP+3z2PaU5zWBt561V/U=",
            "AUDIT_CHECKPOINT_PRIVATE_KEY must not be the development key",
        ),
        (
            "AUDIT_CHECKPOINT_PRIVATE_KEY",
            DEVELOPMENT_AUDIT_KEY_PEM,
            "AUDIT_CHECKPOINT_PRIVATE_KEY must not be the development key",
        ),
        (
            "STRIPE_WEBHOOK_SECRET",
            "whsec_k12cloud_development_only",
            "STRIPE_WEBHOOK_SECRET must not be the development placeholder",
        ),
        (
            "STRIPE_SECRET_KEY",
            "sk_test_k12cloud_development_placeholder",
            "STRIPE_SECRET_KEY must not be the development placeholder",
        ),
        (
            "TRUST_RECEIPT_PRIVATE_KEY",
            "tnfXyUev4vFH9+FL3XmShbsBCupaXIrN225m6bAHX6k=",
            "TRUST_RECEIPT_PRIVATE_KEY must not be the development key",
        ),
        ("ALLOWED_HOSTS", "*", "ALLOWED_HOSTS must not contain '*'"),
        ("ALLOWED_HOSTS", "portal.k-12.cloud,*", "ALLOWED_HOSTS must not contain '*'"),
        ("PORTAL_BASE_URL", "http://portal.k-12.cloud", "PORTAL_BASE_URL must be an https://"),
        ("PORTAL_BASE_URL", "portal.k-12.cloud", "PORTAL_BASE_URL must be an https://"),
        ("PORTAL_BASE_URL", "https://", "PORTAL_BASE_URL must be an https://"),
        ("HEALTHZ_TOKEN", "too-short-to-resist-guessing", "HEALTHZ_TOKEN must be at least 32"),
        (
            "BACKUP_ENCRYPTION_KEY",
            "azEyY2xvdWQtZGV2ZWxvcG1lbnQtYmFja3VwLWtleSE=",
            "BACKUP_ENCRYPTION_KEY must not be the development key",
        ),
        ("BACKUP_ENCRYPTION_KEY", "c2hvcnQta2V5", "BACKUP_ENCRYPTION_KEY must be base64 of 32"),
        ("BACKUP_STORAGE_OPTIONS", "{bucket_name: x", "BACKUP_STORAGE_OPTIONS is not JSON"),
    ],
    ids=[
        "audit-key-base64",
        "audit-key-pem",
        "stripe-webhook-secret",
        "stripe-secret-key",
        "trust-receipt-key",
        "any-host",
        "any-host-among-others",
        "portal-http",
        "portal-no-scheme",
        "portal-no-host",
        "short-health-token",
        "backup-key-development",
        "backup-key-short",
        "backup-storage-options",
    ],
)
def test_production_refuses_development_values(variable: str, value: str, message: str) -> None:
    result = manage("check", env={**PRODUCTION_ENV, variable: value})
    assert result.returncode != 0
    assert message in result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured:"), last_line
    if "SECRET" in variable or "KEY" in variable:
        assert value.strip().splitlines()[1 if "BEGIN" in value else 0] not in result.stderr


def test_a_malformed_database_url_stops_start_up_naming_it() -> None:
    result = manage("check", env={**PRODUCTION_ENV, "DATABASE_URL": "mysql://nope"})
    assert result.returncode != 0
    assert "DATABASE_URL is malformed" in result.stderr


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/db", "scheme must be postgresql"),
        ("postgresql://u@h:notaport/db", "malformed"),
        ("postgresql://u@h:5432/", "names no database"),
    ],
)
def test_database_url_errors(url: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        database_from_url(url)


def test_database_url_socket_form() -> None:
    config = database_from_url("postgresql://app:s%40cret@/k12?host=/run/pg&sslmode=disable")
    assert (config["NAME"], config["USER"], config["PASSWORD"], config["HOST"]) == (
        "k12",
        "app",
        "s@cret",
        "/run/pg",
    )
    assert config["OPTIONS"] == {"sslmode": "disable"}


@pytest.mark.parametrize("key", ["payee", "address", "bank", "email", "tax_id"])
def test_production_refuses_the_development_remittance_details(key: str) -> None:
    """The invoice PDF tells districts where to send money: never the made-up details."""
    from k12cloud.settings.development_values import DEVELOPMENT_BILLING_REMITTANCE

    variable = f"BILLING_REMITTANCE_{key.upper()}"
    result = manage("check", env={**PRODUCTION_ENV, variable: DEVELOPMENT_BILLING_REMITTANCE[key]})
    assert result.returncode != 0
    assert f"{variable} must not be the development value" in result.stderr
