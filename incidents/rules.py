"""The breach rules table: reading it as engine legs, and ops staff's edits (with versions).

`BreachRule` is platform data. Every edit goes through `breach_rule_save`, which validates the
row as the engine will read it, bumps its version and writes a platform audit event; rows are
disabled, never deleted (the admin offers no delete), so every stored leg's version still
names a row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.actions import Action
from audit.context import actor_for_user
from audit.services import record
from incidents.deadlines import BreachDeadlineError, LegRule, LegUnit
from incidents.models import BreachRule
from privacy_requests.deadlines.calendars import CalendarSpec

if TYPE_CHECKING:
    from accounts.models import User

# Regimes listed without any leg: the law sets no breach-notification duty.
REGIMES_WITHOUT_LEGS = {
    "ferpa": "FERPA sets no breach-notification duty; the Department recommends notifying "
    "(34 CFR Part 99)",
}


def leg_rule_from_row(row: BreachRule) -> LegRule:
    """The engine's view of one row (raises ValueError or BreachDeadlineError if invalid)."""
    return LegRule(
        regime=row.regime,
        leg=row.leg,
        part=row.part,
        party=row.party,  # type: ignore[arg-type]
        recipient=row.recipient,
        recipient_label=row.recipient_label,
        start_events=tuple(row.start_events),
        amount=row.amount,
        unit=LegUnit(row.unit) if row.unit else None,
        wording=row.wording,
        calendar=CalendarSpec(row.calendar_country or None, row.calendar_subdivision or None),
        residents_of=row.residents_of,
        min_residents=row.min_residents,
        categories=frozenset(row.categories),
        delay=row.delay,  # type: ignore[arg-type]
        delay_amount=row.delay_amount,
        delay_unit=LegUnit(row.delay_unit) if row.delay_unit else None,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        enabled=row.enabled,
        citation=row.citation,
        confidence=row.confidence,
        version=row.version,
        notes=row.notes,
    )


def known_regimes() -> list[str]:
    return sorted(
        set(BreachRule.objects.values_list("regime", flat=True)) | set(REGIMES_WITHOUT_LEGS)
    )


def legs_for_regimes(regimes: Iterable[str]) -> list[LegRule]:
    """Every row of the given regimes, in table order (disabled rows included: the engine
    lists them as disabled)."""
    rows = BreachRule.objects.filter(regime__in=list(regimes)).order_by("regime", "pk")
    return [leg_rule_from_row(row) for row in rows]


def regime_jurisdictions() -> dict[str, str]:
    return dict(BreachRule.objects.values_list("regime", "jurisdiction").distinct())


def breach_rule_validate(rule: BreachRule) -> None:
    try:
        leg_rule_from_row(rule)
    except (ValueError, BreachDeadlineError) as exc:
        raise ValidationError(str(exc)) from exc


@transaction.atomic
def breach_rule_save(*, actor: User | None, rule: BreachRule) -> BreachRule:
    """Create or update one row, with the next version of its (regime, leg, part)."""
    breach_rule_validate(rule)
    previous = None
    if rule.pk is not None:
        previous = BreachRule.objects.select_for_update().filter(pk=rule.pk).first()
    rule.version = (previous.version + 1) if previous is not None else 1
    rule.updated_at = timezone.now()
    rule.save()
    record(
        Action.BREACH_RULE_SAVED,
        target=rule,
        changes={
            "rule": str(rule),
            "version": rule.version,
            "enabled": rule.enabled,
            "amount": rule.amount,
            "unit": rule.unit,
        },
        actor=None if actor is None else actor_for_user(actor.pk),
    )
    return rule
