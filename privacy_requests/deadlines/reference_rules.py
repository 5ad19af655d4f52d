"""The reference rules table of docs/deadlines.md as data.

Which request types each row governs is a reading of the row's source, noted where it is not
obvious:

- `ccpa` "know / delete / correct": the right to know covers access and, through
  Civ. Code 1798.130(a)(2)(B), delivery in a portable format, so "know" maps to both
  `access` and `portability`.
- `k12cloud-policy` is k-12.cloud's own privacy policy, for the personal data k-12.cloud
  controls: it binds the platform organization only (deadlines/defaults.py). It governs the
  rights the policy lists (access, correct, delete, portability, object, restrict, withdraw
  consent, and the California limit / opt-out rights), not the FERPA types: those are the
  school's obligations, not k-12.cloud's promise.
- `k12cloud-service-level` is the portal's service level for requests a district or vendor
  handles as controller (a product decision of 2026-12-03, modelled on 11 CCR §7021): the same
  10 business days and 45 calendar days, but with one 45-day extension on written notice
  before the first 45 days end, so that it never forbids an extension the law allows. It
  governs the same request types as `k12cloud-policy`; the FERPA types stay with the
  statutes (FERPA, the Education Code, Part 121).
- `gdpr`: Art. 12(3) sets the period for requests under Arts. 15 to 22 (access, rectification,
  erasure, restriction, portability, objection). Withdrawing consent (Art. 7(3)) has no period
  of its own; opting out of sale and limiting sensitive data are CCPA notions.
- `ca-edcode-49069` and `ny-part121` govern parent inspection of pupil records
  (`ferpa_inspect`); amendment is outside their cited sections.
- The Canadian access statutes govern `access`; the Quebec acts also cover rectification in
  the same section, and Law 25 made portability part of the right of access.

No row of the table gives effective dates, so none are set here.
"""

from __future__ import annotations

from collections.abc import Iterable

from .calendars import CANADA_FEDERAL, ONTARIO, QUEBEC, US_FEDERAL, WEEKENDS_ONLY
from .engine import (
    Confidence,
    DeadlineRule,
    ExtensionNotice,
    Period,
    RequestType,
    RulePart,
    Unit,
    UnknownRule,
)

RT = RequestType
WITHIN_RESPONSE_PERIOD = ExtensionNotice.WITHIN_RESPONSE_PERIOD


def business_days(n: int) -> Period:
    return Period(n, Unit.BUSINESS_DAYS)


def calendar_days(n: int) -> Period:
    return Period(n, Unit.CALENDAR_DAYS)


def months(n: int) -> Period:
    return Period(n, Unit.MONTHS)


# the rights k-12.cloud's privacy policy lists; its service level covers the same ones
K12CLOUD_REQUEST_TYPES = frozenset(
    {
        RT.ACCESS,
        RT.DELETE,
        RT.CORRECT,
        RT.PORTABILITY,
        RT.OPT_OUT,
        RT.LIMIT_SENSITIVE,
        RT.RESTRICT,
        RT.OBJECT,
        RT.WITHDRAW_CONSENT,
    }
)

_RULES = (
    DeadlineRule(
        id="k12cloud-policy",
        jurisdiction="k-12.cloud privacy policy",
        calendar=US_FEDERAL,
        parts=(
            RulePart(
                request_types=K12CLOUD_REQUEST_TYPES,
                acknowledge=business_days(10),
                respond=calendar_days(45),
                source="k-12.cloud privacy policy §11",
                confidence=Confidence.HIGH,
            ),
        ),
    ),
    DeadlineRule(
        id="k12cloud-service-level",
        jurisdiction="k-12.cloud service level",
        calendar=US_FEDERAL,
        parts=(
            RulePart(
                request_types=K12CLOUD_REQUEST_TYPES,
                acknowledge=business_days(10),
                respond=calendar_days(45),
                extension=calendar_days(45),
                extension_notice=WITHIN_RESPONSE_PERIOD,
                source="k-12.cloud service level (modelled on 11 CCR §7021)",
                confidence=Confidence.HIGH,
                notes="one extension, with written notice and reasons before the first 45 days end",
            ),
        ),
    ),
    DeadlineRule(
        id="ccpa",
        jurisdiction="US-CA",
        calendar=US_FEDERAL,
        pausing_allowed=False,  # 11 CCR §7021(b): "regardless of time required to verify"
        parts=(
            RulePart(
                request_types=frozenset({RT.ACCESS, RT.PORTABILITY, RT.DELETE, RT.CORRECT}),
                acknowledge=business_days(10),
                respond=calendar_days(45),
                extension=calendar_days(45),
                extension_notice=WITHIN_RESPONSE_PERIOD,
                source="11 CCR §7021; Cal. Civ. Code §1798.130",
                confidence=Confidence.HIGH,
                notes="one extension, with notice and reasons before the first 45 days end",
            ),
            RulePart(
                request_types=frozenset({RT.OPT_OUT}),
                respond=business_days(15),
                source="11 CCR §7026",
                confidence=Confidence.HIGH,
                notes="includes Global Privacy Control; no identity verification may be required",
            ),
            RulePart(
                request_types=frozenset({RT.LIMIT_SENSITIVE}),
                respond=business_days(15),
                source="11 CCR §7027",
                confidence=Confidence.UNVERIFIED,
                enabled=False,
            ),
        ),
    ),
    DeadlineRule(
        id="gdpr",
        jurisdiction="EU/UK",
        # Weekends only, a deliberate simplification: Reg. 1182/71 rolls off the public holidays
        # of the member state concerned, which vary. Leaving them out can only give an earlier
        # (safe) date; the EU TARGET calendar would add days that are working days in some
        # states and so could give a date later than the law's.
        calendar=WEEKENDS_ONLY,
        roll_forward=True,  # Reg. 1182/71 Art. 3(4)
        parts=(
            RulePart(
                request_types=frozenset(
                    {RT.ACCESS, RT.CORRECT, RT.DELETE, RT.RESTRICT, RT.PORTABILITY, RT.OBJECT}
                ),
                respond=months(1),
                extension=months(2),
                extension_notice=WITHIN_RESPONSE_PERIOD,
                source="GDPR Art. 12(3); Reg. 1182/71 Art. 3",
                confidence=Confidence.HIGH,
                notes="notice of the extension, with reasons, within the first month",
            ),
        ),
    ),
    DeadlineRule(
        id="ferpa",
        jurisdiction="US",
        calendar=US_FEDERAL,
        parts=(
            RulePart(
                request_types=frozenset({RT.FERPA_INSPECT}),
                respond=calendar_days(45),
                source="34 CFR 99.10",
                confidence=Confidence.HIGH,
            ),
            RulePart(
                request_types=frozenset({RT.FERPA_AMEND}),
                respond=None,  # "within a reasonable time": the tenant sets a number by override
                source="34 CFR 99.20-99.22",
                confidence=Confidence.HIGH,
                notes="hearing on request if the amendment is refused",
            ),
        ),
    ),
    DeadlineRule(
        id="ca-edcode-49069",
        jurisdiction="US-CA",
        calendar=US_FEDERAL,
        parts=(
            RulePart(
                request_types=frozenset({RT.FERPA_INSPECT}),
                respond=business_days(5),
                source="Cal. Ed. Code §49069.7",
                confidence=Confidence.HIGH,
                notes="California pupil records; shorter than FERPA's 45 days",
            ),
        ),
    ),
    DeadlineRule(
        id="ny-part121",
        jurisdiction="US-NY",
        calendar=US_FEDERAL,
        parts=(
            RulePart(
                request_types=frozenset({RT.FERPA_INSPECT}),
                respond=calendar_days(45),
                source="8 NYCRR 121.12",
                confidence=Confidence.MEDIUM_HIGH,
            ),
        ),
    ),
    DeadlineRule(
        id="pipeda",
        jurisdiction="CA",
        calendar=CANADA_FEDERAL,
        parts=(
            RulePart(
                request_types=frozenset({RT.ACCESS}),
                respond=calendar_days(30),
                extension=calendar_days(30),
                extension_notice=WITHIN_RESPONSE_PERIOD,
                source="PIPEDA s.8(3)-(5)",
                confidence=Confidence.HIGH,
                notes="silence by the deadline is deemed a refusal",
            ),
        ),
    ),
    DeadlineRule(
        id="quebec-private",
        jurisdiction="CA-QC",
        calendar=QUEBEC,
        parts=(
            RulePart(
                request_types=frozenset({RT.ACCESS, RT.CORRECT, RT.PORTABILITY}),
                respond=calendar_days(30),
                source="CQLR c. P-39.1 s.32",
                confidence=Confidence.MEDIUM,
            ),
        ),
    ),
    DeadlineRule(
        id="quebec-public",
        jurisdiction="CA-QC",
        calendar=QUEBEC,
        parts=(
            RulePart(
                request_types=frozenset({RT.ACCESS, RT.CORRECT, RT.PORTABILITY}),
                respond=calendar_days(20),
                extension=calendar_days(10),
                extension_notice=WITHIN_RESPONSE_PERIOD,
                source="CQLR c. A-2.1 s.98",
                confidence=Confidence.HIGH,
                notes="notice of the extension by mail within the first 20 days",
            ),
        ),
    ),
    DeadlineRule(
        id="ontario-mfippa",
        jurisdiction="CA-ON",
        calendar=ONTARIO,
        parts=(
            RulePart(
                request_types=frozenset({RT.ACCESS}),
                respond=calendar_days(30),
                # The extension is "reasonable", by notice: no number unless a tenant sets one.
                source="MFIPPA ss.19-22",
                confidence=Confidence.HIGH,
            ),
        ),
    ),
)

REFERENCE_RULES: dict[str, DeadlineRule] = {rule.id: rule for rule in _RULES}


def get_rule(rule_id: str) -> DeadlineRule:
    """The reference rule with this id; raises UnknownRule."""
    try:
        return REFERENCE_RULES[rule_id]
    except KeyError:
        raise UnknownRule(f"unknown rule {rule_id!r}") from None


def get_rules(rule_ids: Iterable[str]) -> tuple[DeadlineRule, ...]:
    """The reference rules with these ids, in the order given; raises UnknownRule."""
    return tuple(get_rule(rule_id) for rule_id in rule_ids)
