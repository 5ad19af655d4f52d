"""IP allowlists: per organization (portal and API), and deployment-wide for the ops admin.

An organization's list (Organization.ip_allowlist, CIDRs) restricts its admins, or every role
(`ip_allowlist_scope`); an empty list restricts nobody. The client address comes from
k12cloud.client_ip, which believes X-Forwarded-For only from TRUSTED_PROXIES.

A refusal is answered, not raised: TenancyMiddleware rolls back a request whose view raises,
and the ACCESS_REFUSED_BY_IP audit event must survive.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import Membership, Organization
from accounts.permissions import Role
from audit.actions import Action
from audit.services import record
from k12cloud.client_ip import Address, Network, client_address


def parse_networks(entries: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def address_allowed(address: Address | None, networks: Iterable[Network]) -> bool:
    """Whether `address` is in one of `networks` (an IPv4 address is never in an IPv6 network)."""
    if address is None:
        return False
    return any(address.version == network.version and address in network for network in networks)


def restricts(organization: Organization, role: str) -> bool:
    """Whether the organization's allowlist applies to a member with `role`."""
    if not organization.ip_allowlist:
        return False
    if organization.ip_allowlist_scope == Organization.AllowlistScope.EVERYONE:
        return True
    return role == Role.ORG_ADMIN


def is_refused(request: HttpRequest, organization: Organization, role: str) -> bool:
    if not restricts(organization, role):
        return False
    return not address_allowed(client_address(request), parse_networks(organization.ip_allowlist))


def _record_refusal(organization: Organization, membership: Membership | None, role: str) -> None:
    record(
        Action.ACCESS_REFUSED_BY_IP,
        organization=organization,
        target=membership,
        changes={"role": role, "scope": organization.ip_allowlist_scope},
    )


def refusal_for(
    request: HttpRequest, organization: Organization, membership: Membership
) -> HttpResponse | None:
    """A 403 page (and an audit event) when the member's address is not allowed, else None.

    Called by k12cloud.portal.OrganizationView right after the membership is resolved.
    """
    if not is_refused(request, organization, membership.role):
        return None
    _record_refusal(organization, membership, membership.role)
    return render(
        request,
        "accounts/security/ip_refused.html",
        {"refused_organization": organization, "client_ip": client_address(request)},
        status=403,
    )


def api_refused(
    request: HttpRequest, organization: Organization, role: str, membership: Membership | None
) -> bool:
    """For k12cloud.api.OrganizationViewSet: records the refusal and says whether to refuse.

    The viewset raises DRF's PermissionDenied, which DRF answers itself (no rollback: the
    project does not use ATOMIC_REQUESTS).
    """
    if not is_refused(request, organization, role):
        return False
    _record_refusal(organization, membership, role)
    return True


def ops_admin_refusal(request: HttpRequest) -> HttpResponse | None:
    """The Django admin's deployment-wide allowlist (OPS_ADMIN_IP_ALLOWLIST); empty: open."""
    entries = settings.OPS_ADMIN_IP_ALLOWLIST
    if not entries or address_allowed(client_address(request), parse_networks(entries)):
        return None
    record(Action.ACCESS_REFUSED_BY_IP, organization=None, changes={"area": "ops_admin"})
    return render(
        request,
        "accounts/security/ip_refused.html",
        {"refused_organization": None, "client_ip": client_address(request)},
        status=403,
    )
