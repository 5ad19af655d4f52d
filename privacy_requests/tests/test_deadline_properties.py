"""Properties of the deadline engine, checked on generated requests and rules.

The business-day oracle here steps day by day through `holidays.country_holidays`, independent
of the engine's cached, week-skipping arithmetic.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import cache

import holidays
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from privacy_requests.deadlines import (
    REFERENCE_RULES,
    REQUEST_TYPES,
    CalendarSpec,
    Confidence,
    DeadlineResult,
    DeadlineRule,
    ExtensionNotice,
    Period,
    RuleDoesNotApply,
    RulePart,
    Unit,
    business_day_add,
    compute,
)
from privacy_requests.deadlines.calendars import (
    CANADA_FEDERAL,
    ONTARIO,
    QUEBEC,
    US_FEDERAL,
    WEEKENDS_ONLY,
)

# No example database: these tests must leave nothing behind in the working tree. Hypothesis
# also caches the constants it finds in source files under its home directory (.hypothesis/ in
# the working directory by default): keep that cache in the system's temporary directory.
examples = settings(max_examples=300, deadline=None, database=None)
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "k12cloud-hypothesis"))

CALENDARS = [US_FEDERAL, CANADA_FEDERAL, QUEBEC, ONTARIO, WEEKENDS_ONLY]
ZONES = [
    "America/Los_Angeles",
    "America/New_York",
    "Pacific/Honolulu",
    "America/Toronto",
    "Europe/Paris",
    "UTC",
    "Asia/Kolkata",
]


@cache
def oracle_holidays(calendar: CalendarSpec, year: int) -> frozenset[date]:
    if calendar.country is None:
        return frozenset()
    return frozenset(
        holidays.country_holidays(calendar.country, subdiv=calendar.subdivision, years=year)
    )


def oracle_closed(day: date, calendar: CalendarSpec) -> bool:
    return day.weekday() >= 5 or day in oracle_holidays(calendar, day.year)


instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


@st.composite
def periods(draw: st.DrawFn, unit: Unit | None = None) -> Period:
    unit = unit or draw(st.sampled_from(list(Unit)))
    top = {Unit.MONTHS: 12, Unit.HOURS: 24 * 60}.get(unit, 120)
    return Period(draw(st.integers(1, top)), unit)


@st.composite
def contract_rules(draw: st.DrawFn) -> DeadlineRule:
    """A tenant's own rule, e.g. a DPA clause: any periods, any types, any calendar."""
    respond = draw(st.none() | periods())
    extension = notice = None
    if respond is not None and draw(st.booleans()):
        extension = draw(periods(respond.unit))
        notice = draw(st.sampled_from([None, ExtensionNotice.WITHIN_RESPONSE_PERIOD]))
    part = RulePart(
        request_types=frozenset(draw(st.sets(st.sampled_from(sorted(REQUEST_TYPES)), min_size=1))),
        acknowledge=draw(st.none() | periods()),
        respond=respond,
        extension=extension,
        extension_notice=notice,
        source="tenant contract",
        confidence=Confidence.HIGH,
    )
    return DeadlineRule(
        id=f"contract-{draw(st.integers(0, 10**6))}",
        jurisdiction="contract",
        calendar=draw(st.sampled_from(CALENDARS)),
        parts=(part,),
        roll_forward=draw(st.booleans()),
    )


rule_lists = st.lists(
    st.sampled_from(list(REFERENCE_RULES.values())) | contract_rules(),
    min_size=1,
    max_size=4,
    unique_by=lambda rule: rule.id,
)


def compute_or_none(
    rules: list[DeadlineRule], request_type: str, received_at: datetime, tz: str
) -> DeadlineResult | None:
    try:
        return compute(rules, request_type, received_at, tz)
    except RuleDoesNotApply:
        return None


@examples
@given(start=days, n=st.integers(0, 400), calendar=st.sampled_from(CALENDARS))
def test_business_day_add_counts_exactly_n_open_days(
    start: date, n: int, calendar: CalendarSpec
) -> None:
    end = business_day_add(start, n, calendar)
    open_days = sum(
        not oracle_closed(start + timedelta(i), calendar) for i in range(1, (end - start).days + 1)
    )
    assert open_days == n
    if n:
        # Never lands on a weekend or a holiday of the calendar.
        assert not oracle_closed(end, calendar)


@examples
@given(
    received_at=instants,
    tz=st.sampled_from(ZONES),
    request_type=st.sampled_from(["ferpa_inspect", "opt_out", "access"]),
)
def test_business_day_deadlines_are_business_days(
    received_at: datetime, tz: str, request_type: str
) -> None:
    rules = [REFERENCE_RULES[i] for i in ("ca-edcode-49069", "ccpa", "k12cloud-policy")]
    result = compute_or_none(rules, request_type, received_at, tz)
    assert result is not None
    for deadlines in result.rules:
        part = REFERENCE_RULES[deadlines.rule].part_for(request_type)
        assert part is not None
        for period, day in (
            (part.acknowledge, deadlines.acknowledge_by),
            (part.respond, deadlines.respond_by),
        ):
            if period is not None and period.unit is Unit.BUSINESS_DAYS:
                assert day is not None
                assert not oracle_closed(day, US_FEDERAL)


@examples
@given(received_at=instants, tz=st.sampled_from(ZONES))
def test_rolled_forward_deadlines_are_business_days(received_at: datetime, tz: str) -> None:
    result = compute([REFERENCE_RULES["gdpr"]], "access", received_at, tz)
    for day in (result.respond_by, result.respond_by_extended, result.extension_notice_by):
        assert day is not None
        assert day.weekday() < 5


@examples
@given(
    start=days,
    n=st.integers(1, 60),
    calendar=st.sampled_from(CALENDARS),
    closures=st.frozensets(days, max_size=30),
)
def test_closures_only_ever_delay_internal_targets(
    start: date, n: int, calendar: CalendarSpec, closures: frozenset[date]
) -> None:
    statutory = business_day_add(start, n, calendar)
    internal = business_day_add(start, n, calendar, extra_closures=closures)
    assert internal >= statutory
    # The statutory count is the same whatever closures were used before or after it.
    assert business_day_add(start, n, calendar) == statutory
    open_days = sum(
        not oracle_closed(day, calendar) and day not in closures
        for day in (start + timedelta(i) for i in range(1, (internal - start).days + 1))
    )
    assert open_days == n


@examples
@given(
    received_at=instants,
    tz=st.sampled_from(ZONES),
    closures=st.frozensets(days, max_size=30),
)
def test_closures_never_move_a_statutory_deadline(
    received_at: datetime, tz: str, closures: frozenset[date]
) -> None:
    rules = [REFERENCE_RULES["ccpa"], REFERENCE_RULES["k12cloud-policy"]]
    before = compute(rules, "access", received_at, tz)
    # An organization's internal target uses its closures ...
    assert before.acknowledge_by is not None
    internal_ack = business_day_add(before.received_on, 10, US_FEDERAL, extra_closures=closures)
    # ... which can only make it later than the statutory date, never the reverse,
    assert internal_ack >= before.acknowledge_by
    # and leave the statutory computation untouched.
    assert compute(rules, "access", received_at, tz) == before


@examples
@given(
    rules=rule_lists,
    request_type=st.sampled_from(sorted(REQUEST_TYPES)),
    received_at=instants,
    tz=st.sampled_from(ZONES),
)
def test_binding_dates_are_the_minimum_of_the_per_rule_dates(
    rules: list[DeadlineRule], request_type: str, received_at: datetime, tz: str
) -> None:
    result = compute_or_none(rules, request_type, received_at, tz)
    assume(result is not None)
    assert result is not None

    def earliest(dates: list[date | None]) -> date | None:
        present = [day for day in dates if day is not None]
        return min(present) if present else None

    assert result.acknowledge_by == earliest([r.acknowledge_by for r in result.rules])
    assert result.respond_by == earliest([r.respond_by for r in result.rules])
    latest = earliest([r.latest_response for r in result.rules])
    if latest is not None and result.respond_by is not None and latest > result.respond_by:
        assert result.respond_by_extended == latest
        assert result.extension_notice_by == earliest([r.extension_notice_by for r in result.rules])
    else:
        assert result.respond_by_extended is None
        assert result.extension_notice_by is None
    # The binding rule sets the binding respond_by (or acknowledge_by when no rule responds),
    # and is the first such rule in the order given.
    field = "respond_by" if result.respond_by is not None else "acknowledge_by"
    first = next(r for r in result.rules if getattr(r, field) == getattr(result, field))
    assert result.binding_rule == first.rule


@contextmanager
def process_time_zone(name: str) -> Iterator[None]:
    saved = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


@settings(max_examples=50, deadline=None, database=None)
@given(
    rules=rule_lists,
    request_type=st.sampled_from(sorted(REQUEST_TYPES)),
    received_at=instants,
    tz=st.sampled_from(ZONES),
)
def test_results_do_not_depend_on_the_process_time_zone(
    rules: list[DeadlineRule], request_type: str, received_at: datetime, tz: str
) -> None:
    outcomes = []
    for process_zone in ("UTC", "Pacific/Kiritimati", "America/Adak", "Asia/Kathmandu"):
        with process_time_zone(process_zone):
            outcomes.append(compute_or_none(rules, request_type, received_at, tz))
    assert all(outcome == outcomes[0] for outcome in outcomes)


@examples
@given(
    rules=rule_lists,
    extra=contract_rules() | st.sampled_from(list(REFERENCE_RULES.values())),
    request_type=st.sampled_from(sorted(REQUEST_TYPES)),
    received_at=instants,
    tz=st.sampled_from(ZONES),
)
def test_adding_a_rule_never_makes_a_binding_date_later(
    rules: list[DeadlineRule],
    extra: DeadlineRule,
    request_type: str,
    received_at: datetime,
    tz: str,
) -> None:
    assume(extra.id not in {rule.id for rule in rules})
    before = compute_or_none(rules, request_type, received_at, tz)
    assume(before is not None)
    assert before is not None
    for position in (0, len(rules)):
        with_extra = [*rules[:position], extra, *rules[position:]]
        after = compute_or_none(with_extra, request_type, received_at, tz)
        assert after is not None  # a rule that applied before still applies
        for name in ("acknowledge_by", "respond_by"):
            old, new = getattr(before, name), getattr(after, name)
            if old is not None:
                assert new is not None and new <= old
        # No extension means the latest response is respond_by itself.
        old_latest = before.respond_by_extended or before.respond_by
        new_latest = after.respond_by_extended or after.respond_by
        if old_latest is not None:
            assert new_latest is not None and new_latest <= old_latest
