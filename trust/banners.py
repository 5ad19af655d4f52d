"""The portal's trust banners, from the cache: one round trip to Redis per page, no query.

Three cache entries, read together with one `get_many`:

- `trust:banners`: the platform's part, the same for everyone: versions whose notice is up,
  maintenance windows from 7 days ahead until they end, and the DPA version organizations are
  asked to accept. Written after every publish, schedule, move or cancel, and refreshed every
  minute by the health-check beat task (so banners appear and disappear on time). Missing
  (Redis restarted and no beat yet) means no banners until the next refresh, never a query.
- `trust:org:<id>`: the DPA versions the organization accepted; deleted when it accepts one.
- `trust:user:<org>:<user>`: the banners the member dismissed here; deleted when they dismiss.

The last two are only read from the database when the first one has something to show, and
are then cached for an hour (docs/trust-center.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from accounts.models import Membership, Organization
from accounts.permissions import Role
from trust.models import BannerDismissal, DocumentKind, DpaAcceptance
from trust.selectors import (
    document_state,
    dpa_target,
    maintenance_banner_windows,
    notice_versions,
)

PLATFORM_KEY = "trust:banners"
PLATFORM_TTL = 60 * 60 * 24  # the minute task rewrites it; a day covers a stopped beat
MEMBER_TTL = 60 * 60
# who sees document notices (the issue: organization admins and billing contacts)
NOTICE_ROLES = frozenset({Role.ORG_ADMIN, Role.BILLING_CONTACT})
DPA_KINDS = frozenset({Organization.Kind.DISTRICT, Organization.Kind.VENDOR})


def org_key(organization_id: int) -> str:
    return f"trust:org:{organization_id}"


def user_key(organization_id: int, user_id: int) -> str:
    return f"trust:user:{organization_id}:{user_id}"


def version_banner_key(version_id: int) -> str:
    return f"version:{version_id}"


def maintenance_banner_key(window_id: int, revision: int) -> str:
    return f"maintenance:{window_id}:{revision}"


def platform_banners_refresh(*, now: datetime | None = None) -> dict[str, Any]:
    """Recompute the platform's part from the database and cache it (4 queries)."""
    now = now or timezone.now()
    dpa = dpa_target(now=now)
    later = [
        v.pk
        for v in document_state(DocumentKind.DPA, now=now).upcoming
        if dpa is not None and v.pk != dpa.pk
    ]
    value = {
        "notices": [
            {
                "key": version_banner_key(v.pk),
                "document": v.document,
                "label": str(v.get_document_display()),
                "number": v.number,
                "material": v.material,
                "effective_on": v.effective_on.isoformat(),
                "summary": v.summary[:300],
            }
            for v in notice_versions(now=now)
        ],
        "maintenance": [
            {
                "key": maintenance_banner_key(w.pk, w.revision),
                "kind": w.kind,
                "starts_at": w.starts_at.isoformat(),
                "ends_at": w.ends_at.isoformat(),
                "summary": w.summary[:300],
                "services": list(w.services),
            }
            for w in maintenance_banner_windows(now=now)
        ],
        # accepting the version to accept, or one announced after it, settles the request
        "dpa": {"id": dpa.pk, "number": dpa.number, "later": later} if dpa else None,
    }
    cache.set(PLATFORM_KEY, value, PLATFORM_TTL)
    return value


def organization_banners_forget(organization_id: int) -> None:
    cache.delete(org_key(organization_id))


def member_banners_forget(organization_id: int, user_id: int) -> None:
    cache.delete(user_key(organization_id, user_id))


@dataclass(frozen=True)
class Banners:
    notices: list[dict[str, Any]]
    maintenance: list[dict[str, Any]]
    dpa_request: dict[str, Any] | None

    def __bool__(self) -> bool:
        return bool(self.notices or self.maintenance or self.dpa_request)


NO_BANNERS = Banners(notices=[], maintenance=[], dpa_request=None)


def banners_for(*, membership: Membership) -> Banners:
    """What the member sees at the top of the organization's pages."""
    organization = membership.organization
    keys = [PLATFORM_KEY, org_key(organization.pk), user_key(organization.pk, membership.user_id)]
    found = cache.get_many(keys)
    platform = found.get(PLATFORM_KEY)
    if not platform:
        return NO_BANNERS
    role = membership.role
    notices = platform["notices"] if role in NOTICE_ROLES else []
    dpa = platform["dpa"] if role == Role.ORG_ADMIN and organization.kind in DPA_KINDS else None
    maintenance = platform["maintenance"]
    if not (notices or dpa or maintenance):
        return NO_BANNERS
    dismissed = found.get(keys[2])
    if dismissed is None:
        dismissed = list(
            BannerDismissal.objects.for_organization(organization)
            .filter(user_id=membership.user_id)
            .values_list("key", flat=True)
        )
        cache.set(keys[2], dismissed, MEMBER_TTL)
    dpa_request = None
    if dpa is not None:
        accepted = found.get(keys[1])
        if accepted is None:
            accepted = list(
                DpaAcceptance.objects.for_organization(organization).values_list(
                    "version_id", flat=True
                )
            )
            cache.set(keys[1], accepted, MEMBER_TTL)
        if not {dpa["id"], *dpa.get("later", [])} & set(accepted):
            dpa_request = dpa
    return Banners(
        notices=[n for n in notices if n["key"] not in dismissed],
        maintenance=[m for m in maintenance if m["key"] not in dismissed],
        dpa_request=dpa_request,
    )
