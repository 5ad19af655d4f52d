"""How deadline rules are named to people: a plain name and the period, never a bare code.

"California Consumer Privacy Act — 45 days, one 45-day extension". The name is a translated
label per rule id (a contract rule is named by its own name); the periods are read from the
rule as the rules table holds it now, so an edit by ops shows at once. Codes (`ccpa`) stay the
values of forms, filters, the API and the audit log's `changes`; this module is for the text
around them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from privacy_requests.deadlines import DeadlineRule, Period, RulePart, Unit
from privacy_requests.rules.models import CONTRACT_RULE_PREFIX

if TYPE_CHECKING:
    from privacy_requests.rules.selectors import RuleBook

RULE_NAMES: dict[str, Promise] = {
    "k12cloud-policy": gettext_lazy("k-12.cloud privacy policy"),
    "k12cloud-service-level": gettext_lazy("k-12.cloud service level"),
    "ccpa": gettext_lazy("California Consumer Privacy Act"),
    "gdpr": gettext_lazy("General Data Protection Regulation (EU/UK)"),
    "ferpa": gettext_lazy("Family Educational Rights and Privacy Act"),
    "ca-edcode-49069": gettext_lazy("California Education Code §49069.7"),
    "ny-part121": gettext_lazy("New York Education Department rules, Part 121"),
    "pipeda": gettext_lazy("Personal Information Protection and Electronic Documents Act (Canada)"),
    "quebec-private": gettext_lazy("Quebec Act respecting the protection of personal information"),
    "quebec-public": gettext_lazy(
        "Quebec Act respecting access to documents held by public bodies"
    ),
    "ontario-mfippa": gettext_lazy(
        "Ontario Municipal Freedom of Information and Protection of Privacy Act"
    ),
}


def rule_name(rule_id: str, contract_names: Mapping[str, str] | None = None) -> str:
    """The rule's plain name; a contract rule's own name; an unknown id as it is."""
    if rule_id in RULE_NAMES:
        return str(RULE_NAMES[rule_id])
    if contract_names and rule_id in contract_names:
        return contract_names[rule_id]
    if rule_id.startswith(CONTRACT_RULE_PREFIX):
        return _("Contract rule %(name)s") % {"name": rule_id.removeprefix(CONTRACT_RULE_PREFIX)}
    return rule_id


def period_text(period: Period) -> str:
    """'45 days', '10 business days', '1 month'."""
    n = period.amount
    if period.unit is Unit.BUSINESS_DAYS:
        return ngettext("%(n)d business day", "%(n)d business days", n) % {"n": n}
    if period.unit is Unit.MONTHS:
        return ngettext("%(n)d month", "%(n)d months", n) % {"n": n}
    if period.unit is Unit.HOURS:
        return ngettext("%(n)d hour", "%(n)d hours", n) % {"n": n}
    return ngettext("%(n)d day", "%(n)d days", n) % {"n": n}


def _extension_text(period: Period | None) -> str:
    if period is None:
        return _("no extension")
    n = period.amount
    if period.unit is Unit.BUSINESS_DAYS:
        return _("one %(n)d-business-day extension") % {"n": n}
    if period.unit is Unit.MONTHS:
        return _("one %(n)d-month extension") % {"n": n}
    if period.unit is Unit.HOURS:
        return _("one %(n)d-hour extension") % {"n": n}
    return _("one %(n)d-day extension") % {"n": n}


def _main_part(rule: DeadlineRule, request_type: str | None) -> RulePart | None:
    """The part governing `request_type`; without one, the first enabled part with a period
    (CCPA's know/delete/correct row rather than its opt-out row)."""
    if request_type:
        part = rule.part_for(request_type)
        if part is not None:
            return part
    enabled = [p for p in rule.parts if p.enabled]
    return next((p for p in enabled if p.respond is not None), enabled[0] if enabled else None)


def period_summary(part: RulePart | None) -> str:
    """'45 days, one 45-day extension'."""
    if part is None or part.respond is None:
        return _("no fixed period")
    return _("%(respond)s, %(extension)s") % {
        "respond": period_text(part.respond),
        "extension": _extension_text(part.extension),
    }


def rule_summary(
    rule: DeadlineRule,
    request_type: str | None = None,
    contract_names: Mapping[str, str] | None = None,
) -> str:
    """'California Consumer Privacy Act — 45 days, one 45-day extension'."""
    return _("%(name)s — %(periods)s") % {
        "name": rule_name(rule.id, contract_names),
        "periods": period_summary(_main_part(rule, request_type)),
    }


def rule_label(
    rule_id: str,
    *,
    book: RuleBook,
    request_type: str | None = None,
    contract_names: Mapping[str, str] | None = None,
) -> str:
    """The summary of a rule named by id (from `book`); just the name when the book lacks it
    (a contract rule, a rule removed since). Empty for an empty id."""
    if not rule_id:
        return ""
    rule = book.rules.get(rule_id)
    if rule is None:
        return rule_name(rule_id, contract_names)
    return rule_summary(rule, request_type, contract_names)


def rule_choices(book: RuleBook, rule_ids: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(rule id, summary) for a <select> or checkboxes, in the book's order (or the given)."""
    ids = list(book.rules) if rule_ids is None else list(rule_ids)
    return [(rule_id, rule_label(rule_id, book=book)) for rule_id in ids]
