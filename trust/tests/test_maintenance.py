"""Planned maintenance: 7 days' notice, 8 hours a year; emergency work; the banner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import unscoped_all_tenants
from trust.banners import platform_banners_refresh
from trust.models import MaintenanceKind, MaintenanceWindow
from trust.services import (
    TrustActionRefused,
    maintenance_budget_remaining,
    maintenance_window_cancel,
    maintenance_window_schedule,
)

pytestmark = pytest.mark.django_db
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def window(start: datetime, duration: timedelta, kind: str = MaintenanceKind.PLANNED, **kw):
    return MaintenanceWindow(
        kind=kind,
        starts_at=start,
        ends_at=start + duration,
        services=kw.pop("services", ["web"]),
        summary=kw.pop("summary", "Upgrade"),
        **kw,
    )


def test_a_window_6_days_23_hours_ahead_is_refused_7_days_accepted() -> None:
    with time_machine.travel(NOW, tick=False):
        with pytest.raises(TrustActionRefused) as refused:
            maintenance_window_schedule(
                window=window(NOW + timedelta(days=6, hours=23), timedelta(hours=1))
            )
        assert refused.value.message_dict["starts_at"] == [
            "Planned maintenance needs 7 days' notice: the earliest allowed start is "
            "2027-03-08 12:00 UTC."
        ]
        assert MaintenanceWindow.objects.count() == 0
        done = maintenance_window_schedule(
            window=window(NOW + timedelta(days=7), timedelta(hours=1))
        )
    assert done.pk is not None
    with unscoped_all_tenants(reason="test"):
        assert AuditEvent.objects.filter(action=Action.TRUST_MAINTENANCE_SCHEDULED).count() == 1


def test_a_window_that_would_make_8_hours_1_minute_in_the_year_is_refused() -> None:
    with time_machine.travel(NOW, tick=False):
        maintenance_window_schedule(window=window(NOW + timedelta(days=10), timedelta(hours=6)))
        maintenance_window_schedule(window=window(NOW + timedelta(days=20), timedelta(hours=1)))
        assert maintenance_budget_remaining(2027) == timedelta(hours=1)
        with pytest.raises(TrustActionRefused) as refused:
            maintenance_window_schedule(
                window=window(NOW + timedelta(days=30), timedelta(hours=1, minutes=1))
            )
        assert refused.value.message_dict["ends_at"] == [
            "This window would bring planned downtime in 2027 above 8 hours: 1 h 00 min "
            "remain, the window takes 1 h 01 min."
        ]
        # exactly 8 hours is allowed
        maintenance_window_schedule(window=window(NOW + timedelta(days=30), timedelta(hours=1)))
        assert maintenance_budget_remaining(2027) == timedelta(0)


def test_cancelled_windows_give_their_time_back_and_years_are_counted_apart() -> None:
    with time_machine.travel(datetime(2027, 12, 1, tzinfo=UTC), tick=False):
        first = maintenance_window_schedule(
            window=window(datetime(2027, 12, 31, 20, tzinfo=UTC), timedelta(hours=8))
        )
        assert maintenance_budget_remaining(2027) == timedelta(hours=4)
        assert maintenance_budget_remaining(2028) == timedelta(hours=4)
        maintenance_window_cancel(window_id=first.pk)
        assert maintenance_budget_remaining(2027) == timedelta(hours=8)


def test_emergency_maintenance_needs_a_reason_not_notice_and_is_outside_the_budget() -> None:
    with time_machine.travel(NOW, tick=False):
        with pytest.raises(TrustActionRefused, match="needs a reason"):
            maintenance_window_schedule(
                window=window(NOW, timedelta(hours=9), kind=MaintenanceKind.EMERGENCY)
            )
        maintenance_window_schedule(
            window=window(
                NOW, timedelta(hours=9), kind=MaintenanceKind.EMERGENCY, reason="Security patch"
            )
        )
        assert maintenance_budget_remaining(2027) == timedelta(hours=8)


def test_moving_a_window_checks_the_rules_again_and_bumps_the_revision() -> None:
    with time_machine.travel(NOW, tick=False):
        scheduled = maintenance_window_schedule(
            window=window(NOW + timedelta(days=8), timedelta(hours=2))
        )
        scheduled.starts_at = NOW + timedelta(days=2)
        with pytest.raises(TrustActionRefused, match="7 days' notice"):
            maintenance_window_schedule(window=scheduled)
        scheduled = MaintenanceWindow.objects.get()
        scheduled.starts_at += timedelta(days=1)
        scheduled.ends_at += timedelta(days=1)
        moved = maintenance_window_schedule(window=scheduled)
        assert moved.revision == 2
        with unscoped_all_tenants(reason="test"):
            assert AuditEvent.objects.filter(action=Action.TRUST_MAINTENANCE_CHANGED).count() == 1


def test_every_member_sees_the_maintenance_banner_from_seven_days_ahead_in_local_time() -> None:
    org = OrganizationFactory(slug="lincoln-usd", time_zone="America/Los_Angeles")
    with time_machine.travel(NOW, tick=False):
        maintenance_window_schedule(
            window=window(NOW + timedelta(days=8), timedelta(hours=2), summary="DB upgrade")
        )
        platform_banners_refresh()
        billing = sign_in(Client(), member(org, Role.BILLING_CONTACT))
        dashboard = reverse("accounts:dashboard", kwargs={"org_slug": org.slug})
        assert "DB upgrade" not in billing.get(dashboard).content.decode()  # 8 days ahead
    with time_machine.travel(NOW + timedelta(days=1, minutes=1), tick=False):
        platform_banners_refresh()
        billing = sign_in(Client(), member(org, Role.BILLING_CONTACT))
        page = billing.get(dashboard).content.decode()
        assert "Planned maintenance" in page and "DB upgrade" in page
        # 12:00 UTC on March 9th is 4 a.m. in Los Angeles
        assert "from March 9, 2027, 4 a.m. to March 9, 2027, 6 a.m. (America/Los_Angeles)" in page
