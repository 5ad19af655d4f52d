"""The deadline engine: single computations, and a recompute of 100,000 open requests.

Rules are read from the `JurisdictionRule` table of the benchmark database (loaded by the
migrations), converted once with `jurisdiction_rule_book()`, as a request or a sweep does.
No tenant data is needed: the requests are generated in memory.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from benchmarks.harness import Bench, ScenarioError, scenario
from privacy_requests.deadlines import compute
from privacy_requests.rules.selectors import jurisdiction_rule_book

# Rule sets as organizations get them by default, with request types each governs.
RULE_SETS: tuple[tuple[tuple[str, ...], tuple[str, ...], str], ...] = (
    (
        ("k12cloud-policy", "ccpa"),
        ("access", "delete", "correct", "opt_out"),
        "America/Los_Angeles",
    ),
    (
        ("k12cloud-policy", "ccpa", "ca-edcode-49069", "ferpa"),
        ("access", "delete"),
        "America/Los_Angeles",
    ),
    (("ferpa", "ca-edcode-49069"), ("ferpa_inspect",), "America/Los_Angeles"),
    (("ferpa", "ny-part121"), ("ferpa_inspect",), "America/New_York"),
    (("k12cloud-policy",), ("access", "delete", "restrict"), "America/Chicago"),
    (("k12cloud-policy", "pipeda", "quebec-public"), ("access", "correct"), "America/Toronto"),
    (("k12cloud-policy", "gdpr"), ("access", "delete", "portability"), "Europe/Dublin"),
)

START = datetime(2026, 1, 1, tzinfo=UTC)


def _instants(count: int, rng: random.Random) -> list[datetime]:
    """Receipt instants spread over two years, at any minute of the day."""
    return [START + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60)) for _ in range(count)]


@scenario(
    "deadline_compute",
    description="one deadline computation: k12cloud-policy + ccpa, an access request",
    runs=20_000,
    warmup=2_000,
)
def deadline_compute(bench: Bench) -> None:
    book = jurisdiction_rule_book()
    rules = book.get(["k12cloud-policy", "ccpa"])
    rng = random.Random(5)  # noqa: S311 (reproducible test data, not secrets)
    instants = _instants(4096, rng)
    position = 0

    def one() -> None:
        nonlocal position
        compute(rules, "access", instants[position & 4095], "America/Los_Angeles")
        position += 1

    first = compute(rules, "access", instants[0], "America/Los_Angeles")
    if first.binding_rule != "k12cloud-policy" or first.respond_by_extended is not None:
        raise ScenarioError(f"unexpected result: {first.to_json_dict()}")
    timing = bench.measure(one)
    bench.extra["computations/s"] = round(1000 / timing.median_ms)
    bench.extra["us/computation"] = round(timing.median_ms * 1000, 1)
    bench.details["rules"] = ["k12cloud-policy", "ccpa"]
    bench.details["distinct_receipt_instants"] = len(instants)


REQUESTS = 100_000


@scenario(
    "deadline_recompute_100k",
    description="recompute the deadlines of 100,000 open requests (rules loaded once)",
    runs=3,
    warmup=1,
)
def deadline_recompute_100k(bench: Bench) -> None:
    rng = random.Random(100_000)  # noqa: S311 (reproducible test data)
    requests = []
    for received_at in _instants(REQUESTS, rng):
        rule_ids, types, tz = RULE_SETS[rng.randrange(len(RULE_SETS))]
        requests.append((received_at, rng.choice(types), rule_ids, tz))

    # What the open requests were given when they arrived (their stored respond_by).
    book = jurisdiction_rule_book()
    stored = [
        compute(book.get(rule_ids), request_type, received_at, tz).respond_by
        for received_at, request_type, rule_ids, tz in requests
    ]
    moved = 0

    def recompute_all() -> None:
        nonlocal moved
        current = jurisdiction_rule_book()  # one query, as a sweep would
        resolved = {rule_ids: current.get(rule_ids) for rule_ids, _, _ in RULE_SETS}
        changed = 0
        for (received_at, request_type, rule_ids, tz), given in zip(requests, stored, strict=True):
            if compute(resolved[rule_ids], request_type, received_at, tz).respond_by != given:
                changed += 1
        moved = changed

    timing = bench.measure(recompute_all)
    if moved:
        raise ScenarioError(f"{moved} requests moved although no rule changed")
    bench.extra["requests"] = REQUESTS
    bench.extra["total_s"] = round(timing.median_ms / 1000, 2)
    bench.extra["us/request"] = round(timing.median_ms * 1000 / REQUESTS, 1)
    bench.details["rule_sets"] = [list(rule_ids) for rule_ids, _, _ in RULE_SETS]
