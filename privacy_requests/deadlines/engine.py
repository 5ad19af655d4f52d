"""Deadline computation for privacy-rights requests: pure functions over rules kept as data.

No Django, no database, no settings: callers pass the rules, the request type, the instant the
request was received and the organization's time zone, and get every applicable deadline back
with the one that binds. The counting conventions are those of docs/deadlines.md:

- day zero is the local date of the trigger instant in the organization's time zone;
- the trigger day is not counted, the last day is;
- business days skip weekends and the rule's calendar holidays;
- calendar-day and month deadlines roll forward off weekends and holidays only when the rule
  says so (GDPR, Reg. 1182/71 Art. 3(4));
- when several rules apply, every deadline is kept and the earliest binds.
"""

from __future__ import annotations

import calendar as gregorian
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import Enum, StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .calendars import CalendarSpec, business_day_add, next_business_day_on_or_after


class RequestType(StrEnum):
    ACCESS = "access"
    DELETE = "delete"
    CORRECT = "correct"
    PORTABILITY = "portability"
    OPT_OUT = "opt_out"
    LIMIT_SENSITIVE = "limit_sensitive"
    RESTRICT = "restrict"
    OBJECT = "object"
    WITHDRAW_CONSENT = "withdraw_consent"
    FERPA_INSPECT = "ferpa_inspect"
    FERPA_AMEND = "ferpa_amend"


REQUEST_TYPES: frozenset[str] = frozenset(RequestType)


class Unit(StrEnum):
    BUSINESS_DAYS = "business_days"
    CALENDAR_DAYS = "calendar_days"
    MONTHS = "months"
    # Elapsed hours from the trigger instant; the deadline is the local date they end on.
    HOURS = "hours"


# The longest period of each unit a rule may set: a year, longer than any privacy law's
# (FERPA 45 days, CCPA 45 + 45, GDPR 1 + 2 months). Dates far beyond overflow the calendar
# arithmetic, so a rule of 2,147,483,647 days broke every intake of the types it governed.
PERIOD_MAXIMUM: Mapping[Unit, int] = {
    Unit.CALENDAR_DAYS: 366,
    Unit.BUSINESS_DAYS: 260,
    Unit.MONTHS: 12,
    Unit.HOURS: 366 * 24,
}


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM_HIGH = "medium-high"
    MEDIUM = "medium"
    UNVERIFIED = "unverified"


class ExtensionNotice(Enum):
    """The notice of an extension is due when the original response period ends."""

    WITHIN_RESPONSE_PERIOD = "within_response_period"


# --- errors ---------------------------------------------------------------------------------


class DeadlineError(Exception):
    """Base class of the errors the deadline engine raises."""


class UnknownRule(DeadlineError, LookupError):
    """A rule id that is not known (not in the reference table, or not among the given rules)."""


class UnknownRequestType(DeadlineError, ValueError):
    """A request type outside `REQUEST_TYPES`."""


class RuleDoesNotApply(DeadlineError):
    """None of the given rules sets a deadline for the request type."""


class NaiveDatetime(DeadlineError, ValueError):
    """A trigger instant without a time zone: its local date would be a guess."""


class UnknownTimeZone(DeadlineError, ValueError):
    """An organization time zone that is not an IANA zone name."""


# --- rules as data --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        # Periods are also built from stored strings; normalise so `unit is Unit.X` holds.
        object.__setattr__(self, "unit", Unit(self.unit))
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 1:
            raise ValueError(
                f"a period must be a whole number >= 1 of {self.unit}: {self.amount!r}"
            )

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}"


@dataclass(frozen=True, slots=True)
class RulePart:
    """The periods one rule sets for some request types (one row of the rules table).

    `extension` is the extra time on top of `respond`, in the same unit; the extended deadline
    is counted from the trigger as respond + extension ("+45 days (90 total)", "two further
    months" = 3 months), which matters for months: 31 Jan + 3 months is 30 Apr, while
    (31 Jan + 1 month) + 2 months would be 28 Apr.

    A part with `respond` None governs its types but sets no response deadline unless a tenant
    override supplies one (FERPA amendment: "reasonable time").
    """

    request_types: frozenset[str]
    source: str
    confidence: Confidence
    acknowledge: Period | None = None
    respond: Period | None = None
    extension: Period | None = None
    extension_notice: Period | ExtensionNotice | None = None
    # Rows marked unverified ship disabled; tenants' counsel may enable them by override.
    enabled: bool = True
    effective_from: date | None = None
    effective_to: date | None = None  # inclusive: the last day the part is in force
    notes: str = ""
    # respond + extension as one period from the trigger; derived once, in __post_init__.
    extended_total: Period | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "request_types", frozenset(self.request_types))
        object.__setattr__(self, "confidence", Confidence(self.confidence))
        unknown = self.request_types - REQUEST_TYPES
        if unknown:
            raise UnknownRequestType(f"unknown request type(s): {', '.join(sorted(unknown))}")
        for name in ("acknowledge", "respond", "extension", "extension_notice"):
            period = getattr(self, name)
            if isinstance(period, Period) and period.amount > PERIOD_MAXIMUM[period.unit]:
                raise ValueError(
                    f"{name}: a period must be at most {PERIOD_MAXIMUM[period.unit]} "
                    f"{period.unit}, not {period.amount}"
                )
        if self.extension is not None:
            if self.respond is None:
                raise ValueError("an extension needs a response period to extend")
            if self.extension.unit is not self.respond.unit:
                raise ValueError("an extension must use the unit of the response period")
        if self.extension_notice is not None and self.extension is None:
            raise ValueError("an extension notice needs an extension")
        total = None
        if self.respond is not None and self.extension is not None:
            total = Period(self.respond.amount + self.extension.amount, self.respond.unit)
        object.__setattr__(self, "extended_total", total)

    def in_force_on(self, day: date) -> bool:
        return (self.effective_from is None or self.effective_from <= day) and (
            self.effective_to is None or day <= self.effective_to
        )


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    """One rule id (a law, a regulation, a policy or a contract) and its periods per type.

    `roll_forward`: calendar-day, month and hour deadlines that fall on a weekend or a holiday
    of `calendar` move to the next business day. `pausing_allowed`: whether the clock may stop
    while identity is verified (informational here; the engine never pauses).
    """

    id: str
    jurisdiction: str
    calendar: CalendarSpec
    parts: tuple[RulePart, ...]
    roll_forward: bool = False
    pausing_allowed: bool = False
    _by_type: Mapping[str, RulePart] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_type: dict[str, RulePart] = {}
        for part in self.parts:
            for request_type in part.request_types:
                if request_type in by_type:
                    raise ValueError(f"rule {self.id!r} has two parts for {request_type!r}")
                by_type[request_type] = part
        # Frozen dataclass: the lookup table is derived once, here.
        object.__setattr__(self, "_by_type", by_type)

    def part_for(self, request_type: str) -> RulePart | None:
        """The part governing `request_type`, or None if the rule does not govern it."""
        return self._by_type.get(request_type)

    @property
    def request_types(self) -> frozenset[str]:
        return frozenset(self._by_type)


@dataclass(frozen=True, slots=True)
class RuleOverride:
    """A tenant's counsel's change to one rule, for the request type being computed.

    Each field left None keeps the rule's own value; an override can supply a number where the
    rule has none (FERPA amendment) or enable an unverified part. It cannot remove a period:
    leave the rule out instead.
    """

    acknowledge: Period | None = None
    respond: Period | None = None
    extension: Period | None = None
    extension_notice: Period | ExtensionNotice | None = None
    enabled: bool | None = None

    def apply(self, part: RulePart) -> RulePart:
        changes: dict[str, Any] = {
            name: value
            for name in ("acknowledge", "respond", "extension", "extension_notice", "enabled")
            if (value := getattr(self, name)) is not None
        }
        return replace(part, **changes)


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleDeadlines:
    """The deadlines one rule sets for one request."""

    rule: str
    source: str
    acknowledge_by: date | None
    respond_by: date | None
    respond_by_extended: date | None
    extension_notice_by: date | None

    @property
    def latest_response(self) -> date | None:
        """The last day this rule allows a response: extended if it allows that, else respond_by."""
        return self.respond_by_extended or self.respond_by


_DATE_FIELDS = ("acknowledge_by", "respond_by", "respond_by_extended", "extension_notice_by")


@dataclass(frozen=True, slots=True)
class DeadlineResult:
    """Every deadline of one request, with the earliest of each kind and the rule that binds.

    `respond_by_extended` is the earliest of each rule's latest permitted response (its
    extended deadline, or its respond_by when it allows no extension), and None when extending
    cannot move the response deadline at all. `extension_notice_by` is then the earliest notice
    date among the rules that allow an extension.

    `binding_rules` maps each date field that has a date to the rule id that sets it.
    """

    received_on: date
    acknowledge_by: date | None
    respond_by: date | None
    respond_by_extended: date | None
    extension_notice_by: date | None
    binding_rule: str
    binding_rules: Mapping[str, str]
    rules: tuple[RuleDeadlines, ...]

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with ISO dates ("YYYY-MM-DD") or None."""
        return {
            "received_on": self.received_on.isoformat(),
            **{name: _iso(getattr(self, name)) for name in _DATE_FIELDS},
            "binding_rule": self.binding_rule,
            "rules": [
                {
                    "rule": r.rule,
                    "source": r.source,
                    **{name: _iso(getattr(r, name)) for name in _DATE_FIELDS},
                }
                for r in self.rules
            ],
        }


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


# --- computation ----------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimeZone(f"unknown time zone {tz!r}") from exc


def add_months(day: date, months: int) -> date:
    """Same day-number `months` later, or that month's last day (31 Jan + 1 month = 28 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, gregorian.monthrange(year, month)[1]))


def _deadline(
    period: Period, received_at: datetime, received_on: date, zone: ZoneInfo, rule: DeadlineRule
) -> date:
    unit = period.unit
    if unit is Unit.BUSINESS_DAYS:
        # Counted on business days already: nothing to roll.
        return business_day_add(received_on, period.amount, rule.calendar)
    if unit is Unit.CALENDAR_DAYS:
        day = received_on + timedelta(days=period.amount)
    elif unit is Unit.MONTHS:
        day = add_months(received_on, period.amount)
    else:
        # Elapsed time, not wall-clock time: add in UTC so a DST change cannot add or drop an
        # hour, then take the local date the period ends on.
        day = (received_at.astimezone(UTC) + timedelta(hours=period.amount)).astimezone(zone).date()
    return next_business_day_on_or_after(day, rule.calendar) if rule.roll_forward else day


def _rule_deadlines(
    rule: DeadlineRule,
    part: RulePart,
    received_at: datetime,
    received_on: date,
    zone: ZoneInfo,
) -> RuleDeadlines:
    acknowledge_by = respond_by = extended = notice = None
    if part.acknowledge is not None:
        acknowledge_by = _deadline(part.acknowledge, received_at, received_on, zone, rule)
    if part.respond is not None:
        respond_by = _deadline(part.respond, received_at, received_on, zone, rule)
    if part.extended_total is not None:
        extended = _deadline(part.extended_total, received_at, received_on, zone, rule)
        if isinstance(part.extension_notice, Period):
            notice = _deadline(part.extension_notice, received_at, received_on, zone, rule)
        elif part.extension_notice is ExtensionNotice.WITHIN_RESPONSE_PERIOD:
            notice = respond_by
    return RuleDeadlines(
        rule=rule.id,
        source=part.source,
        acknowledge_by=acknowledge_by,
        respond_by=respond_by,
        respond_by_extended=extended,
        extension_notice_by=notice,
    )


def _earliest(
    per_rule: Sequence[RuleDeadlines], value: Callable[[RuleDeadlines], date | None]
) -> tuple[date | None, str | None]:
    """The earliest date `value(rule)` gives and the first rule (in order) that gives it."""
    best: date | None = None
    best_rule: str | None = None
    for deadlines in per_rule:
        day = value(deadlines)
        if day is not None and (best is None or day < best):
            best, best_rule = day, deadlines.rule
    return best, best_rule


def compute(
    rules: Sequence[DeadlineRule],
    request_type: str,
    received_at: datetime,
    tz: str,
    overrides: Mapping[str, RuleOverride] | None = None,
) -> DeadlineResult:
    """Compute the statutory and policy deadlines of one request.

    `rules` are every rule the organization is subject to, in order of precedence for ties;
    those that do not govern `request_type`, are disabled, or are not in force on the local
    date of receipt are skipped. `received_at` must be timezone-aware; `tz` is the
    organization's IANA time zone, whose local date of `received_at` is day zero.
    `overrides` maps rule ids to the tenant's overrides for this request type.

    Organization closures never enter here: statutory dates do not move for them (internal
    targets use `calendars.business_day_add(..., extra_closures=...)`).

    Raises UnknownRequestType, NaiveDatetime, UnknownTimeZone, UnknownRule (an override for
    a rule not in `rules`) and RuleDoesNotApply (no rule sets any deadline for the type).
    """
    if request_type not in REQUEST_TYPES:
        raise UnknownRequestType(f"unknown request type {request_type!r}")
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise NaiveDatetime("received_at must be timezone-aware")
    zone = _zone(tz)
    received_on = received_at.astimezone(zone).date()
    if overrides:
        missing = set(overrides) - {rule.id for rule in rules}
        if missing:
            raise UnknownRule(f"override for rule(s) not given: {', '.join(sorted(missing))}")

    per_rule: list[RuleDeadlines] = []
    for rule in rules:
        part = rule.part_for(request_type)
        if part is None:
            continue
        if overrides and rule.id in overrides:
            part = overrides[rule.id].apply(part)
        if not part.enabled or not part.in_force_on(received_on):
            continue
        deadlines = _rule_deadlines(rule, part, received_at, received_on, zone)
        if deadlines.acknowledge_by or deadlines.respond_by:
            per_rule.append(deadlines)
    if not per_rule:
        names = ", ".join(rule.id for rule in rules) or "(no rules)"
        raise RuleDoesNotApply(f"rule(s) {names} set no deadline for request type {request_type!r}")

    acknowledge_by, acknowledge_rule = _earliest(per_rule, lambda r: r.acknowledge_by)
    respond_by, respond_rule = _earliest(per_rule, lambda r: r.respond_by)
    latest, latest_rule = _earliest(per_rule, lambda r: r.latest_response)
    # An extension only helps if every rule that could bind allows one; otherwise the earliest
    # latest-response date is respond_by itself and there is nothing to extend to or notify.
    extended = notice = notice_rule = None
    if latest is not None and respond_by is not None and latest > respond_by:
        extended = latest
        notice, notice_rule = _earliest(per_rule, lambda r: r.extension_notice_by)

    binding_rules = {
        name: rule_id
        for name, rule_id in (
            ("acknowledge_by", acknowledge_rule),
            ("respond_by", respond_rule),
            ("respond_by_extended", latest_rule if extended else None),
            ("extension_notice_by", notice_rule),
        )
        if rule_id is not None
    }
    binding_rule = respond_rule or acknowledge_rule
    assert binding_rule is not None  # per_rule only holds rules with one of the two dates
    return DeadlineResult(
        received_on=received_on,
        acknowledge_by=acknowledge_by,
        respond_by=respond_by,
        respond_by_extended=extended,
        extension_notice_by=notice,
        binding_rule=binding_rule,
        binding_rules=binding_rules,
        rules=tuple(per_rule),
    )
