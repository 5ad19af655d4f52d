"""The organization admin's security posture panel of the dashboard (k12cloud.dashboard).

Who has no second factor (and who is required to have one by the organization's policy), who
signs in with an authenticator code only where the organization requires a passkey of admins
and privacy officers, pending invitations, the IP allowlist, API keys near expiry. Three
queries whatever the number of members, invitations or keys: one aggregate each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa.models import WebAuthnCredential
from accounts.mfa.selectors import role_requires_mfa
from accounts.models import ApiKey, Invitation, Membership, Organization
from accounts.permissions import PHISHING_RESISTANT_ROLES, Permission, Role, role_allows
from k12cloud.dashboard import DashboardPanel

# an API key expiring within this many days is shown as near expiry
API_KEY_EXPIRY_WARNING = timedelta(days=30)


@dataclass(frozen=True)
class Posture:
    members: int
    without_mfa: int
    without_mfa_required: int  # of those, members whose role the policy requires it of
    passkey_required: bool
    totp_only_needing_passkey: int
    invitations_pending: int
    invitations_expired: int
    api_keys_active: int
    api_keys_expiring: int


def member_factors(*, organization: Organization) -> dict[str, int]:
    """Active members and their second factors, counted in one query."""
    required_roles = [r.value for r in Role if role_requires_mfa(organization.mfa_policy, r)]
    strong_roles = [r.value for r in PHISHING_RESISTANT_ROLES]
    none = Q(has_totp=False, has_passkey=False)
    counts: dict[str, Any] = {
        "members": Count("pk"),
        "without_mfa": Count("pk", filter=none),
        "totp_only_strong": Count(
            "pk", filter=Q(has_totp=True, has_passkey=False, role__in=strong_roles)
        ),
    }
    # an empty `role__in` would make Django skip the whole query and answer zeros
    if required_roles:
        counts["without_mfa_required"] = Count("pk", filter=none & Q(role__in=required_roles))
    figures: dict[str, int] = (
        Membership.objects.for_organization(organization)
        .filter(is_active=True)
        .annotate(
            has_totp=Exists(TOTPDevice.objects.filter(user_id=OuterRef("user_id"), confirmed=True)),
            has_passkey=Exists(
                WebAuthnCredential.objects.filter(user_id=OuterRef("user_id"), confirmed=True)
            ),
        )
        .aggregate(**counts)
    )
    figures.setdefault("without_mfa_required", 0)
    return figures


def organization_posture(*, organization: Organization) -> Posture:
    now = timezone.now()
    factors = member_factors(organization=organization)
    invitations = (
        Invitation.objects.for_organization(organization)
        .filter(accepted_at__isnull=True, revoked_at__isnull=True)
        .aggregate(
            pending=Count("pk", filter=Q(expires_at__gt=now)),
            expired=Count("pk", filter=Q(expires_at__lte=now)),
        )
    )
    keys = (
        ApiKey.objects.for_organization(organization)
        .filter(revoked_at__isnull=True)
        .exclude(expires_at__lte=now)
        .aggregate(
            active=Count("pk"),
            expiring=Count("pk", filter=Q(expires_at__lte=now + API_KEY_EXPIRY_WARNING)),
        )
    )
    passkey_required = organization.mfa_require_passkey_for_admins
    return Posture(
        members=factors["members"],
        without_mfa=factors["without_mfa"],
        without_mfa_required=factors["without_mfa_required"],
        passkey_required=passkey_required,
        totp_only_needing_passkey=factors["totp_only_strong"] if passkey_required else 0,
        invitations_pending=invitations["pending"],
        invitations_expired=invitations["expired"],
        api_keys_active=keys["active"],
        api_keys_expiring=keys["expiring"],
    )


def posture_panel(*, organization: Organization, membership: Membership) -> DashboardPanel | None:
    if not role_allows(membership.role, Permission.SECURITY_MANAGE):
        return None

    def url(name: str) -> str:
        return reverse(f"accounts:{name}", kwargs={"org_slug": organization.slug})

    context: dict[str, Any] = {
        "posture": organization_posture(organization=organization),
        "allowlist_networks": len(organization.ip_allowlist),
        "allowlist_scope": organization.get_ip_allowlist_scope_display(),
        "mfa_policy": organization.get_mfa_policy_display(),
        "warning_days": API_KEY_EXPIRY_WARNING.days,
        "urls": {
            "members": url("member_list"),
            "invitations": url("invitation_list"),
            "mfa_policy": url("mfa_policy"),
            "ip_allowlist": url("ip_allowlist"),
            "api_keys": url("api_key_list"),
            "security": url("security_settings"),
        },
    }
    return DashboardPanel(
        key="posture",
        title=_("Compliance posture"),
        template="accounts/dashboard_posture.html",
        context=context,
        order=20,
    )
