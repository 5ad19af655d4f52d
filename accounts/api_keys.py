"""Organization API keys: tokens, the services that create and revoke keys, and the lookup
that authenticates a request's token (used by accounts.api.authentication).

A token reads `k12_<prefix>_<secret>`: the prefix is public (shown in lists and audit events,
and it finds the key), the secret is 32 random bytes of which only the SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiKey, Organization, User
from accounts.permissions import Role
from audit.actions import Action
from audit.services import record
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

_PREFIX_BYTES = 6  # 12 hex characters: public, only needs to be unique
_SECRET_BYTES = 32


@dataclass(frozen=True)
class NewApiKey:
    key: ApiKey
    # the only copy of the token: show it once, never store or log it
    token: str


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _parse_token(token: str) -> tuple[str, str] | None:
    marker, _sep, rest = token.partition("_")
    prefix, _sep, secret = rest.partition("_")
    if marker != ApiKey.TOKEN_PREFIX or not prefix or not secret or len(token) > 200:
        return None
    return prefix, secret


def looks_like_api_key(token: str) -> bool:
    return token.startswith(f"{ApiKey.TOKEN_PREFIX}_")


# --- Selectors --------------------------------------------------------------------------------


def api_key_list(*, organization: Organization) -> QuerySet[ApiKey]:
    """Every key of the organization, newest first (revoked ones too: they explain history)."""
    return (
        ApiKey.objects.for_organization(organization)
        .select_related("created_by")
        .order_by("-created_at", "-pk")
    )


def api_key_get(*, organization: Organization, key_id: int) -> ApiKey | None:
    return api_key_list(organization=organization).filter(pk=key_id).first()


# --- Services ---------------------------------------------------------------------------------


def api_key_create(
    *,
    organization: Organization,
    user: User,
    name: str,
    role: Role,
    expires_at: datetime | None,
) -> NewApiKey:
    """Create a key acting with `role` and return it with its token (the only copy)."""
    for _attempt in range(3):
        prefix = secrets.token_hex(_PREFIX_BYTES)
        secret = secrets.token_urlsafe(_SECRET_BYTES)
        try:
            # a savepoint of its own: a collision rolls back only this attempt
            with tenant_context(organization):
                key = ApiKey.objects.create(
                    organization=organization,
                    name=name,
                    role=role,
                    prefix=prefix,
                    secret_hash=_hash_secret(secret),
                    created_by=user,
                    expires_at=expires_at,
                )
                record(
                    Action.API_KEY_CREATED,
                    organization=organization,
                    target=key,
                    changes={
                        "prefix": prefix,
                        "role": str(role),
                        "expires_at": expires_at.isoformat() if expires_at else None,
                    },
                )
        except IntegrityError:  # a prefix collision (48 random bits): draw again
            continue
        return NewApiKey(key=key, token=f"{ApiKey.TOKEN_PREFIX}_{prefix}_{secret}")
    raise RuntimeError("Could not draw a unique API key prefix.")


def api_key_revoke(*, organization: Organization, user: User, key_id: int) -> ApiKey | None:
    """Revoke a key; it stops working at once. Revoking a revoked key changes nothing.

    Returns None when the organization has no such key.
    """
    with tenant_context(organization):
        key = (
            ApiKey.objects.for_organization(organization)
            .filter(pk=key_id)
            .select_for_update()
            .first()
        )
        if key is None or key.revoked_at is not None:
            return key
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        record(
            Action.API_KEY_REVOKED,
            organization=organization,
            target=key,
            changes={"prefix": key.prefix, "role": key.role},
        )
    return key


# --- Authentication ---------------------------------------------------------------------------


class ApiKeyRefused(Exception):
    """The token does not authenticate; the message is safe to show to the caller."""


# compared against when the prefix is unknown, so both failures take the same work
_NO_SUCH_KEY_HASH = _hash_secret("no such key")


def api_key_authenticate(token: str) -> ApiKey:
    """The usable key for `token` (with its organization loaded), or ApiKeyRefused.

    Records the use in `last_used_at`, at most once per ApiKey.LAST_USED_RESOLUTION.
    """
    parsed = _parse_token(token)
    if parsed is None:
        raise ApiKeyRefused(_("Malformed API key."))
    prefix, secret = parsed
    # The caller has no organization yet: the key says which one. Read one row by its prefix.
    with unscoped_all_tenants(reason="authenticate an API key by its public prefix"):
        key = ApiKey.objects.select_related("organization").filter(prefix=prefix).first()
    expected = key.secret_hash if key is not None else _NO_SUCH_KEY_HASH
    if not hmac.compare_digest(_hash_secret(secret), expected) or key is None:
        raise ApiKeyRefused(_("Invalid API key."))
    # Only someone holding the secret learns why a genuine key no longer works.
    now = timezone.now()
    if key.is_revoked:
        raise ApiKeyRefused(_("This API key has been revoked."))
    if key.is_expired(now):
        raise ApiKeyRefused(_("This API key has expired."))
    if not key.organization.is_active:
        raise ApiKeyRefused(_("This API key's organization is no longer active."))
    stale_before = now - ApiKey.LAST_USED_RESOLUTION
    if key.last_used_at is None or key.last_used_at < stale_before:
        with tenant_context(key.organization):
            # conditional, so concurrent requests do not write the row twice
            ApiKey.objects.filter(pk=key.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale_before)
            ).update(last_used_at=now)
        key.last_used_at = now
    return key
