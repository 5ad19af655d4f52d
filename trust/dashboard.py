"""The dashboard's DPA panel (settings.DASHBOARD_PANEL_PROVIDERS): organization admins of a
district or vendor see which DPA version the organization accepted.

Costs one cache round trip when no DPA is published (the banners' platform entry says so),
else one query (the organization's acceptances, few rows).
"""

from __future__ import annotations

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Organization
from accounts.permissions import Role
from k12cloud.dashboard import DashboardPanel
from trust.banners import DPA_KINDS, PLATFORM_KEY
from trust.models import DpaAcceptance


def dpa_panel(*, organization: Organization, membership: Membership) -> DashboardPanel | None:
    if membership.role != Role.ORG_ADMIN or organization.kind not in DPA_KINDS:
        return None
    platform = cache.get(PLATFORM_KEY)
    dpa = platform.get("dpa") if platform else None
    if dpa is None:
        return None
    latest = (
        DpaAcceptance.objects.for_organization(organization)
        .select_related("version")
        .order_by("-version__number")
        .first()
    )
    return DashboardPanel(
        key="trust-dpa",
        title=_("Data Processing Addendum"),
        template="trust/dashboard_panel.html",
        context={
            "target_number": dpa["number"],
            "latest": latest,
            "current": latest is not None
            and latest.version_id in {dpa["id"], *dpa.get("later", [])},
        },
        order=25,
    )
