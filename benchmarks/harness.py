"""The benchmark harness: a scenario registry, timing, and the report.

A scenario is a function registered with `@scenario(...)`. It receives a `Bench`, does its own
set-up (seeding, signing in), then calls `bench.measure(operation)` once: the harness runs
`operation` for the warm-up runs, then times each of the measured runs with
`time.perf_counter_ns`. Scenario-specific numbers go into `bench.extra` (printed and saved)
or `bench.details` (saved to the JSON only).

A scenario registered with `sized=True` runs once per data size chosen with `--size` (10k,
100k, 1m; all three by default), reading it from `bench.size`; its results are named
`<scenario>@<size>`, e.g. `request_queue@100k`.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"

# --quick: enough runs to prove a scenario works, not to compare numbers.
QUICK_RUNS = 20
QUICK_WARMUP = 3

# --size: data sizes of the scenarios registered with sized=True, smallest first
SIZES: dict[str, int] = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}


class ScenarioError(Exception):
    """A scenario's own check failed (a wrong status code, missing seed data...)."""


class UnknownSize(LookupError):
    def __init__(self, names: list[str]) -> None:
        self.names = names
        listed = ", ".join(repr(n) for n in names)
        super().__init__(f"unknown size {listed}; known sizes: {', '.join(SIZES)}")


def parse_sizes(names: list[str] | None) -> list[str]:
    """The sizes asked for, smallest first, without repeats (all of them if none)."""
    if not names:
        return list(SIZES)
    wanted = [n.strip().lower() for n in names]
    unknown = [name for name, n in zip(names, wanted, strict=True) if n not in SIZES]
    if unknown:
        raise UnknownSize(unknown)
    return [size for size in SIZES if size in wanted]


class UnknownScenario(LookupError):
    def __init__(self, names: list[str], known: list[str]) -> None:
        self.names = names
        self.known = known
        listed = ", ".join(repr(n) for n in names)
        super().__init__(
            f"unknown scenario {listed}; known scenarios: {', '.join(known) or '(none)'}"
        )


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    function: Callable[[Bench], None]
    runs: int
    warmup: int
    family: str  # the module under benchmarks/scenarios/ that registered it
    sized: bool = False  # runs once per --size, reading bench.size


_REGISTRY: dict[str, Scenario] = {}


def scenario(
    name: str, *, description: str, runs: int = 100, warmup: int = 10, sized: bool = False
) -> Callable[[Callable[[Bench], None]], Callable[[Bench], None]]:
    """Register a benchmark scenario.

    @scenario("landing_page", description="GET /o/<slug>/ as an org admin", runs=200)
    def landing_page(bench: Bench) -> None:
        ...set-up...
        bench.measure(lambda: client.get(url))

    With `sized=True` the function is run once per size chosen with `--size`, and seeds and
    measures `bench.size` rows (`bench.size_name` names it: "10k", "100k", "1m").
    """
    if runs < 1 or warmup < 0:
        raise ValueError(f"scenario {name!r}: runs must be >= 1 and warmup >= 0")

    def register(function: Callable[[Bench], None]) -> Callable[[Bench], None]:
        if name in _REGISTRY:
            other = _REGISTRY[name]
            raise ValueError(f"scenario {name!r} is registered twice ({other.family} and here)")
        _REGISTRY[name] = Scenario(
            name=name,
            description=description,
            function=function,
            runs=runs,
            warmup=warmup,
            family=function.__module__.rsplit(".", 1)[-1],
            sized=sized,
        )
        return function

    return register


def registered() -> dict[str, Scenario]:
    return dict(_REGISTRY)


def select(names: list[str] | None) -> list[Scenario]:
    """The scenarios to run, in the order asked for (all, in registration order, if none)."""
    if not names:
        return list(_REGISTRY.values())
    unknown = [n for n in names if n not in _REGISTRY]
    if unknown:
        raise UnknownScenario(unknown, sorted(_REGISTRY))
    return [_REGISTRY[n] for n in dict.fromkeys(names)]


@dataclass
class Timing:
    runs: int
    warmup: int
    median_ms: float
    p95_ms: float
    min_ms: float
    max_ms: float
    mean_ms: float
    stdev_ms: float
    ops_per_s: float
    wall_s: float
    # this process's CPU time per run: less sensitive than wall time to a busy machine, but
    # blind to the time PostgreSQL spends
    cpu_ms_per_op: float


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `fraction` of values <= it."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def summarise(samples_ns: list[int], *, warmup: int, wall_ns: int, cpu_ns: int) -> Timing:
    ms = sorted(ns / 1e6 for ns in samples_ns)
    return Timing(
        runs=len(ms),
        warmup=warmup,
        median_ms=statistics.median(ms),
        p95_ms=percentile(ms, 0.95),
        min_ms=ms[0],
        max_ms=ms[-1],
        mean_ms=statistics.fmean(ms),
        stdev_ms=statistics.stdev(ms) if len(ms) > 1 else 0.0,
        # wall time of the measured loop, so harness overhead counts against us, not for us
        ops_per_s=len(ms) / (wall_ns / 1e9) if wall_ns else float("inf"),
        wall_s=wall_ns / 1e9,
        cpu_ms_per_op=cpu_ns / 1e6 / len(ms),
    )


class Bench:
    """What a scenario function gets: run counts, `measure()`, and places for its numbers."""

    def __init__(self, scenario: Scenario, *, quick: bool, size: str | None = None) -> None:
        if scenario.sized and size is None:
            raise ValueError(f"{scenario.name}: a sized scenario needs a size")
        self.scenario = scenario
        self.quick = quick
        # the data size of a sized scenario's run ("100k" and 100_000); None otherwise
        self.size_name = size
        self.size: int = SIZES[size] if size is not None else 0
        self.name = f"{scenario.name}@{size}" if size is not None else scenario.name
        self.runs = min(scenario.runs, QUICK_RUNS) if quick else scenario.runs
        self.warmup = min(scenario.warmup, QUICK_WARMUP) if quick else scenario.warmup
        # short numbers for the printed table and the JSON, e.g. {"queries/request": 9}
        self.extra: dict[str, Any] = {}
        # anything else worth keeping (seed sizes, captured SQL...): JSON only
        self.details: dict[str, Any] = {}
        self.timing: Timing | None = None

    def measure(self, operation: Callable[[], object]) -> Timing:
        """Warm up, then time `operation` once per measured run. Call once per scenario."""
        if self.timing is not None:
            raise RuntimeError(f"{self.name}: measure() was already called")
        for _ in range(self.warmup):
            operation()
        gc.collect()  # start from a clean heap; collections during the runs still count
        samples: list[int] = []
        clock = time.perf_counter_ns
        cpu_start = time.process_time_ns()
        loop_start = clock()
        for _ in range(self.runs):
            start = clock()
            operation()
            samples.append(clock() - start)
        wall_ns = clock() - loop_start
        cpu_ns = time.process_time_ns() - cpu_start
        self.timing = summarise(samples, warmup=self.warmup, wall_ns=wall_ns, cpu_ns=cpu_ns)
        return self.timing

    def log(self, message: str) -> None:
        print(f"[bench] {self.name}: {message}", flush=True)


@dataclass
class Result:
    name: str
    family: str
    description: str
    ok: bool
    timing: Timing | None
    extra: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    duration_s: float = 0.0  # the whole scenario, set-up included
    scenario: str = ""  # the registered name (`name` adds "@<size>" for a sized run)
    size: str | None = None


def run_scenario(scenario: Scenario, *, quick: bool, size: str | None = None) -> Result:
    from django.db import connection

    bench = Bench(scenario, quick=quick, size=size)
    started = time.perf_counter()
    bench.log(f"{scenario.description} ({bench.warmup} warm-up + {bench.runs} runs)")
    error = None
    try:
        scenario.function(bench)
        if bench.timing is None:
            raise ScenarioError("the scenario never called bench.measure()")
        t = bench.timing
        bench.log(
            f"p50 {t.median_ms:.2f} ms, p95 {t.p95_ms:.2f} ms, {t.ops_per_s:.1f} ops/s, "
            f"CPU {t.cpu_ms_per_op:.2f} ms/op (this process)"
        )
    except Exception as exc:  # report it, run the other scenarios, exit non-zero
        error = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
        # the next scenario starts on a fresh connection: no leftover transaction or settings
        connection.close()
    return Result(
        name=bench.name,
        family=scenario.family,
        description=scenario.description,
        ok=error is None,
        timing=bench.timing if error is None else None,
        extra=bench.extra,
        details=bench.details,
        error=error,
        duration_s=round(time.perf_counter() - started, 3),
        scenario=scenario.name,
        size=size,
    )


def size_spreads(results: list[Result]) -> dict[str, dict[str, Any]]:
    """For each sized scenario measured at two sizes or more: its p95 per size and the largest
    p95 over the smallest (1.2 = the slowest size is 20 % above the fastest)."""
    p95s: dict[str, dict[str, float]] = {}
    for r in results:
        if r.size is not None and r.timing is not None:
            p95s.setdefault(r.scenario, {})[r.size] = r.timing.p95_ms
    return {
        name: {"p95_ms": by_size, "largest_over_smallest": max(v) / min(v)}
        for name, by_size in p95s.items()
        if len(by_size) > 1 and (v := list(by_size.values())) and min(v) > 0
    }


# --- report ---------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    import django
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (server_version,) = cursor.fetchone()
        cursor.execute("SELECT current_database(), current_user")
        database, role = cursor.fetchone()
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        affinity = None
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
        # other work on the machine skews wall-clock numbers; compare runs with similar load
        "load_average_1_5_15": _load_average(),
        "django": django.get_version(),
        "postgresql": server_version,
        "database": database,
        "database_role": role,
        "settings_module": os.environ.get("DJANGO_SETTINGS_MODULE"),
        "django_debug": settings.DEBUG,
        "git_commit": _git_commit(),
    }


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def format_extra(extra: dict[str, Any]) -> str:
    parts = []
    for key, value in extra.items():
        if isinstance(value, float):
            value = f"{value:.3g}"
        parts.append(f"{key}={value}")
    return ", ".join(parts)


def table(results: list[Result]) -> str:
    header = ("scenario", "runs", "p50 ms", "p95 ms", "ops/s", "extra")
    rows = []
    for r in results:
        if r.timing is None:
            rows.append((r.name, "-", "-", "-", "-", f"FAILED: {r.error}"))
            continue
        t = r.timing
        rows.append(
            (
                r.name,
                str(t.runs),
                f"{t.median_ms:.2f}",
                f"{t.p95_ms:.2f}",
                f"{t.ops_per_s:.1f}",
                format_extra(r.extra),
            )
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    numeric = {1, 2, 3, 4}

    def line(row: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def write_results(
    results: list[Result],
    *,
    argv: list[str],
    quick: bool,
    started_at: datetime,
    machine: dict[str, Any],
    sizes: list[str] | None = None,
) -> tuple[Path, Path]:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = {
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "argv": argv,
        "quick": quick,
        "sizes": sizes,
        "machine": {**machine, "load_average_at_end": _load_average()},
        "results": [
            {**asdict(r), "timing": asdict(r.timing) if r.timing else None} for r in results
        ],
        "size_spreads": size_spreads(results),
    }
    text = json.dumps(payload, indent=2, default=str) + "\n"
    stamped = RESULTS_DIR / f"{started_at.strftime('%Y%m%dT%H%M%SZ')}.json"
    stamped.write_text(text)
    latest = RESULTS_DIR / "latest.json"
    latest.write_text(text)
    return stamped, latest


def configure_django(*, keep_debug: bool) -> None:
    """django.setup() with the environment's settings, adjusted for in-process requests."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "k12cloud.settings.local")
    import django
    from django.conf import settings

    # WhiteNoise warns when STATIC_ROOT has not been collected; no benchmark serves static files
    warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)
    django.setup()
    # django.test.Client sends Host: testserver.
    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    if not keep_debug:
        # The local settings run with DEBUG on, which logs and keeps every SQL statement and
        # makes templates keep debug data: costs production does not pay. Set before the
        # template engines are first built, which read it once.
        settings.DEBUG = False


def main(argv: list[str] | None = None) -> int:
    import argparse

    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="k12cloud benchmarks, against the database in DATABASE_URL "
        "(`make bench` provisions k12cloud_bench and sets it).",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="run only this scenario (repeatable; default: all)",
    )
    parser.add_argument(
        "--size",
        action="append",
        metavar="SIZE",
        help=f"run the sized scenarios at this data size: {', '.join(SIZES)} (repeatable; "
        "default: all)",
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"at most {QUICK_WARMUP} warm-up and {QUICK_RUNS} measured runs (a smoke test)",
    )
    parser.add_argument(
        "--keep-debug",
        action="store_true",
        help="keep DEBUG from the settings module (default: DEBUG=False, as in production)",
    )
    args = parser.parse_args(argv)
    try:
        sizes = parse_sizes(args.size)
    except UnknownSize as exc:
        print(f"benchmarks: {exc}", file=sys.stderr)
        return 2

    from django.core.exceptions import ImproperlyConfigured

    try:
        configure_django(keep_debug=args.keep_debug)
    except ImproperlyConfigured as exc:
        print(f"benchmarks: {exc}\nRun them with `make bench`, which sets it.", file=sys.stderr)
        return 2

    from benchmarks.scenarios import discover

    discover()

    if args.list:
        for s in registered().values():
            at = f", at {', '.join(sizes)}" if s.sized else ""
            print(f"{s.name:<24} [{s.family}] {s.description} ({s.warmup} + {s.runs} runs{at})")
        return 0

    try:
        chosen = select(args.scenario)
    except UnknownScenario as exc:
        print(f"benchmarks: {exc}", file=sys.stderr)
        return 2
    if not chosen:
        print("benchmarks: no scenarios are registered", file=sys.stderr)
        return 2

    started_at = datetime.now(UTC).replace(microsecond=0)
    machine = machine_info()
    results = [
        run_scenario(s, quick=args.quick, size=size)
        for s in chosen
        for size in (sizes if s.sized else [None])
    ]

    print()
    print(table(results))
    for name, spread in size_spreads(results).items():
        listed = ", ".join(f"{size} {p95:.2f}" for size, p95 in spread["p95_ms"].items())
        print(
            f"{name}: p95 ms by size {listed}; largest / smallest "
            f"{spread['largest_over_smallest']:.2f}"
        )
    stamped, latest = write_results(
        results,
        argv=argv,
        quick=args.quick,
        started_at=started_at,
        machine=machine,
        sizes=sizes,
    )
    print(
        f"\nPython {machine['python']}, PostgreSQL {machine['postgresql']}, "
        f"{machine['cpu_count']} CPUs, load average {machine['load_average_1_5_15']} "
        f"at start, DEBUG={machine['django_debug']}"
    )
    root = RESULTS_DIR.parent.parent
    print(f"results: {stamped.relative_to(root)} (and {latest.relative_to(root)})")

    failed = [r.name for r in results if not r.ok]
    if failed:
        print(f"benchmarks: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
