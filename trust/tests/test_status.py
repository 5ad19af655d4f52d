"""The status page: health checks recorded each minute, availability, the bars, JSON."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client, override_settings
from django.urls import reverse

from trust.health import availability, daily_availability, health_check_record, incidents
from trust.models import HealthCheck, MaintenanceKind, MaintenanceWindow

pytestmark = pytest.mark.django_db
NOW = datetime(2027, 3, 31, 0, 0, tzinfo=UTC)
START = NOW - timedelta(days=30)


def record_minutes(
    start: datetime, minutes: int, *, failed: frozenset[int] | set[int] = frozenset()
) -> None:
    HealthCheck.objects.bulk_create(
        HealthCheck(
            minute=start + timedelta(minutes=n),
            web=n not in failed,
            database=True,
            redis=True,
            worker=True,
            beat=True,
        )
        for n in range(minutes)
    )


def test_43_failed_minutes_in_30_days_is_99_90_percent() -> None:
    record_minutes(START, 30 * 24 * 60, failed=set(range(1000, 1043)))
    result = availability(start=START, end=NOW)
    assert (result.minutes, result.failed_minutes, result.recorded_minutes) == (43200, 43, 43200)
    assert result.percent == "99.90"  # 1 - 43 / 43,200 = 0.99900...
    assert result.meets_commitment
    record_minutes(NOW, 1, failed={0})  # outside the period: not counted
    assert availability(start=START, end=NOW).failed_minutes == 43


def test_44_failed_minutes_miss_the_commitment_and_round_down() -> None:
    HealthCheck.objects.bulk_create(
        HealthCheck(
            minute=START + timedelta(minutes=n),
            web=False,
            database=True,
            redis=True,
            worker=True,
            beat=True,
        )
        for n in range(44)
    )
    result = availability(start=START, end=NOW)
    assert result.percent == "99.89"  # 0.998981...: never rounded up to the commitment
    assert not result.meets_commitment


def test_planned_maintenance_is_excluded_emergency_is_not() -> None:
    planned = MaintenanceWindow.objects.create(
        kind=MaintenanceKind.PLANNED,
        starts_at=START + timedelta(days=3),
        ends_at=START + timedelta(days=3, hours=2),
        services=["web"],
        summary="Upgrade",
    )
    MaintenanceWindow.objects.create(
        kind=MaintenanceKind.EMERGENCY,
        starts_at=START + timedelta(days=5),
        ends_at=START + timedelta(days=5, minutes=30),
        services=["web"],
        summary="Patch",
        reason="CVE",
    )
    # down for the whole planned window (120 minutes) and the emergency one (30 minutes)
    HealthCheck.objects.bulk_create(
        [
            *(
                HealthCheck(
                    minute=planned.starts_at + timedelta(minutes=n),
                    web=False,
                    database=True,
                    redis=True,
                    worker=True,
                    beat=True,
                )
                for n in range(120)
            ),
            *(
                HealthCheck(
                    minute=START + timedelta(days=5, minutes=n),
                    web=False,
                    database=True,
                    redis=True,
                    worker=True,
                    beat=True,
                )
                for n in range(30)
            ),
        ]
    )
    result = availability(start=START, end=NOW)
    assert (result.maintenance_minutes, result.failed_minutes) == (120, 30)
    assert result.percent == "99.93"  # 1 - 30 / (43,200 - 120)
    days = daily_availability(last_day=(NOW - timedelta(days=1)).date(), days=30)
    assert [d.failed_minutes for d in days if d.failed_minutes] == [30]
    assert days[3].maintenance_minutes == 120 and days[3].level == "none"


def test_a_check_is_recorded_once_per_minute(live_server) -> None:
    # no beat writes this key; workers are not asserted: other tests run real ones on this broker
    heartbeat_key = f"k12cloud-test:{uuid.uuid4().hex}:heartbeat"
    with override_settings(
        TRUST_WEB_CHECK_URL=live_server.url + "/healthz/", BEAT_HEARTBEAT_KEY=heartbeat_key
    ):
        with time_machine.travel(datetime(2027, 3, 1, 12, 0, 5, tzinfo=UTC), tick=False):
            first = health_check_record()
        with time_machine.travel(datetime(2027, 3, 1, 12, 0, 50, tzinfo=UTC), tick=False):
            second = health_check_record()
    assert first.pk == second.pk
    assert first.minute == datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    assert (first.web, first.database, first.redis) == (True, True, True)
    assert first.beat is False


def test_an_unreachable_web_check_is_a_failed_minute_and_old_checks_go() -> None:
    record_minutes(datetime.now(UTC) - timedelta(days=401), 2)
    with override_settings(TRUST_WEB_CHECK_URL="http://127.0.0.1:9/healthz/"):
        check = health_check_record()
    assert check.web is False and not check.portal_up
    assert list(HealthCheck.objects.all()) == [check]  # 400 days and more ago: deleted


def test_status_page_and_json_show_components_window_and_bars(django_assert_num_queries) -> None:
    record_minutes(NOW - timedelta(days=2), 2 * 24 * 60, failed={5, 6, 7})
    MaintenanceWindow.objects.create(
        kind=MaintenanceKind.PLANNED,
        starts_at=NOW + timedelta(days=9),
        ends_at=NOW + timedelta(days=9, hours=1),
        services=["web", "api"],
        summary="Database upgrade",
    )
    with time_machine.travel(NOW + timedelta(seconds=30), tick=False):
        client = Client()
        # the request's 3, latest check, windows ahead (2: list and in progress), past,
        # 30 and 90 days (2 each), the daily bars (2), the outages (2)
        with django_assert_num_queries(3 + 12):
            page = client.get(reverse("trust:status"))
        text = page.content.decode()
        assert page.status_code == 200
        assert "Database upgrade" in text and "2027-04-09 00:00" in text
        assert text.count("<rect ") == 90
        assert 'role="img"' in text and '<title id="bars-title">' in text
        assert "Operational" in text
        data = client.get(reverse("trust:status_json")).json()
    assert data["components"] == {
        "web": "operational",
        "api": "operational",
        "background": "operational",
        "email": "operational",
    }
    assert data["maintenance_ahead"][0]["summary"] == "Database upgrade"
    assert data["availability"]["last_30_days_failed_minutes"] == 3
    assert data["incidents"] == [
        {
            "start": (NOW - timedelta(days=2, minutes=-5)).isoformat(),
            "end": (NOW - timedelta(days=2, minutes=-8)).isoformat(),
            "minutes": 3,
            "during_planned_maintenance": False,
        }
    ]
    assert len(data["daily"]) == 90
    assert data["daily"][-3] == {"date": "2027-03-29", "percent": "99.79", "failed_minutes": 3}


def test_without_recent_checks_the_state_is_unknown() -> None:
    data = Client().get(reverse("trust:status_json")).json()
    assert set(data["components"].values()) == {"unknown"}


def test_outages_are_runs_of_failed_minutes_newest_first() -> None:
    record_minutes(START, 600, failed={10, 11, 12, 300, 301})
    found = incidents(start=START, end=NOW)
    assert [(i.start - START, i.minutes) for i in found] == [
        (timedelta(minutes=300), 2),
        (timedelta(minutes=10), 3),
    ]
    assert found[1].end == START + timedelta(minutes=13)
