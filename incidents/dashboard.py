"""The incident panel on the organization dashboard, while any leg is open (one query)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Organization
from accounts.permissions import Permission, role_allows
from incidents.selectors import open_legs_summary
from k12cloud.dashboard import DashboardPanel


def incidents_panel(*, organization: Organization, membership: Membership) -> DashboardPanel | None:
    if not role_allows(membership.role, Permission.INCIDENTS_VIEW):
        return None
    summary = open_legs_summary(organization=organization)
    if not summary["legs"]:
        return None
    return DashboardPanel(
        key="incidents",
        title=_("Security incidents"),
        template="incidents/dashboard_panel.html",
        context=summary,
        order=5,
    )
