"""The audit sealer in its own process, as beat and a Celery worker run it in production:
`python -m benchmarks.scenarios._audit_sealer INTERVAL_S` calls `audit.sealing.seal_chains()`
every INTERVAL_S seconds (the beat schedule's 2 s) until its standard input closes, then
prints one JSON line: runs, events sealed, and the seconds spent sealing. Used by
benchmarks/scenarios/audit.py, so that the writers it measures share the machine with the
sealing they cause, as they would in production."""

from __future__ import annotations

import json
import sys
import threading
import time


def main() -> None:
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # as in production (and as the harness sets it)

    from audit.sealing import seal_chains

    interval = float(sys.argv[1])
    stop = threading.Event()

    def stop_at_end_of_input() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=stop_at_end_of_input, daemon=True).start()
    runs = sealed = 0
    busy = 0.0
    while True:
        began = time.perf_counter()
        sealed += seal_chains()
        runs += 1
        busy += time.perf_counter() - began
        if stop.wait(max(0.0, interval - (time.perf_counter() - began))):
            break
    sealed += seal_chains()  # what the writers left: the scenario waits for none unsealed
    print(json.dumps({"runs": runs + 1, "sealed": sealed, "busy_s": round(busy, 3)}), flush=True)


if __name__ == "__main__":
    main()
