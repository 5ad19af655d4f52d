"""Breach-notification deadlines: pure computation over legs kept as data (no Django).

A *leg* is one duty (who notifies whom, from which event); a regime (a law) has several. Each
leg row (`LegRule`) gives its period: calendar days, business days on its jurisdiction's
holidays, hours, or no number at all. `compute(legs, events, tz, facts)` gives each leg its due
time and marks, per recipient, the earliest one as binding. The counting conventions
(docs/incidents.md):

- calendar days: the event's local date in the obligated organization's time zone, plus N;
  due at the end of that local day (23:59:59 with that day's UTC offset);
- business days: Monday to Friday less the leg's calendar holidays as observed (the
  `privacy_requests.deadlines.calendars` counting the request deadlines use), due at the end
  of the last one;
- hours: exact elapsed time from the event's instant (72 hours across a DST change are 72
  real hours);
- no number ("without undue delay", "most expedient time"): no due time, never binds;
- a law-enforcement delay suspends the legs that allow it; for New York, the leg is then due
  7 calendar days after the risk ends;
- a leg whose start event is not known yet is waiting; one whose conditions are not met
  (affected residents below a threshold, other data categories) does not apply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from privacy_requests.deadlines.calendars import US_FEDERAL, CalendarSpec, business_day_add


class Event(StrEnum):
    DISCOVERY = "discovery"
    DETERMINATION = "determination"
    AWARENESS = "awareness"
    NOTICE_RECEIVED = "notice_received"
    INDIVIDUALS_NOTIFIED = "individuals_notified"
    RISK_ENDED = "risk_ended"


EVENTS: frozenset[str] = frozenset(Event)


class LegUnit(StrEnum):
    CALENDAR_DAYS = "calendar_days"
    BUSINESS_DAYS = "business_days"
    HOURS = "hours"


class DelayKind(StrEnum):
    NONE = "none"
    # suspended while the delay lasts; the rule names no period once the risk ends
    SUSPEND = "suspend"
    # suspended, then due a period after the risk ends (New York: 7 calendar days)
    SUSPEND_THEN_PERIOD = "suspend_then_period"


class Party(StrEnum):
    """Which side of a cascade owes the leg."""

    VENDOR = "vendor"  # contractor, operator, processor, non-owner
    DISTRICT = "district"  # educational agency, board, school, controller
    ANY = "any"  # whoever owns the data (a state breach law)


class LegStatus(StrEnum):
    DUE = "due"
    NO_NUMERIC_DEADLINE = "no_numeric_deadline"
    WAITING = "waiting"  # the start event has not happened (or is not known)
    SUSPENDED = "suspended"  # law-enforcement delay in force
    NOT_APPLICABLE = "not_applicable"  # a condition is not met
    DISABLED = "disabled"  # below high confidence, or disabled by ops staff


# Legs per unit may be at most a year of it: no breach law sets longer.
UNIT_MAXIMUM: Mapping[LegUnit, int] = {
    LegUnit.CALENDAR_DAYS: 366,
    LegUnit.BUSINESS_DAYS: 260,
    LegUnit.HOURS: 366 * 24,
}


class BreachDeadlineError(Exception):
    """Base class of the errors the breach engine raises."""


class UnknownTimeZone(BreachDeadlineError, ValueError):
    pass


class NaiveDatetime(BreachDeadlineError, ValueError):
    pass


class UnknownEvent(BreachDeadlineError, ValueError):
    pass


@dataclass(frozen=True, slots=True)
class LegRule:
    """One row of the breach rules table: one leg (or one variant of it) of one regime.

    A leg may have several rows (`part`): Connecticut's contractor leg is 30 days for student
    information and 60 for other categories; California's residents leg has no number before
    2026-01-01 and 30 days from then. `start_events` are tried in order: the first one known
    starts the clock ("notice_received, or discovery when the agency finds it").
    """

    regime: str
    leg: str
    recipient: str  # slug: legs to the same recipient bind together (the earliest binds)
    start_events: tuple[str, ...]
    citation: str
    confidence: str
    part: str = "default"
    party: Party = Party.ANY
    recipient_label: str = ""
    amount: int | None = None
    unit: LegUnit | None = None
    wording: str = ""  # the statute's words when it sets no number ("without undue delay")
    calendar: CalendarSpec = US_FEDERAL
    residents_of: str = ""  # condition: residents of this state/province ...
    min_residents: int | None = None  # ... at least this many (> 500 is stored as 501)
    categories: frozenset[str] = frozenset()  # condition: any of these data categories
    delay: DelayKind = DelayKind.NONE
    delay_amount: int | None = None
    delay_unit: LegUnit | None = None
    effective_from: date | None = None  # judged on the start event's local date
    effective_to: date | None = None  # inclusive
    enabled: bool = True
    version: int = 1
    notes: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "start_events", tuple(self.start_events))
        object.__setattr__(self, "categories", frozenset(self.categories))
        object.__setattr__(self, "party", Party(self.party))
        object.__setattr__(self, "delay", DelayKind(self.delay))
        unknown = set(self.start_events) - EVENTS
        if unknown or not self.start_events:
            raise UnknownEvent(f"{self.key}: unknown start event(s) {sorted(unknown)}")
        for amount, unit, name in (
            (self.amount, self.unit, "period"),
            (self.delay_amount, self.delay_unit, "delay period"),
        ):
            if (amount is None) != (unit is None):
                raise ValueError(f"{self.key}: the {name} needs both an amount and a unit")
            if amount is not None and unit is not None:
                unit = LegUnit(unit)
                if amount < 1 or amount > UNIT_MAXIMUM[unit]:
                    raise ValueError(
                        f"{self.key}: the {name} must be 1 to {UNIT_MAXIMUM[unit]} {unit}"
                    )
        if self.unit is not None:
            object.__setattr__(self, "unit", LegUnit(self.unit))
        if self.delay_unit is not None:
            object.__setattr__(self, "delay_unit", LegUnit(self.delay_unit))
        if (self.delay is DelayKind.SUSPEND_THEN_PERIOD) != (self.delay_amount is not None):
            raise ValueError(f"{self.key}: a period after the delay goes with suspend_then_period")
        if (self.min_residents is None) != (not self.residents_of):
            raise ValueError(f"{self.key}: a residents threshold needs its jurisdiction")

    @property
    def key(self) -> str:
        return f"{self.regime}/{self.leg}/{self.part}"

    def in_force_on(self, day: date) -> bool:
        return (self.effective_from is None or self.effective_from <= day) and (
            self.effective_to is None or day <= self.effective_to
        )


@dataclass(frozen=True, slots=True)
class Facts:
    """What is known of the incident that conditions depend on."""

    categories: frozenset[str] | None = None  # None: not known, every category leg applies
    affected: int | None = None
    residents: Mapping[str, int] = field(default_factory=dict)
    # a law-enforcement delay: in force (risk_ended None) or ended on that date
    delay_requested: bool = False
    risk_ended_on: date | None = None


@dataclass(frozen=True, slots=True)
class LegDeadline:
    rule: LegRule
    status: LegStatus
    start_event: str | None
    started_at: datetime | None
    due_at: datetime | None
    binding: bool = False
    reason: str = ""

    @property
    def no_numeric_deadline(self) -> bool:
        return self.status is LegStatus.NO_NUMERIC_DEADLINE

    def to_json_dict(self, zone: ZoneInfo) -> dict[str, Any]:
        rule = self.rule
        return {
            "regime": rule.regime,
            "leg": rule.leg,
            "part": rule.part,
            "recipient": rule.recipient,
            "recipient_label": rule.recipient_label,
            "start_event": self.start_event or rule.start_events[0],
            "started_at": _iso(self.started_at, zone),
            "due_at": _iso(self.due_at, zone),
            "period": None if rule.amount is None else f"{rule.amount} {rule.unit}",
            "no_numeric_deadline": self.no_numeric_deadline,
            "wording": rule.wording,
            "status": self.status.value,
            "binding": self.binding,
            "reason": self.reason,
            "citation": rule.citation,
            "confidence": rule.confidence,
            "version": rule.version,
        }


def _iso(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return None if moment is None else moment.astimezone(zone).isoformat()


@lru_cache(maxsize=64)
def zone_for(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimeZone(f"unknown time zone {tz!r}") from exc


def end_of_local_day(day: date, zone: ZoneInfo) -> datetime:
    """23:59:59 local on `day`, with that day's UTC offset."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=zone)


def add_period(
    start: datetime, amount: int, unit: LegUnit, zone: ZoneInfo, calendar: CalendarSpec
) -> datetime:
    """The due time `amount` `unit` after the instant `start` (see the module docstring)."""
    if unit is LegUnit.HOURS:
        # elapsed time: add in UTC so a DST change neither adds nor drops an hour
        return (start.astimezone(UTC) + timedelta(hours=amount)).astimezone(zone)
    local_day = start.astimezone(zone).date()
    if unit is LegUnit.BUSINESS_DAYS:
        return end_of_local_day(business_day_add(local_day, amount, calendar), zone)
    return end_of_local_day(local_day + timedelta(days=amount), zone)


def _condition_problem(rule: LegRule, facts: Facts) -> str:
    if rule.min_residents is not None:
        count = facts.residents.get(rule.residents_of)
        if count is None or count < rule.min_residents:
            given = "none given" if count is None else f"{count} given"
            return f"applies from {rule.min_residents} residents of {rule.residents_of} ({given})"
    if rule.categories and facts.categories is not None and not rule.categories & facts.categories:
        return f"applies to {', '.join(sorted(rule.categories))} only"
    return ""


def _one(
    rule: LegRule, events: Mapping[str, datetime], zone: ZoneInfo, facts: Facts
) -> LegDeadline:
    start_event = next((e for e in rule.start_events if e in events), None)
    started_at = events[start_event] if start_event else None
    if started_at is not None and not rule.in_force_on(started_at.astimezone(zone).date()):
        return LegDeadline(
            rule,
            LegStatus.NOT_APPLICABLE,
            start_event,
            started_at,
            None,
            reason="not in force on the start event's date",
        )
    if not rule.enabled:
        return LegDeadline(
            rule,
            LegStatus.DISABLED,
            start_event,
            started_at,
            None,
            reason=f"disabled (confidence: {rule.confidence})",
        )
    problem = _condition_problem(rule, facts)
    if problem:
        return LegDeadline(
            rule, LegStatus.NOT_APPLICABLE, start_event, started_at, None, reason=problem
        )
    if started_at is None:
        return LegDeadline(
            rule,
            LegStatus.WAITING,
            None,
            None,
            None,
            reason=f"waiting for {' or '.join(rule.start_events)}",
        )
    if facts.delay_requested and rule.delay is not DelayKind.NONE:
        if facts.risk_ended_on is None:
            return LegDeadline(
                rule,
                LegStatus.SUSPENDED,
                start_event,
                started_at,
                None,
                reason="law-enforcement delay in force",
            )
        if rule.delay is DelayKind.SUSPEND_THEN_PERIOD:
            assert rule.delay_amount is not None and rule.delay_unit is not None
            risk_ended = end_of_local_day(facts.risk_ended_on, zone)
            local_start = datetime.combine(facts.risk_ended_on, time(0), tzinfo=zone)
            due = add_period(local_start, rule.delay_amount, rule.delay_unit, zone, rule.calendar)
            return LegDeadline(
                rule,
                LegStatus.DUE,
                Event.RISK_ENDED,
                risk_ended,
                due,
                reason=f"{rule.delay_amount} {rule.delay_unit} after the risk "
                "ended (law-enforcement delay)",
            )
        return LegDeadline(
            rule,
            LegStatus.SUSPENDED,
            start_event,
            started_at,
            None,
            reason="the rule sets no period after a law-enforcement delay: "
            "counsel decides when to notify",
        )
    if rule.amount is None or rule.unit is None:
        return LegDeadline(
            rule,
            LegStatus.NO_NUMERIC_DEADLINE,
            start_event,
            started_at,
            None,
            reason=rule.wording or "as soon as possible",
        )
    due = add_period(started_at, rule.amount, rule.unit, zone, rule.calendar)
    return LegDeadline(rule, LegStatus.DUE, start_event, started_at, due)


def compute(
    legs: Sequence[LegRule],
    events: Mapping[str, datetime],
    tz: str,
    facts: Facts | None = None,
) -> list[LegDeadline]:
    """Every leg's due time (or why it has none), the earliest per recipient binding.

    `events` maps event names to timezone-aware instants; `tz` is the obligated
    organization's IANA time zone. Legs of one regime and leg id with several parts (variants)
    are all listed; among the applicable ones the earliest binds like any other.
    """
    zone = zone_for(tz)
    for name, moment in events.items():
        if name not in EVENTS:
            raise UnknownEvent(f"unknown event {name!r}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise NaiveDatetime(f"event {name!r} has no UTC offset")
    facts = facts or Facts()
    results = [_one(rule, events, zone, facts) for rule in legs]
    earliest: dict[str, datetime] = {}
    for result in results:
        if result.due_at is not None and result.status is LegStatus.DUE:
            best = earliest.get(result.rule.recipient)
            if best is None or result.due_at < best:
                earliest[result.rule.recipient] = result.due_at
    bound: set[str] = set()
    final = []
    for result in results:
        recipient = result.rule.recipient
        binds = (
            result.status is LegStatus.DUE
            and recipient not in bound
            and result.due_at == earliest.get(recipient)
        )
        if binds:
            bound.add(recipient)
        final.append(
            LegDeadline(
                result.rule,
                result.status,
                result.start_event,
                result.started_at,
                result.due_at,
                binds,
                result.reason,
            )
        )
    return final
