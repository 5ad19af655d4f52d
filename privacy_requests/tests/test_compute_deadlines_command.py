"""Acceptance: `manage.py compute_deadlines` against the hand-checked cases.

The rules come from the database (migration 0003), so these also prove the table loads and
converts back to the reference rules. Every date was counted by hand; the counts are in
test_deadline_engine.py next to the same cases.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.management import CommandError, call_command

from privacy_requests.rules import services
from privacy_requests.rules.models import JurisdictionRule

pytestmark = pytest.mark.usefixtures("reference_rules")

POLICY = "k-12.cloud privacy policy §11"
CCPA_KNOW = "11 CCR §7021; Cal. Civ. Code §1798.130"
CCPA_OPT_OUT = "11 CCR §7026"
GDPR = "GDPR Art. 12(3); Reg. 1182/71 Art. 3"
FERPA = "34 CFR 99.10"
ED_CODE = "Cal. Ed. Code §49069.7"
OUT_OF_RANGE = "--received-at: "  # "... is out of range; give a time from 1990-01-01 to ..."


def run(rules: str, request_type: str, received_at: str, tz: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command(
        "compute_deadlines",
        rules=rules,
        request_type=request_type,
        received_at=received_at,
        tz=tz,
        stdout=out,
    )
    return json.loads(out.getvalue())


def rule(
    rule_id: str,
    source: str,
    acknowledge_by: str | None = None,
    respond_by: str | None = None,
    respond_by_extended: str | None = None,
    extension_notice_by: str | None = None,
) -> dict[str, Any]:
    return {
        "rule": rule_id,
        "source": source,
        "acknowledge_by": acknowledge_by,
        "respond_by": respond_by,
        "respond_by_extended": respond_by_extended,
        "extension_notice_by": extension_notice_by,
    }


def test_new_year() -> None:
    got = run("k12cloud-policy", "access", "2025-12-30T10:00:00-05:00", "America/New_York")
    assert got == {
        "received_on": "2025-12-30",
        "acknowledge_by": "2026-01-14",  # skips Thu Jan 1
        "respond_by": "2026-02-13",
        "respond_by_extended": None,
        "extension_notice_by": None,
        "binding_rule": "k12cloud-policy",
        "rules": [rule("k12cloud-policy", POLICY, "2026-01-14", "2026-02-13")],
    }


def test_thanksgiving() -> None:
    got = run("ccpa", "delete", "2026-11-23T10:00:00-08:00", "America/Los_Angeles")
    assert got == {
        "received_on": "2026-11-23",
        "acknowledge_by": "2026-12-08",  # skips Thu Nov 26
        "respond_by": "2027-01-07",
        "respond_by_extended": "2027-02-21",  # a Sunday: CCPA does not roll forward
        "extension_notice_by": "2027-01-07",
        "binding_rule": "ccpa",
        "rules": [rule("ccpa", CCPA_KNOW, "2026-12-08", "2027-01-07", "2027-02-21", "2027-01-07")],
    }


def test_christmas_with_two_rules_the_earliest_binds() -> None:
    got = run("k12cloud-policy,ccpa", "opt_out", "2026-12-22T10:00:00-08:00", "America/Los_Angeles")
    assert got == {
        "received_on": "2026-12-22",
        # skips Fri Dec 25 and Fri Jan 1
        "acknowledge_by": "2027-01-07",
        "respond_by": "2027-01-14",
        # the policy allows no extension and CCPA's opt-out none: nothing to extend to
        "respond_by_extended": None,
        "extension_notice_by": None,
        "binding_rule": "ccpa",
        "rules": [
            rule("k12cloud-policy", POLICY, "2027-01-07", "2027-02-05"),
            rule("ccpa", CCPA_OPT_OUT, None, "2027-01-14"),
        ],
    }


def test_martin_luther_king_day() -> None:
    opt_out = run("ccpa", "opt_out", "2027-01-11T09:00:00-08:00", "America/Los_Angeles")
    assert opt_out["respond_by"] == "2027-02-02"  # 15 business days, skipping Mon Jan 18
    assert opt_out["rules"] == [rule("ccpa", CCPA_OPT_OUT, None, "2027-02-02")]
    inspect = run(
        "ca-edcode-49069", "ferpa_inspect", "2027-01-14T09:00:00-08:00", "America/Los_Angeles"
    )
    assert inspect == {
        "received_on": "2027-01-14",
        "acknowledge_by": None,
        "respond_by": "2027-01-22",  # 5 business days, skipping Mon Jan 18
        "respond_by_extended": None,
        "extension_notice_by": None,
        "binding_rule": "ca-edcode-49069",
        "rules": [rule("ca-edcode-49069", ED_CODE, None, "2027-01-22")],
    }


def test_saturday_receipt() -> None:
    got = run("k12cloud-policy", "access", "2026-03-14T10:00:00-04:00", "America/New_York")
    assert got == {
        "received_on": "2026-03-14",
        "acknowledge_by": "2026-03-27",  # business days start on Monday the 16th
        "respond_by": "2026-04-28",
        "respond_by_extended": None,
        "extension_notice_by": None,
        "binding_rule": "k12cloud-policy",
        "rules": [rule("k12cloud-policy", POLICY, "2026-03-27", "2026-04-28")],
    }


def test_gdpr_month_end_rolls_forward_off_a_weekend() -> None:
    got = run("gdpr", "access", "2027-01-31T10:00:00+01:00", "Europe/Paris")
    assert got == {
        "received_on": "2027-01-31",
        "acknowledge_by": None,
        "respond_by": "2027-03-01",  # 28 Feb (no 31st) is a Sunday: Monday 1 March
        "respond_by_extended": "2027-04-30",  # receipt + 3 months, a Friday
        "extension_notice_by": "2027-03-01",
        "binding_rule": "gdpr",
        "rules": [rule("gdpr", GDPR, None, "2027-03-01", "2027-04-30", "2027-03-01")],
    }


def test_ccpa_extension_dates() -> None:
    got = run("ccpa", "access", "2026-03-02T10:00:00-08:00", "America/Los_Angeles")
    assert got == {
        "received_on": "2026-03-02",
        "acknowledge_by": "2026-03-16",
        "respond_by": "2026-04-16",
        "respond_by_extended": "2026-05-31",  # 90 days in all
        "extension_notice_by": "2026-04-16",  # before the first 45 days end
        "binding_rule": "ccpa",
        "rules": [rule("ccpa", CCPA_KNOW, "2026-03-16", "2026-04-16", "2026-05-31", "2026-04-16")],
    }


def test_ferpa_with_california_education_code() -> None:
    got = run(
        "ferpa,ca-edcode-49069", "ferpa_inspect", "2026-09-02T10:00:00-07:00", "America/Los_Angeles"
    )
    assert got == {
        "received_on": "2026-09-02",
        "acknowledge_by": None,
        "respond_by": "2026-09-10",  # 5 business days, skipping Labor Day (Sep 7)
        "respond_by_extended": None,
        "extension_notice_by": None,
        "binding_rule": "ca-edcode-49069",
        "rules": [
            rule("ferpa", FERPA, None, "2026-10-17"),
            rule("ca-edcode-49069", ED_CODE, None, "2026-09-10"),
        ],
    }


def test_late_evening_in_los_angeles_given_in_utc() -> None:
    # 23:30 PDT on Tue 30 June is 06:30 UTC on Wed 1 July.
    got = run("k12cloud-policy", "access", "2026-07-01T06:30:00Z", "America/Los_Angeles")
    assert got == {
        "received_on": "2026-06-30",
        "acknowledge_by": "2026-07-15",  # skips Fri Jul 3 (Independence Day observed)
        "respond_by": "2026-08-14",
        "respond_by_extended": None,
        "extension_notice_by": None,
        "binding_rule": "k12cloud-policy",
        "rules": [rule("k12cloud-policy", POLICY, "2026-07-15", "2026-08-14")],
    }


def test_late_evening_in_honolulu() -> None:
    # 22:00 HST on Mon 9 November is 08:00 UTC on Tue 10 November.
    got = run("ccpa", "opt_out", "2026-11-10T08:00:00+00:00", "Pacific/Honolulu")
    assert got == {
        "received_on": "2026-11-09",
        "acknowledge_by": None,
        "respond_by": "2026-12-02",  # skips Veterans Day and Thanksgiving
        "respond_by_extended": None,
        "extension_notice_by": None,
        "binding_rule": "ccpa",
        "rules": [rule("ccpa", CCPA_OPT_OUT, None, "2026-12-02")],
    }


def test_the_command_reads_the_rules_table() -> None:
    row = JurisdictionRule.objects.get(rule_id="ca-edcode-49069")
    row.respond_amount = 10
    services.jurisdiction_rule_save(actor=None, rule=row)
    got = run(
        "ca-edcode-49069", "ferpa_inspect", "2027-01-14T09:00:00-08:00", "America/Los_Angeles"
    )
    # 10 business days after Thu Jan 14, skipping MLK Day: Jan 29.
    assert got["respond_by"] == "2027-01-29"


# --- bad arguments: status 2 and a message naming the argument ------------------------------


@pytest.mark.parametrize(
    ("rules", "request_type", "received_at", "tz", "message"),
    [
        ("foo", "access", "2026-03-02T10:00:00Z", "UTC", "--rules: unknown rule 'foo'"),
        ("ccpa,foo", "access", "2026-03-02T10:00:00Z", "UTC", "--rules: unknown rule 'foo'"),
        ("ccpa,,gdpr", "access", "2026-03-02T10:00:00Z", "UTC", "--rules: expected RULE"),
        ("ccpa", "erase", "2026-03-02T10:00:00Z", "UTC", "--type: unknown request type 'erase'"),
        ("gdpr", "opt_out", "2026-03-02T10:00:00Z", "UTC", "--rules: 'gdpr' sets no deadline"),
        # governs the type, but sets no number ("reasonable time")
        ("ferpa", "ferpa_amend", "2026-03-02T10:00:00Z", "UTC", "--rules: 'ferpa' sets no"),
        # the unverified row ships disabled
        ("ccpa", "limit_sensitive", "2026-03-02T10:00:00Z", "UTC", "--rules: 'ccpa' sets no"),
        # one of two rules does not govern the type
        ("ccpa,ferpa", "access", "2026-03-02T10:00:00Z", "UTC", "--rules: 'ferpa' sets no"),
        ("ccpa", "access", "2026-03-02 10am", "UTC", "--received-at: not an ISO 8601"),
        ("ccpa", "access", "2026-02-30T10:00:00Z", "UTC", "--received-at: not an ISO 8601"),
        (
            "ccpa",
            "access",
            "2026-03-02T10:00:00",
            "UTC",
            "--received-at: '2026-03-02T10:00:00' has no UTC offset",
        ),
        ("ferpa", "ferpa_inspect", "0001-01-01T00:00:00Z", "America/New_York", OUT_OF_RANGE),
        ("ferpa", "ferpa_inspect", "0001-01-01T00:00:00+05:00", "UTC", OUT_OF_RANGE),
        ("ferpa", "ferpa_inspect", "1989-12-31T23:59:59Z", "UTC", OUT_OF_RANGE),
        ("ferpa", "ferpa_inspect", "9999-12-31T23:59:59Z", "America/New_York", OUT_OF_RANGE),
        ("ferpa", "ferpa_inspect", "9999-12-31T23:59:59-05:00", "UTC", OUT_OF_RANGE),
        ("ferpa", "ferpa_inspect", "2100-01-01T00:00:00Z", "UTC", OUT_OF_RANGE),
        (
            "ccpa",
            "access",
            "2026-03-02T10:00:00Z",
            "Mars/Olympus",
            "--tz: unknown time zone 'Mars/Olympus'",
        ),
        ("ccpa", "access", "2026-03-02T10:00:00Z", "", "--tz: unknown time zone ''"),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(
    rules: str, request_type: str, received_at: str, tz: str, message: str
) -> None:
    with pytest.raises(CommandError) as raised:
        run(rules, request_type, received_at, tz)
    assert raised.value.returncode == 2
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize("received_at", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_an_absurd_time_of_receipt_says_which_range_is_allowed(received_at: str) -> None:
    with pytest.raises(CommandError) as raised:
        run("ferpa", "ferpa_inspect", received_at, "America/New_York")
    assert raised.value.returncode == 2
    assert str(raised.value) == (
        f"--received-at: {received_at!r} is out of range; give a time from 1990-01-01 to 2099-12-31"
    )


@pytest.mark.parametrize("received_at", ["1990-01-01T00:00:00Z", "2099-12-31T12:00:00Z"])
def test_the_ends_of_the_range_are_computed(received_at: str) -> None:
    result = run("ferpa", "ferpa_inspect", received_at, "UTC")
    assert result["received_on"] == received_at[:10]
    assert result["respond_by"] is not None


def test_exit_status_from_a_real_process() -> None:
    from django.db import connection

    db = connection.settings_dict
    credentials = f"{quote(db['USER'], safe='')}:{quote(db['PASSWORD'] or '', safe='')}"
    url = (
        f"postgresql://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    root = Path(__file__).resolve().parents[2]
    completed = subprocess.run(
        [
            sys.executable,
            str(root / "manage.py"),
            "compute_deadlines",
            "--rules",
            "no-such-rule",
            "--type",
            "access",
            "--received-at",
            "2026-03-02T10:00:00-08:00",
            "--tz",
            "America/Los_Angeles",
        ],
        cwd=root,
        env={**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "k12cloud.settings.test"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2, completed.stderr
    assert "--rules: unknown rule 'no-such-rule'" in completed.stderr
    assert completed.stdout == ""
