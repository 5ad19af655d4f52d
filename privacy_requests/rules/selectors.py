"""Reads of deadline rules: the rules table as engine objects, an organization's rules,
its deadlines for a request, and whether a stored snapshot is stale.

`jurisdiction_rule_book()` turns the `JurisdictionRule` table into the engine's
`DeadlineRule` objects with one query; callers that compute many deadlines (a request, a
sweep) load it once and pass it on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from privacy_requests.deadlines import (
    CalendarSpec,
    Confidence,
    DeadlineResult,
    DeadlineRule,
    DeadlineSnapshot,
    ExtensionNotice,
    Period,
    RulePart,
    UnknownRule,
    business_day_add,
    compute,
    default_rule_ids,
)
from privacy_requests.rules.models import (
    CONTRACT_RULE_PREFIX,
    ContractRule,
    JurisdictionRule,
    OrganizationClosure,
    OrganizationRuleSelection,
)

if TYPE_CHECKING:
    from accounts.models import Organization


# --- the rules table as engine objects -----------------------------------------------------


def _period(amount: int | None, unit: str) -> Period | None:
    return None if amount is None else Period(amount, unit)  # type: ignore[arg-type]


def rule_part_from_row(row: JurisdictionRule) -> RulePart:
    """The engine's `RulePart` for one row; raises ValueError (or UnknownRequestType) if the
    row is not a valid part."""
    notice: Period | ExtensionNotice | None = None
    if row.extension_notice == JurisdictionRule.ExtensionNoticeKind.WITHIN_RESPONSE_PERIOD:
        notice = ExtensionNotice.WITHIN_RESPONSE_PERIOD
    elif row.extension_notice == JurisdictionRule.ExtensionNoticeKind.PERIOD:
        notice = _period(row.extension_notice_amount, row.extension_notice_unit)
    return RulePart(
        request_types=frozenset(row.request_types),
        source=row.source,
        confidence=Confidence(row.confidence),
        acknowledge=_period(row.acknowledge_amount, row.acknowledge_unit),
        respond=_period(row.respond_amount, row.respond_unit),
        extension=_period(row.extension_amount, row.extension_unit),
        extension_notice=notice,
        enabled=row.enabled,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        notes=row.notes,
    )


def deadline_rule_from_rows(rows: Sequence[JurisdictionRule]) -> DeadlineRule:
    """One rule id's rows as a `DeadlineRule`; rule-level fields come from the first row
    (the service keeps them equal across a rule's rows). Raises ValueError."""
    first = rows[0]
    return DeadlineRule(
        id=first.rule_id,
        jurisdiction=first.jurisdiction,
        calendar=CalendarSpec(first.calendar_country or None, first.calendar_subdivision or None),
        parts=tuple(rule_part_from_row(row) for row in rows),
        roll_forward=first.roll_forward,
        pausing_allowed=first.pausing_allowed,
    )


@dataclass(frozen=True, slots=True)
class RuleBook:
    """The jurisdiction rules as engine objects, with the version of each row."""

    rules: Mapping[str, DeadlineRule]
    # (rule id, request type) -> version of the row that governs that type
    versions: Mapping[tuple[str, str], int]

    def get(self, rule_ids: Iterable[str]) -> tuple[DeadlineRule, ...]:
        """The rules with these ids, in the order given; raises UnknownRule naming the first
        unknown id."""
        found = []
        for rule_id in rule_ids:
            try:
                found.append(self.rules[rule_id])
            except KeyError:
                raise UnknownRule(f"unknown rule {rule_id!r}") from None
        return tuple(found)

    def version_for(self, rule_id: str, request_type: str) -> int:
        """The version of the row governing `request_type`; 0 when no row does."""
        return self.versions.get((rule_id, request_type), 0)


def jurisdiction_rule_book(rule_ids: Iterable[str] | None = None) -> RuleBook:
    """Every jurisdiction rule (or those with `rule_ids`), disabled rows included (the engine
    skips disabled parts). One query."""
    rows = JurisdictionRule.objects.order_by("rule_id", "pk")
    if rule_ids is not None:
        rows = rows.filter(rule_id__in=list(rule_ids))
    by_rule: dict[str, list[JurisdictionRule]] = defaultdict(list)
    versions: dict[tuple[str, str], int] = {}
    for row in rows:
        by_rule[row.rule_id].append(row)
        for request_type in row.request_types:
            versions[(row.rule_id, request_type)] = row.version
    return RuleBook(
        rules={rule_id: deadline_rule_from_rows(group) for rule_id, group in by_rule.items()},
        versions=versions,
    )


# --- an organization's rules ----------------------------------------------------------------


def organization_calendar(organization: Organization) -> CalendarSpec:
    """The public-holiday calendar of the organization's country (and province in Canada).

    US organizations use the federal calendar: state holidays are closures for internal
    targets, never statutory (docs/deadlines.md).
    """
    if organization.country == "US":
        return CalendarSpec("US")
    if organization.country == "CA":
        return CalendarSpec("CA", organization.subdivision or None)
    return CalendarSpec(None)


def organization_rule_ids(*, organization: Organization) -> tuple[str, ...]:
    """The jurisdiction rule ids the organization chose, or its defaults if it chose none."""
    chosen = tuple(
        OrganizationRuleSelection.objects.for_organization(organization).values_list(
            "rule_id", flat=True
        )
    )
    return chosen or default_rule_ids(
        organization.kind, organization.country, organization.subdivision
    )


def contract_rule_to_deadline_rule(row: ContractRule, organization: Organization) -> DeadlineRule:
    return DeadlineRule(
        id=row.engine_id,
        jurisdiction=f"contract ({organization.slug})",
        calendar=organization_calendar(organization),
        parts=(
            RulePart(
                request_types=frozenset(row.request_types),
                source=row.source,
                confidence=Confidence.HIGH,
                acknowledge=_period(row.acknowledge_amount, row.acknowledge_unit),
                respond=_period(row.respond_amount, row.respond_unit),
                enabled=row.enabled,
            ),
        ),
    )


def organization_contract_rules(*, organization: Organization) -> list[ContractRule]:
    return list(ContractRule.objects.for_organization(organization).order_by("slug"))


def organization_closures(
    *, organization: Organization, start: date | None = None, end: date | None = None
) -> frozenset[date]:
    """The organization's closed days (inclusive range), for internal targets only."""
    rows = OrganizationClosure.objects.for_organization(organization)
    if start is not None:
        rows = rows.filter(date__gte=start)
    if end is not None:
        rows = rows.filter(date__lte=end)
    return frozenset(rows.values_list("date", flat=True))


def internal_business_day_target(
    *, organization: Organization, start: date, business_days: int
) -> date:
    """An internal target: `business_days` after `start`, skipping the organization's own
    closures as well as public holidays. Never use it for a statutory deadline."""
    return business_day_add(
        start,
        business_days,
        organization_calendar(organization),
        extra_closures=organization_closures(organization=organization, start=start),
    )


def _current_versions(
    rule_ids: Iterable[str],
    request_type: str,
    book: RuleBook,
    contracts: Mapping[str, ContractRule],
) -> dict[str, int]:
    """rule id -> version of what governs `request_type` now (0: nothing does)."""
    versions = {}
    for rule_id in rule_ids:
        contract = contracts.get(rule_id)
        if contract is not None:
            versions[rule_id] = contract.version if request_type in contract.request_types else 0
        else:
            versions[rule_id] = book.version_for(rule_id, request_type)
    return versions


def _organization_rules(
    organization: Organization, book: RuleBook
) -> tuple[tuple[DeadlineRule, ...], dict[str, ContractRule]]:
    contracts = {c.engine_id: c for c in organization_contract_rules(organization=organization)}
    rules = (
        *book.get(organization_rule_ids(organization=organization)),
        *(contract_rule_to_deadline_rule(c, organization) for c in contracts.values()),
    )
    return rules, contracts


def organization_deadlines(
    *,
    organization: Organization,
    request_type: str,
    received_at: datetime,
    book: RuleBook | None = None,
) -> tuple[DeadlineResult, DeadlineSnapshot]:
    """The statutory deadlines of one request of the organization, and the snapshot the
    request should store. Raises the engine's DeadlineError subclasses."""
    book = book or jurisdiction_rule_book()
    rules, contracts = _organization_rules(organization, book)
    result = compute(rules, request_type, received_at, organization.time_zone)
    versions = _current_versions((r.id for r in rules), request_type, book, contracts)
    return result, DeadlineSnapshot.from_result(
        result, request_type=request_type, rule_versions=versions
    )


def deadline_snapshot_is_stale(
    snapshot: DeadlineSnapshot,
    *,
    organization: Organization | None = None,
    book: RuleBook | None = None,
) -> list[str]:
    """The rule ids whose version differs from the one `snapshot` was computed with (sorted;
    empty when the snapshot is current).

    Without `organization`, only the jurisdiction rules the snapshot names are checked against
    the rules table. With it, the organization's current rule set (its selection and contract
    rules) is compared: a rule added to or removed from the selection is a change too. A
    snapshot naming contract rules needs the organization.
    """
    book = book or jurisdiction_rule_book()
    if organization is None:
        contract_ids = [r for r in snapshot.rule_versions if r.startswith(CONTRACT_RULE_PREFIX)]
        if contract_ids:
            raise ValueError(f"checking contract rules {contract_ids} needs the organization")
        rule_ids: Iterable[str] = snapshot.rule_versions
        contracts: dict[str, ContractRule] = {}
    else:
        contracts = {c.engine_id: c for c in organization_contract_rules(organization=organization)}
        rule_ids = (*organization_rule_ids(organization=organization), *contracts)
    current = _current_versions(rule_ids, snapshot.request_type, book, contracts)
    stored = snapshot.rule_versions
    return sorted(
        rule_id
        for rule_id in set(current) | set(stored)
        if current.get(rule_id, 0) != stored.get(rule_id, 0)
    )
