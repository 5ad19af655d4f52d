"""`manage.py compute_breach_deadlines`: every leg of some breach regimes, as JSON.

    python manage.py compute_breach_deadlines --regimes ny-edlaw-2d --tz America/New_York \
        --event discovery=2026-10-28T09:00:00-05:00 \
        --event notice_received=2026-10-30T16:00:00-04:00

Reads the legs from the database (the `BreachRule` table, as ops staff edited it) and prints
one JSON object: `legs`, each with regime, leg, recipient, start event, `due_at` (ISO 8601 with
the offset of the organization's time zone, or null), `no_numeric_deadline`, `binding` and the
citation. A leg whose start event is not given is listed as waiting. A bad argument exits 2
with a message naming it.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.deadlines import (
    EVENTS,
    Facts,
    UnknownTimeZone,
    compute,
    zone_for,
)
from incidents.models import DATA_CATEGORY_IDS
from incidents.rules import REGIMES_WITHOUT_LEGS, known_regimes, legs_for_regimes

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_JURISDICTION = re.compile(r"^[A-Z]{2}$")


def usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def _csv(value: str, argument: str) -> list[str]:
    items = [part.strip() for part in value.split(",")]
    if not value.strip() or any(not item for item in items):
        raise usage_error(f"{argument}: expected a comma-separated list, got {value!r}")
    return list(dict.fromkeys(items))


def parse_event(value: str) -> tuple[str, datetime]:
    name, sep, stamp = value.partition("=")
    if not sep or name not in EVENTS:
        raise usage_error(
            f"--event: expected NAME=TIMESTAMP with NAME one of {', '.join(sorted(EVENTS))}, "
            f"got {value!r}"
        )
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        raise usage_error(
            f"--event {name}: not an ISO 8601 date and time: {stamp!r} "
            "(e.g. 2026-03-02T10:00:00-05:00)"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise usage_error(
            f"--event {name}: {stamp!r} has no UTC offset; add one (e.g. -05:00 or Z)"
        )
    if not EARLIEST <= moment < LATEST:
        raise usage_error(f"--event {name}: {stamp!r} is out of range (1990 to 2099)")
    return name, moment


def parse_residents(values: list[str]) -> dict[str, int]:
    residents: dict[str, int] = {}
    for value in values:
        code, sep, number = value.partition("=")
        code = code.strip().upper()
        if not sep or not _JURISDICTION.match(code) or not number.isdigit():
            raise usage_error(f"--residents: expected ST=N (e.g. CA=600), got {value!r}")
        residents[code] = int(number)
    return residents


class Command(BaseCommand):
    help = (
        "Print every leg of the given breach-notification regimes with its due time, as one "
        "JSON object. Exits 2 on a bad argument."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--regimes", required=True, metavar="R1,R2", help="regime ids")
        parser.add_argument(
            "--tz", required=True, metavar="ZONE", help="the obligated organization's time zone"
        )
        parser.add_argument(
            "--event",
            action="append",
            default=[],
            metavar="NAME=TIMESTAMP",
            help=f"a clock-start event ({', '.join(sorted(EVENTS))}) with its UTC offset",
        )
        parser.add_argument("--categories", metavar="a,b", help="data categories involved")
        parser.add_argument("--affected", metavar="N", help="number of people affected")
        parser.add_argument(
            "--residents", action="append", default=[], metavar="ST=N", help="residents affected"
        )
        parser.add_argument(
            "--law-enforcement-delay-until",
            metavar="DATE",
            help="the date a law-enforcement delay's risk ended (YYYY-MM-DD)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        regimes = _csv(options["regimes"], "--regimes")
        known = set(known_regimes())
        unknown = [r for r in regimes if r not in known]
        if unknown:
            raise usage_error(
                f"--regimes: unknown regime(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        tz = options["tz"]
        try:
            zone = zone_for(tz)
        except UnknownTimeZone:
            raise usage_error(f"--tz: unknown time zone {tz!r}") from None
        events: dict[str, datetime] = {}
        for value in options["event"]:
            name, moment = parse_event(value)
            if name in events:
                raise usage_error(f"--event: {name} given twice")
            events[name] = moment
        categories = None
        if options["categories"] is not None:
            categories = _csv(options["categories"], "--categories")
            bad = [c for c in categories if c not in DATA_CATEGORY_IDS]
            if bad:
                raise usage_error(
                    f"--categories: unknown category {', '.join(bad)}; "
                    f"known: {', '.join(sorted(DATA_CATEGORY_IDS))}"
                )
        affected = None
        if options["affected"] is not None:
            if not str(options["affected"]).isdigit():
                raise usage_error(
                    f"--affected: expected a whole number, got {options['affected']!r}"
                )
            affected = int(options["affected"])
        residents = parse_residents(options["residents"])
        risk_ended_on = None
        delay_until = options["law_enforcement_delay_until"]
        if delay_until is not None:
            try:
                risk_ended_on = date.fromisoformat(delay_until)
            except ValueError:
                raise usage_error(
                    f"--law-enforcement-delay-until: expected YYYY-MM-DD, got {delay_until!r}"
                ) from None
        facts = Facts(
            categories=frozenset(categories) if categories is not None else None,
            affected=affected,
            residents=residents,
            delay_requested=risk_ended_on is not None,
            risk_ended_on=risk_ended_on,
        )
        results = compute(legs_for_regimes(regimes), events, tz, facts)
        output = {
            "time_zone": tz,
            "events": {
                name: moment.astimezone(zone).isoformat() for name, moment in events.items()
            },
            "legs": [result.to_json_dict(zone) for result in results],
            "regimes_without_legs": {
                r: REGIMES_WITHOUT_LEGS[r] for r in regimes if r in REGIMES_WITHOUT_LEGS
            },
        }
        self.stdout.write(json.dumps(output, indent=2, ensure_ascii=False))
