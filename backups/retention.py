"""Which backups to keep: 7 daily, 5 weekly, 12 monthly (grandfather-father-son).

A pure function over (id, time) pairs, so it can be tested over years of simulated calendar.
For each kind of period (UTC day, ISO week, calendar month), the newest backup of each of the
most recent N periods *that have a backup* is kept; one backup can count for several kinds.
Counting periods that have a backup, rather than the last N calendar periods, means a pause in
backups (an outage, a broken key) never lets pruning delete the last good copies.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

KEEP_DAILY = 7
KEEP_WEEKLY = 5
KEEP_MONTHLY = 12


@dataclass(frozen=True)
class Policy:
    daily: int = KEEP_DAILY
    weekly: int = KEEP_WEEKLY
    monthly: int = KEEP_MONTHLY


def _day(moment: datetime) -> Hashable:
    return moment.astimezone(UTC).date()


def _week(moment: datetime) -> Hashable:
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return (year, week)


def _month(moment: datetime) -> Hashable:
    utc = moment.astimezone(UTC)
    return (utc.year, utc.month)


def reasons_to_keep(
    backups: Iterable[tuple[int, datetime]], policy: Policy = Policy()
) -> dict[int, list[str]]:
    """{backup id: ["daily", "weekly", ...]} for the backups to keep; absent ids are pruned."""
    newest_first = sorted(backups, key=lambda pair: (pair[1], pair[0]), reverse=True)
    keep: dict[int, list[str]] = {}
    rules: list[tuple[str, int, Callable[[datetime], Hashable]]] = [
        ("daily", policy.daily, _day),
        ("weekly", policy.weekly, _week),
        ("monthly", policy.monthly, _month),
    ]
    for name, count, period_of in rules:
        seen: set[Hashable] = set()
        for backup_id, moment in newest_first:
            if len(seen) >= count:
                break
            period = period_of(moment)
            if period in seen:
                continue  # an older backup of a period already represented
            seen.add(period)
            keep.setdefault(backup_id, []).append(name)
    return keep


def to_prune(backups: Iterable[tuple[int, datetime]], policy: Policy = Policy()) -> list[int]:
    """Ids of the backups the policy does not keep, oldest first."""
    pairs = sorted(backups, key=lambda pair: (pair[1], pair[0]))
    keep = reasons_to_keep(pairs, policy)
    return [backup_id for backup_id, _ in pairs if backup_id not in keep]
