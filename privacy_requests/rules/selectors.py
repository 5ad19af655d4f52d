"""Reads of deadline rules: the rules table as engine objects, an organization's rules,
its deadlines for a request, and whether a stored snapshot is stale.

`jurisdiction_rule_book()` turns the `JurisdictionRule` table into the engine's
`DeadlineRule` objects with one query; callers that compute many deadlines (a sweep) load it
once and pass it on. `organization_rules()` gives one request's rules in one statement: the
rule book and the organization's contract rules come from a process cache keyed by a digest
of the rows, which that statement reads, so an edit takes effect at once (issue #20).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, TypeVar

from django.db import connection

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
    # rule id -> its rows, in primary key order (what `_binding_rule_rows` reads)
    rows: Mapping[str, tuple[JurisdictionRule, ...]] = field(default_factory=dict)

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
        rows={rule_id: tuple(group) for rule_id, group in by_rule.items()},
    )


# --- one request's rules, in one statement ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrganizationRules:
    """What `organization_deadlines` needs of the database for one organization: the rule
    book, the organization's contract rules (by slug) and its rule selection (by rule id)."""

    book: RuleBook
    contracts: tuple[ContractRule, ...]
    selection: tuple[str, ...]


# md5 of every column of every row, in primary key order (NULL: no rows), and the selection,
# by privacy_rules_state (migration privacy_requests 0011): the query in PL/pgSQL, whose plan
# PostgreSQL caches per connection. Row-level security scopes the organization's tables to the
# tenant context too.
_RULES_STATE_SQL = "SELECT * FROM privacy_rules_state(%(organization)s)"
# Rows loaded under a digest are the rows that digest was taken of: any edit of any column
# (a rule's periods, enabled, version; a contract rule's, or its deletion) changes the digest,
# so the next request loads the rows again. Small: the rule book is tens of rows.
_BOOKS_KEPT = 4
_CONTRACTS_KEPT = 256
_rules_lock = threading.Lock()
_books: OrderedDict[str, RuleBook] = OrderedDict()
_contracts: OrderedDict[tuple[int, str], tuple[ContractRule, ...]] = OrderedDict()


_K = TypeVar("_K")
_V = TypeVar("_V")


def _remember(cache: OrderedDict[_K, _V], key: _K, value: _V, kept: int) -> _V:
    with _rules_lock:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > kept:
            cache.popitem(last=False)
    return value


def organization_rules(*, organization: Organization) -> OrganizationRules:
    """The rules of one request of the organization: one statement while the rules are
    unchanged (the digests of the rules table and of the organization's contract rules, and
    its selection), plus one query for whichever of the two changed since this process last
    read it. Call inside the organization's tenant context."""
    with connection.cursor() as cursor:
        cursor.execute(_RULES_STATE_SQL, {"organization": organization.pk})
        book_digest, contracts_digest, selection = cursor.fetchone()
    book_digest = book_digest or ""
    book = _books.get(book_digest)
    if book is None:
        book = _remember(_books, book_digest, jurisdiction_rule_book(), _BOOKS_KEPT)
    contracts: tuple[ContractRule, ...] = ()
    if contracts_digest is not None:
        key = (organization.pk, contracts_digest)
        found = _contracts.get(key)
        if found is None:
            rows = tuple(organization_contract_rules(organization=organization))
            found = _remember(_contracts, key, rows, _CONTRACTS_KEPT)
        contracts = found
    return OrganizationRules(book=book, contracts=contracts, selection=tuple(selection))


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


def organization_rule_ids(
    *, organization: Organization, selection: Sequence[str] | None = None
) -> tuple[str, ...]:
    """The jurisdiction rule ids the organization chose, or its defaults if it chose none.
    `selection`: its chosen ids as already read (`OrganizationRules.selection`)."""
    chosen = (
        tuple(selection)
        if selection is not None
        else tuple(
            OrganizationRuleSelection.objects.for_organization(organization).values_list(
                "rule_id", flat=True
            )
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
    organization: Organization, book: RuleBook, known: OrganizationRules | None = None
) -> tuple[tuple[DeadlineRule, ...], dict[str, ContractRule]]:
    rows = known.contracts if known else organization_contract_rules(organization=organization)
    contracts = {c.engine_id: c for c in rows}
    chosen = organization_rule_ids(
        organization=organization, selection=known.selection if known else None
    )
    rules = (
        *book.get(chosen),
        *(contract_rule_to_deadline_rule(c, organization) for c in contracts.values()),
    )
    return rules, contracts


def organization_deadlines(
    *,
    organization: Organization,
    request_type: str,
    received_at: datetime,
    book: RuleBook | None = None,
    rules: OrganizationRules | None = None,
) -> tuple[DeadlineResult, DeadlineSnapshot]:
    """The statutory deadlines of one request of the organization, and the snapshot the
    request should store. Raises the engine's DeadlineError subclasses.

    `rules`: the organization's rules as `organization_rules()` read them (else read here, in
    one statement); `book`: a rule book loaded once for many organizations (a sweep), with
    the organization's own rules read here (two queries)."""
    if book is None:
        rules = rules or organization_rules(organization=organization)
        book = rules.book
    deadline_rules, contracts = _organization_rules(organization, book, rules)
    result = compute(deadline_rules, request_type, received_at, organization.time_zone)
    versions = _current_versions((r.id for r in deadline_rules), request_type, book, contracts)
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
