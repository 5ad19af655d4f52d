"""`manage.py compute_deadlines`: the deadlines some rules set for one request, as JSON.

    python manage.py compute_deadlines --rules ferpa,ca-edcode-49069 --type ferpa_inspect \
        --received-at 2026-09-02T10:00:00-07:00 --tz America/Los_Angeles

Reads the rules from the database (the `JurisdictionRule` table, as ops staff edited it) and
prints one JSON object. A bad argument exits with status 2 and a message naming it. The time of
receipt may lie from 1990-01-01 (the portal's floor, privacy_requests.received_time) to the end
of 2099; unlike a recorded request it may be in the future.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from privacy_requests.deadlines import (
    REQUEST_TYPES,
    NaiveDatetime,
    RuleDoesNotApply,
    UnknownRequestType,
    UnknownRule,
    UnknownTimeZone,
    compute,
)
from privacy_requests.received_time import RECEIVED_AT_FLOOR
from privacy_requests.rules.selectors import jurisdiction_rule_book

# Holiday calendars and the date arithmetic are meaningful up to here (exclusive).
LATEST_RECEIVED_AT = datetime(2100, 1, 1, tzinfo=UTC)


def usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def parse_rule_ids(value: str) -> list[str]:
    rule_ids = [part.strip() for part in value.split(",")]
    if not value.strip() or any(not rule_id for rule_id in rule_ids):
        raise usage_error(f"--rules: expected RULE[,RULE...], got {value!r}")
    return list(dict.fromkeys(rule_ids))


def parse_received_at(value: str) -> datetime:
    try:
        received_at = datetime.fromisoformat(value)
    except ValueError:
        raise usage_error(
            f"--received-at: not an ISO 8601 date and time: {value!r} "
            "(e.g. 2026-03-02T10:00:00-08:00)"
        ) from None
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise usage_error(
            f"--received-at: {value!r} has no UTC offset; add one (e.g. -08:00 or Z) so the "
            "day of receipt is not a guess"
        )
    # year 1 or 9999 overflow the date arithmetic; later receipts are fine for planning ahead
    if not RECEIVED_AT_FLOOR <= received_at < LATEST_RECEIVED_AT:
        raise usage_error(
            f"--received-at: {value!r} is out of range; give a time from "
            f"{RECEIVED_AT_FLOOR.date().isoformat()} to "
            f"{(LATEST_RECEIVED_AT.date() - timedelta(days=1)).isoformat()}"
        )
    return received_at


class Command(BaseCommand):
    help = (
        "Print the deadlines the given rules set for one request, as one JSON object: "
        "received_on, acknowledge_by, respond_by, respond_by_extended, extension_notice_by, "
        "binding_rule and rules. Exits 2 on a bad argument."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rules", required=True, metavar="RULE[,RULE...]", help="rule ids, e.g. ccpa,ferpa"
        )
        parser.add_argument(
            "--type",
            required=True,
            dest="request_type",
            metavar="TYPE",
            help=f"request type: {', '.join(sorted(REQUEST_TYPES))}",
        )
        parser.add_argument(
            "--received-at",
            required=True,
            metavar="ISO8601",
            help="when the request arrived, with a UTC offset, e.g. 2026-03-02T10:00:00-08:00",
        )
        parser.add_argument(
            "--tz",
            required=True,
            metavar="ZONE",
            help="the organization's IANA time zone, e.g. America/Los_Angeles",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rule_ids = parse_rule_ids(options["rules"])
        request_type = options["request_type"]
        if request_type not in REQUEST_TYPES:
            raise usage_error(
                f"--type: unknown request type {request_type!r}; "
                f"known: {', '.join(sorted(REQUEST_TYPES))}"
            )
        received_at = parse_received_at(options["received_at"])
        tz = options["tz"]

        book = jurisdiction_rule_book(rule_ids)
        try:
            rules = book.get(rule_ids)
        except UnknownRule as exc:
            raise usage_error(f"--rules: {exc}") from None
        try:
            result = compute(rules, request_type, received_at, tz)
        except UnknownTimeZone:
            raise usage_error(f"--tz: unknown time zone {tz!r}") from None
        except RuleDoesNotApply:
            result = None
        except (UnknownRequestType, NaiveDatetime) as exc:  # checked above; kept for safety
            raise usage_error(str(exc)) from None

        # Every rule asked for must set a deadline for the type: a rule that silently set
        # nothing would look like a rule that was counted.
        applied = set() if result is None else {r.rule for r in result.rules}
        idle = [rule_id for rule_id in rule_ids if rule_id not in applied]
        if idle:
            names = ", ".join(repr(r) for r in idle)
            raise usage_error(
                f"--rules: {names} set{'s' if len(idle) == 1 else ''} no deadline for "
                f"--type {request_type!r} (not governed, disabled or not in force on that day)"
            )
        assert result is not None
        self.stdout.write(json.dumps(result.to_json_dict(), indent=2, ensure_ascii=False))
