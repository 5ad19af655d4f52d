"""Hand-checked deadlines, one scenario per counting convention of docs/deadlines.md.

Every expected date below was counted by hand in the comment next to it. The US federal
holidays those counts rely on are pinned by `test_us_federal_holidays_the_hand_counts_rely_on`,
checked against the `holidays` package (0.109).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from privacy_requests.deadlines import (
    REFERENCE_RULES,
    CalendarSpec,
    Confidence,
    DeadlineRule,
    NaiveDatetime,
    Period,
    RuleDoesNotApply,
    RuleOverride,
    RulePart,
    Unit,
    UnknownRequestType,
    UnknownRule,
    UnknownTimeZone,
    business_day_add,
    compute,
    get_rule,
    get_rules,
)
from privacy_requests.deadlines.calendars import US_FEDERAL, holiday_dates

LA = "America/Los_Angeles"
NEW_YORK = "America/New_York"


def at(day: str, tz: str, hour: int = 10, minute: int = 0) -> datetime:
    """An aware local datetime on `day` in `tz`."""
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=ZoneInfo(tz))


def d(day: str) -> date:
    return date.fromisoformat(day)


def test_us_federal_holidays_the_hand_counts_rely_on() -> None:
    expected = {
        "2026-01-01",  # New Year's Day, Thursday
        "2026-07-03",  # Independence Day observed (the 4th is a Saturday)
        "2026-09-07",  # Labor Day
        "2026-11-11",  # Veterans Day, Wednesday
        "2026-11-26",  # Thanksgiving
        "2026-12-25",  # Christmas, Friday
        "2027-01-01",  # New Year's Day, Friday
        "2027-01-18",  # Martin Luther King Jr. Day
    }
    listed = holiday_dates(US_FEDERAL, 2026) | holiday_dates(US_FEDERAL, 2027)
    assert {d(day) for day in expected} <= listed
    # An observed day that belongs to the next year's holiday is on this year's calendar.
    assert d("2027-12-31") in holiday_dates(US_FEDERAL, 2027)


def test_k12cloud_policy_receipt_just_before_new_year() -> None:
    result = compute(get_rules(["k12cloud-policy"]), "access", at("2025-12-30", NEW_YORK), NEW_YORK)
    assert result.received_on == d("2025-12-30")
    # 10 business days after Tue 2025-12-30: Dec 31 (1), [Jan 1 holiday], Jan 2 (2),
    # Jan 5-9 (3-7), Jan 12 (8), 13 (9), 14 (10).
    assert result.acknowledge_by == d("2026-01-14")
    # 45 calendar days: Dec 31 is +1, Jan 31 is +32, Feb 13 is +45 (a Friday, no rolling).
    assert result.respond_by == d("2026-02-13")
    assert result.respond_by_extended is None
    assert result.extension_notice_by is None
    assert result.binding_rule == "k12cloud-policy"


def test_thanksgiving_week_2026() -> None:
    result = compute(get_rules(["ccpa"]), "delete", at("2026-11-23", LA), LA)
    # 10 business days after Mon 2026-11-23: Nov 24 (1), 25 (2), [Thu 26 Thanksgiving],
    # 27 (3), 30 (4), Dec 1 (5), 2 (6), 3 (7), 4 (8), 7 (9), 8 (10).
    assert result.acknowledge_by == d("2026-12-08")
    # 45 calendar days: Nov 30 is +7, Dec 31 is +38, Jan 7 is +45.
    assert result.respond_by == d("2027-01-07")
    # 90 calendar days: Jan 7 + 45: Jan 31 is +24, Feb 21 is +45 (a Sunday: CCPA does not roll).
    assert result.respond_by_extended == d("2027-02-21")
    assert result.extension_notice_by == d("2027-01-07")


def test_christmas_2026_on_a_friday() -> None:
    received = at("2026-12-22", LA)
    policy = compute(get_rules(["k12cloud-policy"]), "correct", received, LA)
    # 10 business days after Tue 2026-12-22: Dec 23 (1), 24 (2), [Fri 25 Christmas],
    # Dec 28-31 (3-6), [Fri Jan 1 New Year], Jan 4 (7), 5 (8), 6 (9), 7 (10).
    assert policy.acknowledge_by == d("2027-01-07")
    # 45 calendar days: Dec 31 is +9, Jan 31 is +40, Feb 5 is +45.
    assert policy.respond_by == d("2027-02-05")

    opt_out = compute(get_rules(["ccpa"]), "opt_out", received, LA)
    # 15 business days: as above to Jan 7 (10), then Jan 8 (11), 11 (12), 12 (13), 13 (14),
    # 14 (15).
    assert opt_out.respond_by == d("2027-01-14")
    assert opt_out.acknowledge_by is None


def test_across_martin_luther_king_day_2027() -> None:
    opt_out = compute(get_rules(["ccpa"]), "opt_out", at("2027-01-11", LA), LA)
    # 15 business days after Mon 2027-01-11: Jan 12-15 (1-4), [Mon 18 MLK Day],
    # Jan 19-22 (5-8), Jan 25-29 (9-13), Feb 1 (14), Feb 2 (15).
    assert opt_out.respond_by == d("2027-02-02")

    inspect = compute(get_rules(["ca-edcode-49069"]), "ferpa_inspect", at("2027-01-14", LA), LA)
    # 5 business days after Thu 2027-01-14: Jan 15 (1), [Mon 18 MLK Day], 19 (2), 20 (3),
    # 21 (4), 22 (5).
    assert inspect.respond_by == d("2027-01-22")


def test_saturday_receipt() -> None:
    result = compute(get_rules(["k12cloud-policy"]), "access", at("2026-03-14", NEW_YORK), NEW_YORK)
    assert result.received_on == d("2026-03-14")
    # Day zero is the Saturday; business days start Monday: Mar 16-20 (1-5), Mar 23-27 (6-10).
    assert result.acknowledge_by == d("2026-03-27")
    # 45 calendar days: Mar 31 is +17, Apr 28 is +45.
    assert result.respond_by == d("2026-04-28")


def test_gdpr_month_end_rolls_off_a_sunday() -> None:
    result = compute(
        get_rules(["gdpr"]), "access", at("2027-01-31", "Europe/Paris"), "Europe/Paris"
    )
    # 31 Jan + 1 month: February has no 31st, so its last day, Sun 2027-02-28, which rolls
    # forward to Mon 2027-03-01.
    assert result.respond_by == d("2027-03-01")
    # "Two further months" = receipt + 3 months: 30 Apr 2027, a Friday.
    assert result.respond_by_extended == d("2027-04-30")
    # Notice is due within the first month, the same (rolled) day.
    assert result.extension_notice_by == d("2027-03-01")
    assert result.acknowledge_by is None


def test_gdpr_month_end_in_a_leap_year() -> None:
    result = compute(
        get_rules(["gdpr"]), "delete", at("2028-01-31", "Europe/Dublin"), "Europe/Dublin"
    )
    # 31 Jan 2028 + 1 month = 29 Feb 2028 (leap year), a Tuesday: stays.
    assert result.respond_by == d("2028-02-29")
    # + 3 months = 30 Apr 2028, a Sunday: rolls to Mon 1 May. (May Day is a public holiday in
    # many member states; the GDPR calendar is weekends-only by design, see reference_rules.)
    assert result.respond_by_extended == d("2028-05-01")


@pytest.mark.parametrize("request_type", ["access", "portability", "delete", "correct"])
def test_ccpa_know_delete_correct(request_type: str) -> None:
    result = compute(get_rules(["ccpa"]), request_type, at("2026-03-02", LA), LA)
    # 10 business days after Mon 2026-03-02 (no holidays): Mar 3-6 (1-4), 9-13 (5-9), 16 (10).
    assert result.acknowledge_by == d("2026-03-16")
    # 45 calendar days: Mar 31 is +29, Apr 16 is +45.
    assert result.respond_by == d("2026-04-16")
    # 90 calendar days: Apr 30 is +59, May 31 is +90 (a Sunday; CCPA does not roll).
    assert result.respond_by_extended == d("2026-05-31")
    # Notice "before the first 45 days end": the original respond_by.
    assert result.extension_notice_by == result.respond_by
    assert result.binding_rule == "ccpa"


def test_ferpa_inspect_with_california_education_code() -> None:
    rules = get_rules(["ferpa", "ca-edcode-49069"])
    result = compute(rules, "ferpa_inspect", at("2026-09-02", LA), LA)
    # Ed. Code: 5 business days after Wed 2026-09-02: Sep 3 (1), 4 (2), [Mon 7 Labor Day],
    # 8 (3), 9 (4), 10 (5).
    # FERPA: 45 calendar days: Sep 30 is +28, Oct 17 is +45.
    by_rule = {r.rule: r.respond_by for r in result.rules}
    assert by_rule == {"ferpa": d("2026-10-17"), "ca-edcode-49069": d("2026-09-10")}
    assert result.respond_by == d("2026-09-10")
    assert result.binding_rule == "ca-edcode-49069"


def test_late_evening_in_los_angeles_is_that_day_not_the_utc_day() -> None:
    # 23:30 PDT on Tue 2026-06-30 is 06:30 UTC on Wed 2026-07-01; given in UTC on purpose.
    received = datetime(2026, 7, 1, 6, 30, tzinfo=UTC)
    assert received == at("2026-06-30", LA, 23, 30)
    result = compute(get_rules(["k12cloud-policy"]), "access", received, LA)
    assert result.received_on == d("2026-06-30")
    # 10 business days: Jul 1 (1), 2 (2), [Fri 3 Independence Day observed], 6-10 (3-7),
    # 13 (8), 14 (9), 15 (10). Counting from the UTC date would give Jul 16.
    assert result.acknowledge_by == d("2026-07-15")
    # 45 calendar days: Jul 31 is +31, Aug 14 is +45.
    assert result.respond_by == d("2026-08-14")


def test_late_evening_in_honolulu() -> None:
    # 22:00 HST on Mon 2026-11-09 is 08:00 UTC on Tue 2026-11-10.
    received = at("2026-11-09", "Pacific/Honolulu", 22)
    assert received.astimezone(UTC).date() == d("2026-11-10")
    result = compute(get_rules(["ccpa"]), "opt_out", received, "Pacific/Honolulu")
    assert result.received_on == d("2026-11-09")
    # 15 business days: Nov 10 (1), [Wed 11 Veterans Day], 12 (2), 13 (3), 16-20 (4-8),
    # 23 (9), 24 (10), 25 (11), [Thu 26 Thanksgiving], 27 (12), 30 (13), Dec 1 (14), 2 (15).
    assert result.respond_by == d("2026-12-02")


def test_hours_are_elapsed_time_across_a_dst_change() -> None:
    hours_rule = DeadlineRule(
        id="contract-24h",
        jurisdiction="contract",
        calendar=US_FEDERAL,
        parts=(
            RulePart(
                request_types=frozenset({"delete"}),
                respond=Period(24, Unit.HOURS),
                source="DPA §4",
                confidence=Confidence.HIGH,
            ),
        ),
    )
    # 23:30 EST on Sat 2026-03-07 is 04:30 UTC Mar 8; 24 hours later is 04:30 UTC Mar 9, which
    # is 00:30 EDT on Mar 9 (clocks went forward on Mar 8). Wall-clock arithmetic would say
    # 23:30 on Mar 8.
    result = compute([hours_rule], "delete", at("2026-03-07", NEW_YORK, 23, 30), NEW_YORK)
    assert result.respond_by == d("2026-03-09")


def test_every_deadline_is_kept_and_the_earliest_binds() -> None:
    result = compute(get_rules(["k12cloud-policy", "ccpa"]), "access", at("2026-03-02", LA), LA)
    assert [r.rule for r in result.rules] == ["k12cloud-policy", "ccpa"]
    # Same respond_by from both: the tie goes to the first rule given.
    assert result.respond_by == d("2026-04-16")
    assert result.binding_rule == "k12cloud-policy"
    # The policy allows no extension, so extending under CCPA cannot move the response date.
    assert result.respond_by_extended is None
    assert result.extension_notice_by is None


def test_extension_binds_at_the_earliest_latest_response() -> None:
    # PIPEDA: respond in 30 days, extend by 30; Quebec private sector: 30 days, no extension.
    # Mon 2026-03-02 + 30 days = Wed Apr 1 for both; the extension would buy nothing.
    both = compute(
        get_rules(["pipeda", "quebec-private"]),
        "access",
        at("2026-03-02", "America/Montreal"),
        "America/Montreal",
    )
    assert both.respond_by == d("2026-04-01")
    assert both.respond_by_extended is None
    # PIPEDA with Quebec public bodies (20 days + 10): respond by Mar 22 (Quebec), and the
    # latest response is min(PIPEDA May 1, Quebec Apr 1) = Apr 1, extended under Quebec's rule;
    # PIPEDA's own respond_by is that same Apr 1, so nothing later is possible.
    public = compute(
        get_rules(["pipeda", "quebec-public"]),
        "access",
        at("2026-03-02", "America/Montreal"),
        "America/Montreal",
    )
    assert public.respond_by == d("2026-03-22")
    assert public.binding_rule == "quebec-public"
    assert public.respond_by_extended == d("2026-04-01")
    assert public.binding_rules["respond_by_extended"] == "quebec-public"
    assert public.extension_notice_by == d("2026-03-22")


def test_contract_rule_can_only_make_deadlines_earlier() -> None:
    dpa = DeadlineRule(
        id="dpa-7-day-deletion",
        jurisdiction="contract",
        calendar=US_FEDERAL,
        parts=(
            RulePart(
                request_types=frozenset({"delete"}),
                respond=Period(7, Unit.CALENDAR_DAYS),
                source="District DPA §9",
                confidence=Confidence.HIGH,
            ),
        ),
    )
    result = compute([*get_rules(["k12cloud-policy"]), dpa], "delete", at("2026-03-02", LA), LA)
    assert result.respond_by == d("2026-03-09")  # Mon Mar 2 + 7 days
    assert result.binding_rule == "dpa-7-day-deletion"
    assert result.acknowledge_by == d("2026-03-16")  # still the policy's
    assert result.binding_rules == {
        "acknowledge_by": "k12cloud-policy",
        "respond_by": "dpa-7-day-deletion",
    }


def test_ferpa_amendment_has_no_deadline_unless_the_tenant_sets_one() -> None:
    rules = get_rules(["ferpa"])
    with pytest.raises(RuleDoesNotApply, match=r"ferpa.*ferpa_amend"):
        compute(rules, "ferpa_amend", at("2026-03-02", LA), LA)
    overrides = {"ferpa": RuleOverride(respond=Period(30, Unit.CALENDAR_DAYS))}
    result = compute(rules, "ferpa_amend", at("2026-03-02", LA), LA, overrides=overrides)
    assert result.respond_by == d("2026-04-01")  # Mar 31 is +29, Apr 1 is +30


def test_unverified_row_ships_disabled_and_can_be_enabled_by_override() -> None:
    assert all(
        not part.enabled
        for rule in REFERENCE_RULES.values()
        for part in rule.parts
        if part.confidence is Confidence.UNVERIFIED
    )
    received = at("2026-03-02", LA)
    with pytest.raises(RuleDoesNotApply):
        compute(get_rules(["ccpa"]), "limit_sensitive", received, LA)
    enabled = {"ccpa": RuleOverride(enabled=True)}
    result = compute(get_rules(["ccpa"]), "limit_sensitive", received, LA, overrides=enabled)
    # 15 business days after Mon 2026-03-02: Mar 3-6 (1-4), 9-13 (5-9), 16-20 (10-14), 23 (15).
    assert result.respond_by == d("2026-03-23")


def test_rules_not_in_force_on_the_day_of_receipt_are_skipped() -> None:
    part = RulePart(
        request_types=frozenset({"access"}),
        respond=Period(5, Unit.CALENDAR_DAYS),
        source="statute",
        confidence=Confidence.HIGH,
        effective_from=d("2026-07-01"),
    )
    rule = DeadlineRule(id="new-law", jurisdiction="X", calendar=US_FEDERAL, parts=(part,))
    policy = get_rule("k12cloud-policy")
    before = compute([policy, rule], "access", at("2026-06-30", LA), LA)
    after = compute([policy, rule], "access", at("2026-07-01", LA), LA)
    assert [r.rule for r in before.rules] == ["k12cloud-policy"]
    assert after.binding_rule == "new-law"


def test_to_json_dict_shape() -> None:
    result = compute(get_rules(["ccpa"]), "access", at("2026-03-02", LA), LA)
    assert result.to_json_dict() == {
        "received_on": "2026-03-02",
        "acknowledge_by": "2026-03-16",
        "respond_by": "2026-04-16",
        "respond_by_extended": "2026-05-31",
        "extension_notice_by": "2026-04-16",
        "binding_rule": "ccpa",
        "rules": [
            {
                "rule": "ccpa",
                "source": "11 CCR §7021; Cal. Civ. Code §1798.130",
                "acknowledge_by": "2026-03-16",
                "respond_by": "2026-04-16",
                "respond_by_extended": "2026-05-31",
                "extension_notice_by": "2026-04-16",
            }
        ],
    }


def test_reference_table_has_every_row() -> None:
    assert set(REFERENCE_RULES) == {
        "k12cloud-policy",
        "k12cloud-service-level",
        "ccpa",
        "gdpr",
        "ferpa",
        "ca-edcode-49069",
        "ny-part121",
        "pipeda",
        "quebec-private",
        "quebec-public",
        "ontario-mfippa",
    }
    assert get_rule("quebec-public").calendar == CalendarSpec("CA", "QC")
    assert get_rule("ontario-mfippa").calendar == CalendarSpec("CA", "ON")
    assert get_rule("pipeda").calendar == CalendarSpec("CA")
    assert [rule.id for rule in REFERENCE_RULES.values() if rule.roll_forward] == ["gdpr"]
    assert not get_rule("ccpa").pausing_allowed


def test_closures_move_internal_targets_only() -> None:
    # Internal target: 10 business days after Mon 2026-03-02 is Mar 16; with a district closed
    # Mar 9-13 (spring break) the internal count runs to Mar 23.
    spring_break = frozenset(d(f"2026-03-{day:02d}") for day in range(9, 14))
    assert business_day_add(d("2026-03-02"), 10, US_FEDERAL) == d("2026-03-16")
    assert business_day_add(d("2026-03-02"), 10, US_FEDERAL, spring_break) == d("2026-03-23")
    # The statutory acknowledgement does not move: compute takes no closures at all.
    result = compute(get_rules(["ccpa"]), "access", at("2026-03-02", LA), LA)
    assert result.acknowledge_by == d("2026-03-16")


# --- errors ---------------------------------------------------------------------------------


def test_unknown_rule() -> None:
    with pytest.raises(UnknownRule, match="no-such-rule"):
        get_rule("no-such-rule")
    with pytest.raises(UnknownRule, match="gdpr"):
        compute(
            get_rules(["ccpa"]),
            "access",
            at("2026-03-02", LA),
            LA,
            overrides={"gdpr": RuleOverride(respond=Period(1, Unit.MONTHS))},
        )


def test_unknown_request_type() -> None:
    with pytest.raises(UnknownRequestType, match="erase"):
        compute(get_rules(["ccpa"]), "erase", at("2026-03-02", LA), LA)
    with pytest.raises(UnknownRequestType, match="know"):
        RulePart(request_types=frozenset({"know"}), source="x", confidence=Confidence.HIGH)


def test_rule_does_not_apply_names_the_rule_and_the_type() -> None:
    with pytest.raises(RuleDoesNotApply, match=r"gdpr.*opt_out"):
        compute(get_rules(["gdpr"]), "opt_out", at("2026-03-02", LA), LA)
    with pytest.raises(RuleDoesNotApply, match=r"ccpa, gdpr.*ferpa_inspect"):
        compute(get_rules(["ccpa", "gdpr"]), "ferpa_inspect", at("2026-03-02", LA), LA)


def test_naive_datetime() -> None:
    with pytest.raises(NaiveDatetime):
        compute(get_rules(["ccpa"]), "access", datetime(2026, 3, 2, 10), LA)


def test_unknown_time_zone() -> None:
    with pytest.raises(UnknownTimeZone, match="Mars/Olympus_Mons"):
        compute(get_rules(["ccpa"]), "access", at("2026-03-02", LA), "Mars/Olympus_Mons")


def test_malformed_rules_are_refused() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        Period(0, Unit.CALENDAR_DAYS)
    with pytest.raises(ValueError, match="fortnights"):
        Period(2, "fortnights")
    # Stored strings are accepted and normalised.
    assert Period(2, "business_days") == Period(2, Unit.BUSINESS_DAYS)
    with pytest.raises(ValueError, match="unit"):
        RulePart(
            request_types=frozenset({"access"}),
            respond=Period(1, Unit.MONTHS),
            extension=Period(60, Unit.CALENDAR_DAYS),
            source="x",
            confidence=Confidence.HIGH,
        )
