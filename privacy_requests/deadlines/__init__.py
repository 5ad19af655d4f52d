"""Legal-deadline engine for privacy-rights requests: pure computation, no Django.

`compute(rules, request_type, received_at, tz)` gives every deadline the rules set for one
request and the one that binds; `REFERENCE_RULES` holds the rules of docs/deadlines.md.
"""

from .calendars import CalendarSpec, business_day_add, is_business_day
from .defaults import DEFAULT_RULES, default_rule_ids
from .engine import (
    PERIOD_MAXIMUM,
    REQUEST_TYPES,
    Confidence,
    DeadlineError,
    DeadlineResult,
    DeadlineRule,
    ExtensionNotice,
    NaiveDatetime,
    Period,
    RequestType,
    RuleDeadlines,
    RuleDoesNotApply,
    RuleOverride,
    RulePart,
    Unit,
    UnknownRequestType,
    UnknownRule,
    UnknownTimeZone,
    compute,
)
from .reference_rules import REFERENCE_RULES, get_rule, get_rules
from .snapshot import DeadlineSnapshot

__all__ = [
    "DEFAULT_RULES",
    "PERIOD_MAXIMUM",
    "REFERENCE_RULES",
    "REQUEST_TYPES",
    "CalendarSpec",
    "Confidence",
    "DeadlineError",
    "DeadlineResult",
    "DeadlineRule",
    "DeadlineSnapshot",
    "ExtensionNotice",
    "NaiveDatetime",
    "Period",
    "RequestType",
    "RuleDeadlines",
    "RuleDoesNotApply",
    "RuleOverride",
    "RulePart",
    "Unit",
    "UnknownRequestType",
    "UnknownRule",
    "UnknownTimeZone",
    "business_day_add",
    "compute",
    "default_rule_ids",
    "get_rule",
    "get_rules",
    "is_business_day",
]
