"""The organization dashboard's extension point: each app adds its own panels.

`settings.DASHBOARD_PANEL_PROVIDERS` lists dotted paths of callables
`provider(*, organization, membership) -> DashboardPanel | None`. The dashboard
(accounts.views.DashboardView) calls each, in order, inside the organization's tenant context,
and renders every panel returned with `{% include panel.template %}` (the panel is in the
template's context as `panel`). A provider returns None when the member's role has no business
with it, and decides itself what the role may see (a viewer's panel shows no personal data).

Every provider runs on every dashboard load, so it must cost a constant number of queries,
independent of how many rows the organization has (aggregate in SQL, fetch a bounded page);
`accounts/tests/test_dashboard*.py` pins the dashboard's exact query count per role.

Providers are looked up by name, so the kernel and accounts import no domain app
(e.g. `privacy_requests.dashboard.requests_panel`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from accounts.models import Membership, Organization


@dataclass(frozen=True)
class DashboardPanel:
    """One panel of the dashboard: a heading, a template and what the template needs."""

    key: str  # unique, also the id of the panel's heading: "<key>-heading"
    title: Any  # a (lazy) translated string
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    # lower first; the portal's own panels use 10 (work), 20 (posture), 30 (billing)
    order: int = 100


def dashboard_panels(*, organization: Organization, membership: Membership) -> list[DashboardPanel]:
    """The panels the member sees, in order."""
    panels: list[DashboardPanel] = []
    for path in getattr(settings, "DASHBOARD_PANEL_PROVIDERS", ()):
        panel = import_string(path)(organization=organization, membership=membership)
        if panel is not None:
            panels.append(panel)
    return sorted(panels, key=lambda p: p.order)
