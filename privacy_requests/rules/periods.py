"""Bounds of the periods a deadline rule may set (jurisdiction rules, contract rules).

Each period is an amount and a unit; the amount may be at most a year of its unit
(`deadlines.PERIOD_MAXIMUM`: 366 calendar days, 260 business days, 12 months, 8,784 hours),
longer than any privacy law allows. Four layers hold the bound: the engine's `RulePart` refuses
longer ones, the models' `clean()` names the field on forms and in the admin (and the services
check the same before saving), and a CHECK constraint per period keeps the table itself clean.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from privacy_requests.deadlines import PERIOD_MAXIMUM, Unit

_UNIT_NAMES = {
    Unit.CALENDAR_DAYS: gettext_lazy("calendar days"),
    Unit.BUSINESS_DAYS: gettext_lazy("business days"),
    Unit.MONTHS: gettext_lazy("months"),
    Unit.HOURS: gettext_lazy("hours"),
}


def period_amount_problem(amount: int | None, unit: str) -> str | None:
    """Why `amount` of `unit` is too long for a rule's period, or None."""
    if amount is None or unit not in PERIOD_MAXIMUM:
        return None  # missing or unknown units are the pair check's and the engine's to name
    maximum = PERIOD_MAXIMUM[Unit(unit)]
    if amount <= maximum:
        return None
    return _("At most %(maximum)d %(unit)s: no privacy law sets a longer period.") % {
        "maximum": maximum,
        "unit": _UNIT_NAMES[Unit(unit)],
    }


def period_bound_errors(rule: Any, prefixes: Iterable[str]) -> dict[str, str]:
    """{"<prefix>_amount": message} for each period of `rule` longer than its unit allows."""
    errors = {}
    for prefix in prefixes:
        problem = period_amount_problem(
            getattr(rule, f"{prefix}_amount"), getattr(rule, f"{prefix}_unit")
        )
        if problem is not None:
            errors[f"{prefix}_amount"] = problem
    return errors


def period_within_bounds(prefix: str) -> Q:
    """The CHECK condition: no amount, or an amount within its unit's maximum."""
    condition = Q(**{f"{prefix}_amount__isnull": True})
    for unit, maximum in PERIOD_MAXIMUM.items():
        condition |= Q(**{f"{prefix}_unit": unit.value, f"{prefix}_amount__lte": maximum})
    return condition
