"""Reads of the public intake: the organization by its slug, the rights it offers, links."""

from __future__ import annotations

from accounts.models import Organization
from k12cloud.tenancy import tenant_context, unscoped_all_tenants
from privacy_requests.deadlines import RequestType
from privacy_requests.models import RequesterToken
from privacy_requests.rules.selectors import organization_rule_ids

# Offered to everyone (the k12cloud policy covers them); more where a law gives the right.
_ALWAYS = (
    RequestType.ACCESS,
    RequestType.CORRECT,
    RequestType.DELETE,
    RequestType.PORTABILITY,
    RequestType.OPT_OUT,
    RequestType.WITHDRAW_CONSENT,
)
_BY_RULE = {
    "ferpa": (RequestType.FERPA_INSPECT, RequestType.FERPA_AMEND),
    "ccpa": (RequestType.LIMIT_SENSITIVE,),
}


def intake_organization(*, slug: str) -> Organization | None:
    """The organization whose public form this is; None when unknown or terminated.

    Organizations are platform-level rows: no tenant context is needed to find one by slug.
    """
    return Organization.objects.filter(slug=slug, status=Organization.Status.ACTIVE).first()


def intake_offer(*, organization: Organization) -> tuple[tuple[str, ...], bool]:
    """The request types the form offers, and whether CCPA applies (GPC means opt-out)."""
    with tenant_context(organization):
        rule_ids = organization_rule_ids(organization=organization)
    offered: list[str] = list(_ALWAYS)
    for rule_id, types in _BY_RULE.items():
        if rule_id in rule_ids:
            offered.extend(types)
    return tuple(offered), "ccpa" in rule_ids


def requester_token_for(*, token: str, purpose: str) -> RequesterToken | None:
    """The link a public secret names, in whichever organization, or None.

    The one cross-tenant read of requester links: the visitor has no organization. It reads a
    single row by the hash of a 256-bit secret; anything done with it afterwards happens in
    `tenant_context(row.organization)`.
    """
    with unscoped_all_tenants(reason="look up a requester's public link by its token hash"):
        return (
            RequesterToken.objects.select_related("organization")
            .filter(
                token_hash=RequesterToken.hash_token(token),
                purpose=purpose,
                organization__status=Organization.Status.ACTIVE,
            )
            .first()
        )
