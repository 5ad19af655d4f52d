"""Writes of deadline rules: the platform's rules table and each organization's choices.

Every edit of a rule bumps its version, so that requests computed with the old version are
flagged for review instead of silently moving (see `selectors.deadline_snapshot_is_stale`).

Each service writes its audit event in the same transaction (audit.services.record). The rules
table is platform data, so its edits are platform events; an organization's choices are that
organization's events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import Action
from audit.context import Actor, actor_for_user
from audit.services import record
from privacy_requests.deadlines import DeadlineError, default_rule_ids
from privacy_requests.rules.models import (
    CONTRACT_RULE_PERIODS,
    JURISDICTION_RULE_PERIODS,
    ContractRule,
    JurisdictionRule,
    OrganizationClosure,
    OrganizationRuleSelection,
)
from privacy_requests.rules.periods import period_bound_errors
from privacy_requests.rules.selectors import (
    contract_rule_to_deadline_rule,
    deadline_rule_from_rows,
)

if TYPE_CHECKING:
    from accounts.models import Organization, User

# Shared by every row of one rule id (they are one `DeadlineRule` in the engine).
RULE_LEVEL_FIELDS = (
    "jurisdiction",
    "calendar_country",
    "calendar_subdivision",
    "roll_forward",
    "pausing_allowed",
)


def _audit_actor(actor: User | None) -> Actor | None:
    """The named user, or (None) whoever the current request or task is."""
    return None if actor is None else actor_for_user(actor.pk)


def _flag_stale(organization: Organization, *, cause: str) -> None:
    """Open requests whose deadline snapshot the change made stale are flagged for review,
    in the same transaction (privacy_requests.routing)."""
    from privacy_requests.routing import deadline_snapshots_flag_stale

    deadline_snapshots_flag_stale(organization=organization, cause=cause)


def _flag_stale_everywhere(*, cause: str) -> None:
    """A rules-table edit may touch every organization: one task each, after commit."""
    from privacy_requests.routing import deadline_snapshots_flag_stale_everywhere

    deadline_snapshots_flag_stale_everywhere(cause=cause)


# --- the platform's rules table -------------------------------------------------------------


def jurisdiction_rule_validate(
    rule: JurisdictionRule, siblings: Sequence[JurisdictionRule] = ()
) -> None:
    """Raise ValidationError unless `rule`, with the other rows of its rule id, makes a valid
    engine rule (units match, no request type governed by two rows, notice needs an extension,
    ...). `siblings` are the rule id's other rows; loaded when not given."""
    errors = period_bound_errors(rule, JURISDICTION_RULE_PERIODS)
    if errors:  # named per field, before the engine's own (unnamed) refusal
        raise ValidationError(errors)
    if not siblings and rule.rule_id:
        siblings = list(JurisdictionRule.objects.filter(rule_id=rule.rule_id).exclude(pk=rule.pk))
    try:
        deadline_rule_from_rows([rule, *siblings])
    except (ValueError, DeadlineError) as exc:
        raise ValidationError(str(exc)) from exc


@transaction.atomic
def jurisdiction_rule_save(*, actor: User | None, rule: JurisdictionRule) -> JurisdictionRule:
    """Create or update one row of the rules table, bumping the rule's version.

    The new version is one more than the highest of any row of the rule id, so versions are
    unique within a rule id. Rule-level fields (calendar, roll-forward, ...) are copied to the
    rule id's other rows, which get new versions too when that changes them.
    """
    previous_rule_id = None
    if rule.pk is not None:
        previous_rule_id = (
            JurisdictionRule.objects.filter(pk=rule.pk).values_list("rule_id", flat=True).first()
        )
    locked_ids = sorted({rule.rule_id} | ({previous_rule_id} if previous_rule_id else set()))
    # Lock every row of the rule id(s) in pk order, so that two edits cannot hand out the same
    # version.
    rows = list(
        JurisdictionRule.objects.filter(rule_id__in=locked_ids).order_by("pk").select_for_update()
    )
    siblings = [r for r in rows if r.rule_id == rule.rule_id and r.pk != rule.pk]
    for sibling in siblings:
        for name in RULE_LEVEL_FIELDS:
            setattr(sibling, name, getattr(rule, name))
    jurisdiction_rule_validate(rule, siblings)

    next_version = 1 + max((r.version for r in rows), default=0)
    now = timezone.now()
    rule.version, rule.updated_at = next_version, now
    rule.save()
    originals = {r.pk: r for r in JurisdictionRule.objects.filter(pk__in=[s.pk for s in siblings])}
    for sibling in siblings:
        original = originals[sibling.pk]
        if any(getattr(original, n) != getattr(sibling, n) for n in RULE_LEVEL_FIELDS):
            next_version += 1
            sibling.version, sibling.updated_at = next_version, now
            sibling.save(update_fields=[*RULE_LEVEL_FIELDS, "version", "updated_at"])
    record(
        Action.JURISDICTION_RULE_SAVED,
        target=rule,
        changes={
            "rule_id": rule.rule_id,
            "request_types": list(rule.request_types),
            "version": rule.version,
            "enabled": rule.enabled,
            "rows_reversioned": [s.pk for s in siblings if s.version > rule.version],
        },
        actor=_audit_actor(actor),
    )
    _flag_stale_everywhere(cause=f"jurisdiction_rule:{rule.rule_id}")
    return rule


def jurisdiction_rule_current_version(rule_id: str) -> int:
    """The highest version of any row of `rule_id` (0 if there is none)."""
    return JurisdictionRule.objects.filter(rule_id=rule_id).aggregate(v=Max("version"))["v"] or 0


# --- per organization -----------------------------------------------------------------------


# k-12.cloud's own privacy policy: it binds the platform organization and no other
PLATFORM_ONLY_RULES = frozenset({"k12cloud-policy"})


def rule_selectable(organization: Organization, rule_id: str) -> bool:
    """May the organization choose this rule? Every rule but the platform's own policy."""
    return rule_id not in PLATFORM_ONLY_RULES or organization.kind == "platform"


def deadline_rules_default_for(organization: Organization) -> tuple[str, ...]:
    """The rule ids that apply to `organization` until it chooses (deadlines/defaults.py)."""
    return default_rule_ids(organization.kind, organization.country, organization.subdivision)


@transaction.atomic
def organization_rule_selection_set(
    *, organization: Organization, actor: User | None, rule_ids: Iterable[str]
) -> tuple[str, ...]:
    """Replace the organization's rule selection. Every id must be in the rules table, and
    `k12cloud-policy` (k-12.cloud's own privacy policy) is for the platform organization only.

    The audit event names what was added and removed relative to the rules that applied
    before, the defaults included when the organization had not chosen yet. Requests already
    open keep their deadlines; `deadline_snapshot_is_stale(..., organization=)` flags them for
    review.
    """
    wanted = tuple(dict.fromkeys(rule_ids))
    if not wanted:
        raise ValidationError("choose at least one rule")
    refused = [r for r in wanted if not rule_selectable(organization, r)]
    if refused:
        raise ValidationError(
            _(
                "%(rules)s is k-12.cloud's own privacy policy and applies to the k-12.cloud "
                "platform organization only."
            )
            % {"rules": ", ".join(refused)}
        )
    known = set(
        JurisdictionRule.objects.filter(rule_id__in=wanted).values_list("rule_id", flat=True)
    )
    unknown = [r for r in wanted if r not in known]
    if unknown:
        raise ValidationError(f"unknown rule(s): {', '.join(unknown)}")
    current = OrganizationRuleSelection.objects.for_organization(organization)
    stored = set(current.values_list("rule_id", flat=True))
    # what applied before: the stored choice, or the defaults when there was none
    before = stored or set(deadline_rules_default_for(organization))
    current.exclude(rule_id__in=wanted).delete()
    existing = stored & set(wanted)
    OrganizationRuleSelection.objects.bulk_create(
        OrganizationRuleSelection(organization=organization, rule_id=r)
        for r in wanted
        if r not in existing
    )
    if before != set(wanted) or not stored:
        changes: dict[str, object] = {
            "added": sorted(set(wanted) - before),
            "removed": sorted(before - set(wanted)),
        }
        if not stored:
            changes["replaced_defaults"] = True
        record(
            Action.RULE_SELECTION_CHANGED,
            organization=organization,
            changes=changes,
            actor=_audit_actor(actor),
        )
        _flag_stale(organization, cause="rule_selection")
    return wanted


def organization_rule_selection_initialize(
    *, organization: Organization, actor: User | None
) -> tuple[str, ...]:
    """Store the defaults as the organization's selection, unless it has one already."""
    stored = tuple(
        OrganizationRuleSelection.objects.for_organization(organization).values_list(
            "rule_id", flat=True
        )
    )
    if stored:
        return stored
    return organization_rule_selection_set(
        organization=organization, actor=actor, rule_ids=deadline_rules_default_for(organization)
    )


@transaction.atomic
def contract_rule_save(
    *, organization: Organization, actor: User | None, rule: ContractRule
) -> ContractRule:
    """Create or update one of the organization's contract rules, bumping its version.

    Periods must be whole numbers >= 1 in a known unit, at most a year of it
    (privacy_requests.rules.periods), and the request types known. A
    contract rule only ever makes deadlines earlier: it is computed alongside the jurisdiction
    rules and the earliest date binds.
    """
    if rule.pk is not None and rule.organization_id != organization.pk:
        raise ValidationError("this contract rule belongs to another organization")
    rule.organization = organization
    errors = period_bound_errors(rule, CONTRACT_RULE_PERIODS)
    for prefix in CONTRACT_RULE_PERIODS:
        amount = getattr(rule, f"{prefix}_amount")
        if amount is not None and amount < 1:
            errors[f"{prefix}_amount"] = "must be a whole number of at least 1"
    if errors:
        raise ValidationError(errors)
    try:
        contract_rule_to_deadline_rule(rule, organization)
    except (ValueError, DeadlineError) as exc:
        raise ValidationError(str(exc)) from exc
    if rule.pk is not None:
        locked = (
            ContractRule.objects.for_organization(organization)
            .filter(pk=rule.pk)
            .select_for_update()
            .values_list("version", flat=True)
            .first()
        )
        rule.version = (locked or 0) + 1
    rule.updated_at = timezone.now()
    rule.full_clean(exclude=["organization", "version"], validate_unique=False)
    rule.save()
    record(
        Action.CONTRACT_RULE_SAVED,
        organization=organization,
        target=rule,
        changes={"slug": rule.slug, "version": rule.version},
        actor=_audit_actor(actor),
    )
    _flag_stale(organization, cause="contract_rule")
    return rule


@transaction.atomic
def organization_closure_add(
    *, organization: Organization, actor: User | None, day: date, reason: str = ""
) -> OrganizationClosure:
    """Mark a day closed for internal targets (idempotent). Never moves a statutory date."""
    closure, created = OrganizationClosure.objects.get_or_create(
        organization=organization, date=day, defaults={"reason": reason}
    )
    if created:
        record(
            Action.CLOSURE_ADDED,
            organization=organization,
            target=closure,
            changes={"date": day.isoformat()},
            actor=_audit_actor(actor),
        )
        _flag_stale(organization, cause="closures")
    return closure


@transaction.atomic
def organization_closure_remove(
    *, organization: Organization, actor: User | None, day: date
) -> None:
    closures = OrganizationClosure.objects.for_organization(organization).filter(date=day)
    deleted, _ = closures.delete()
    if deleted:
        record(
            Action.CLOSURE_REMOVED,
            organization=organization,
            target=("privacy_requests.organizationclosure", day.isoformat()),
            changes={"date": day.isoformat()},
            actor=_audit_actor(actor),
        )
        _flag_stale(organization, cause="closures")
