"""Acceptance: `manage.py compute_breach_deadlines` against hand-counted cases.

The legs come from the database (migration 0002), so these also prove the table loads.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.usefixtures("breach_rules")


def run(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("compute_breach_deadlines", *args, stdout=out)
    return json.loads(out.getvalue())


def legs(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{leg['regime']}/{leg['leg']}/{leg['part']}": leg for leg in result["legs"]}


def test_new_york_cascade_across_time_zones_and_the_dst_change() -> None:
    # The vendor (Chicago) discovers it at 23:30 CDT on Wed 28 Oct 2026: already Thursday 29
    # in New York. The district receives the notice on Fri 30 Oct, 16:00 CDT (17:00 EDT).
    # DST ends on Sun 1 Nov 2026: the due times fall in EST (-05:00).
    args = (
        "--regimes",
        "ny-edlaw-2d",
        "--event",
        "discovery=2026-10-28T23:30:00-05:00",
        "--event",
        "notice_received=2026-10-30T16:00:00-05:00",
    )
    district = legs(run(*args, "--tz", "America/New_York"))
    contractor = district["ny-edlaw-2d/contractor-to-agency/default"]
    assert contractor["due_at"] == "2026-11-05T23:59:59-05:00"  # 29 Oct + 7
    assert contractor["start_event"] == "discovery"
    assert contractor["recipient"] == "district"
    assert contractor["citation"] == "8 NYCRR 121.10(a)"
    cpo = district["ny-edlaw-2d/agency-to-cpo/default"]
    assert cpo["start_event"] == "notice_received"  # the notice, not the vendor's discovery
    assert cpo["started_at"] == "2026-10-30T17:00:00-04:00"
    assert cpo["due_at"] == "2026-11-09T23:59:59-05:00"  # 30 Oct + 10
    families = district["ny-edlaw-2d/agency-to-individuals/default"]
    assert families["due_at"] == "2026-12-29T23:59:59-05:00"  # 30 Oct + 60
    assert all(leg["binding"] for leg in district.values())  # one leg per recipient
    # The vendor's own clock runs on its own local date: 28 Oct in Chicago.
    vendor = legs(run(*args, "--tz", "America/Chicago"))
    assert vendor["ny-edlaw-2d/contractor-to-agency/default"]["due_at"] == (
        "2026-11-04T23:59:59-06:00"
    )


def test_connecticut_two_business_days_across_a_holiday_observed_on_a_friday() -> None:
    # Notice received Thu 2 Jul 2026; Fri 3 Jul is Independence Day observed in Connecticut.
    result = run(
        "--regimes",
        "ct-10-234dd",
        "--tz",
        "America/New_York",
        "--event",
        "notice_received=2026-07-02T10:00:00-04:00",
    )
    parents = legs(result)["ct-10-234dd/board-to-parents/default"]
    assert parents["due_at"] == "2026-07-07T23:59:59-04:00"  # Mon 6, Tue 7
    assert parents["binding"] is True
    assert parents["period"] == "2 business_days"
    # the contractor's leg is of medium confidence: listed, disabled, never binding
    contractor = legs(result)["ct-10-234dd/contractor-to-board/student-information"]
    assert contractor["status"] == "disabled"
    assert contractor["due_at"] is None and contractor["binding"] is False


def test_gdpr_72_hours_across_the_dst_change_are_real_hours() -> None:
    # Berlin leaves summer time at 03:00 on Sun 25 Oct 2026: 72 real hours after 10:00 CEST
    # on Fri 23 Oct is 09:00 CET on Mon 26 Oct (the wall clock would say 10:00).
    result = legs(
        run(
            "--regimes",
            "gdpr",
            "--tz",
            "Europe/Berlin",
            "--event",
            "awareness=2026-10-23T10:00:00+02:00",
        )
    )
    authority = result["gdpr/controller-to-authority/default"]
    assert authority["due_at"] == "2026-10-26T09:00:00+01:00"
    assert authority["binding"] is True
    processor = result["gdpr/processor-to-controller/default"]
    assert processor["due_at"] is None and processor["no_numeric_deadline"] is True


def test_california_before_and_after_2026_01_01() -> None:
    before = legs(
        run(
            "--regimes",
            "ca-1798-82",
            "--tz",
            "America/Los_Angeles",
            "--event",
            "discovery=2025-12-15T10:00:00-08:00",
        )
    )
    old = before["ca-1798-82/owner-to-residents/before-2026"]
    assert old["due_at"] is None and old["no_numeric_deadline"] is True
    assert old["status"] == "no_numeric_deadline"
    assert before["ca-1798-82/owner-to-residents/from-2026"]["status"] == "not_applicable"

    after = legs(
        run(
            "--regimes",
            "ca-1798-82",
            "--tz",
            "America/Los_Angeles",
            "--event",
            "discovery=2026-01-05T10:00:00-08:00",
            "--event",
            "individuals_notified=2026-01-20T12:00:00-08:00",
            "--residents",
            "CA=600",
        )
    )
    new = after["ca-1798-82/owner-to-residents/from-2026"]
    assert new["due_at"] == "2026-02-04T23:59:59-08:00"  # 5 Jan + 30
    assert new["binding"] is True
    assert after["ca-1798-82/owner-to-residents/before-2026"]["status"] == "not_applicable"
    ag = after["ca-1798-82/owner-to-ag/default"]
    assert ag["due_at"] == "2026-02-04T23:59:59-08:00"  # 20 Jan + 15
    # 500 residents is not "more than 500": the Attorney General leg does not apply
    few = legs(
        run(
            "--regimes",
            "ca-1798-82",
            "--tz",
            "America/Los_Angeles",
            "--event",
            "discovery=2026-01-05T10:00:00-08:00",
            "--event",
            "individuals_notified=2026-01-20T12:00:00-08:00",
            "--residents",
            "CA=500",
        )
    )
    assert few["ca-1798-82/owner-to-ag/default"]["status"] == "not_applicable"
    assert few["ca-1798-82/owner-to-ag/default"]["due_at"] is None


def test_a_leg_with_no_numeric_deadline_and_a_waiting_leg() -> None:
    result = legs(
        run(
            "--regimes",
            "pipeda,ca-1798-82",
            "--tz",
            "America/Toronto",
            "--event",
            "determination=2026-04-01T09:00:00-04:00",
            "--residents",
            "CA=900",
        )
    )
    opc = result["pipeda/org-to-opc/default"]
    assert opc["due_at"] is None
    assert opc["no_numeric_deadline"] is True
    assert opc["binding"] is False
    assert opc["wording"] == "as soon as feasible"
    assert opc["citation"] == "PIPEDA ss.10.1–10.3; SOR/2018-64"  # noqa: RUF001 (as cited)
    # no discovery and no individuals_notified given: the California legs wait
    waiting = result["ca-1798-82/owner-to-ag/default"]
    assert waiting["status"] == "waiting" and waiting["due_at"] is None


def test_two_regimes_the_earliest_binds() -> None:
    result = legs(
        run(
            "--regimes",
            "ny-edlaw-2d,ca-1798-82",
            "--tz",
            "America/New_York",
            "--event",
            "discovery=2026-03-02T09:00:00-05:00",
            "--event",
            "notice_received=2026-03-03T09:00:00-05:00",
        )
    )
    ny = result["ny-edlaw-2d/agency-to-individuals/default"]
    ca = result["ca-1798-82/owner-to-residents/from-2026"]
    assert ny["due_at"] == "2026-05-02T23:59:59-04:00"  # 3 Mar + 60, in EDT
    assert ca["due_at"] == "2026-04-01T23:59:59-04:00"  # 2 Mar + 30
    assert ca["binding"] is True and ny["binding"] is False


def test_new_york_law_enforcement_delay_is_seven_days_after_the_risk_ends() -> None:
    result = legs(
        run(
            "--regimes",
            "ny-edlaw-2d",
            "--tz",
            "America/New_York",
            "--event",
            "notice_received=2026-03-03T09:00:00-05:00",
            "--law-enforcement-delay-until",
            "2026-05-20",
        )
    )
    families = result["ny-edlaw-2d/agency-to-individuals/default"]
    assert families["due_at"] == "2026-05-27T23:59:59-04:00"
    assert families["start_event"] == "risk_ended"
    # the report to the state is not delayed
    assert result["ny-edlaw-2d/agency-to-cpo/default"]["due_at"] == "2026-03-13T23:59:59-04:00"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--regimes", "ny-edlaw-2d,no-such-law"), "--regimes: unknown regime(s) no-such-law"),
        (
            ("--event", "discovery=2026-03-02T09:00:00"),
            "--event discovery: '2026-03-02T09:00:00' has no UTC offset",
        ),
        (("--tz", "Mars/Olympus"), "--tz: unknown time zone 'Mars/Olympus'"),
        (("--event", "hacked=2026-03-02T09:00:00Z"), "--event: expected NAME=TIMESTAMP"),
        (("--residents", "California=5"), "--residents: expected ST=N"),
        (("--categories", "secrets"), "--categories: unknown category secrets"),
        (("--law-enforcement-delay-until", "soon"), "--law-enforcement-delay-until: expected"),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(args: tuple[str, ...], named: str) -> None:
    base = {"--regimes": "ny-edlaw-2d", "--tz": "America/New_York"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = [item for pair in base.items() for item in pair]
    with pytest.raises(CommandError) as raised:
        run(*argv)
    assert raised.value.returncode == 2
    assert named in str(raised.value)
