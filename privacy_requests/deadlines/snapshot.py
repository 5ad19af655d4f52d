"""What a privacy request keeps of its deadlines, so that a later rule edit cannot move them.

A request stores the dates it was given and, for every rule that was considered, the version
of that rule it was computed with. When a rule is edited later its version changes, and
`selectors.deadline_snapshot_is_stale` names it: the request is flagged for review, and its
stored dates stay as they are until a person accepts new ones.

Version 0 means "this rule was considered but set nothing for the request type": if the rule
is later changed to govern the type, its version is no longer 0 and the snapshot is stale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .engine import DeadlineResult

_DATE_FIELDS = ("acknowledge_by", "respond_by", "respond_by_extended", "extension_notice_by")


@dataclass(frozen=True, slots=True)
class DeadlineSnapshot:
    request_type: str
    received_on: date
    acknowledge_by: date | None
    respond_by: date | None
    respond_by_extended: date | None
    extension_notice_by: date | None
    binding_rule: str
    # rule id -> version used (0: considered, but set nothing for this request type)
    rule_versions: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_result(
        cls, result: DeadlineResult, *, request_type: str, rule_versions: Mapping[str, int]
    ) -> DeadlineSnapshot:
        return cls(
            request_type=request_type,
            received_on=result.received_on,
            acknowledge_by=result.acknowledge_by,
            respond_by=result.respond_by,
            respond_by_extended=result.respond_by_extended,
            extension_notice_by=result.extension_notice_by,
            binding_rule=result.binding_rule,
            rule_versions=dict(rule_versions),
        )

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready (a JSONField on the request model): ISO dates or None."""
        return {
            "request_type": self.request_type,
            "received_on": self.received_on.isoformat(),
            **{name: _iso(getattr(self, name)) for name in _DATE_FIELDS},
            "binding_rule": self.binding_rule,
            "rule_versions": dict(self.rule_versions),
        }

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> DeadlineSnapshot:
        return cls(
            request_type=data["request_type"],
            received_on=date.fromisoformat(data["received_on"]),
            **{name: _date(data.get(name)) for name in _DATE_FIELDS},
            binding_rule=data["binding_rule"],
            rule_versions={str(k): int(v) for k, v in data["rule_versions"].items()},
        )


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)
