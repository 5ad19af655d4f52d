"""Retention selection (7 daily, 5 weekly, 12 monthly) over a long simulated calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backups.retention import Policy, reasons_to_keep, to_prune


def at(day: date, hour: int = 2, minute: int = 13) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def simulate(
    start: date, days: int, *, skip: frozenset[date] | set[date] = frozenset()
) -> dict[int, datetime]:
    """A daily backup at 02:13 UTC, pruned right after it is made (as the beat task does)."""
    alive: dict[int, datetime] = {}
    for offset in range(days):
        day = start + timedelta(days=offset)
        if day in skip:
            continue
        alive[offset] = at(day)
        for backup_id in to_prune(alive.items()):
            del alive[backup_id]
        assert len(alive) <= 7 + 5 + 12
    return alive


def test_two_and_a_half_years_of_daily_backups_keep_exactly_the_policy() -> None:
    start = date(2024, 1, 1)
    days = 915  # to 2026-07-03, through a leap year and ISO week 53 of 2026's neighbours
    alive = simulate(start, days)
    today = start + timedelta(days=days - 1)
    kept_days = sorted(moment.date() for moment in alive.values())

    dailies = {today - timedelta(days=n) for n in range(7)}
    # the newest backup of each of the 5 newest ISO weeks: today, then the previous Sundays
    sundays = [today - timedelta(days=today.isoweekday() % 7 + 7 * n) for n in range(5)]
    weeklies = {today, *(d for d in sundays if d.isocalendar()[:2] != today.isocalendar()[:2])}
    weeklies = set(sorted(weeklies, reverse=True)[:5])
    # the newest of each of the 12 newest months: today, then the last day of the 11 before
    monthlies = {today}
    first = today.replace(day=1)
    for _ in range(11):
        last_of_previous = first - timedelta(days=1)
        monthlies.add(last_of_previous)
        first = last_of_previous.replace(day=1)
    assert kept_days == sorted(dailies | weeklies | monthlies)
    assert min(kept_days) == date(2025, 8, 31)


def test_incremental_pruning_agrees_with_a_single_pass_over_the_whole_history() -> None:
    start = date(2025, 3, 17)
    history = {n: at(start + timedelta(days=n)) for n in range(500)}
    once = {n: history[n] for n in history if n not in set(to_prune(history.items()))}
    assert simulate(start, 500) == once


def test_a_pause_in_backups_never_deletes_the_last_good_copies() -> None:
    start = date(2026, 1, 1)
    outage = {start + timedelta(days=n) for n in range(100, 160)}  # two months without backups
    alive = simulate(start, 160, skip=outage)
    newest_before_outage = [start + timedelta(days=n) for n in range(93, 100)]
    kept_days = {moment.date() for moment in alive.values()}
    assert set(newest_before_outage) <= kept_days  # still the 7 "daily" ones


def test_several_backups_a_day_keep_the_newest_of_each_day() -> None:
    day = date(2026, 5, 4)
    backups = [(n, at(day, hour=n)) for n in range(24)]
    assert reasons_to_keep(backups) == {23: ["daily", "weekly", "monthly"]}
    assert to_prune(backups) == list(range(23))


def test_reasons_name_every_rule_a_backup_satisfies() -> None:
    # a Sunday that is also the last day of a month: daily, weekly and monthly at once
    sunday = date(2026, 5, 31)
    assert sunday.isoweekday() == 7
    backups = [(n, at(sunday - timedelta(days=n))) for n in range(40)]
    reasons = reasons_to_keep(backups)
    assert reasons[0] == ["daily", "weekly", "monthly"]
    assert reasons[7] == ["weekly"]  # the Sunday before
    # 2026-04-30, a Thursday: the newest of April, but its ISO week ends on Sunday 3 May
    assert reasons[31] == ["monthly"]
    assert reasons[28] == ["weekly"]
    assert sorted(reasons) == [0, 1, 2, 3, 4, 5, 6, 7, 14, 21, 28, 31]


@pytest.mark.parametrize(("daily", "weekly", "monthly"), [(0, 0, 0), (1, 0, 0), (3, 2, 1)])
def test_other_policies(daily: int, weekly: int, monthly: int) -> None:
    start = date(2026, 1, 1)
    backups = [(n, at(start + timedelta(days=n))) for n in range(200)]
    kept = reasons_to_keep(backups, Policy(daily=daily, weekly=weekly, monthly=monthly))
    assert sum(r.count("daily") for r in kept.values()) == daily
    assert sum(r.count("weekly") for r in kept.values()) == weekly
    assert sum(r.count("monthly") for r in kept.values()) == monthly
