"""Running test code in several threads at once, switching between them as often as the
interpreter allows, so that any state shared by mistake between callers shows (production
runs gunicorn gthread)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable


def run_at_once(target: Callable[[int], None], count: int, *, timeout: float = 120) -> None:
    """`target(0)` to `target(count - 1)`, each in its own thread, all started before any is
    joined, with the interpreter's switch interval at its shortest meanwhile. `target` reports
    its own failures (an exception in a thread is not raised here)."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=timeout)
    finally:
        sys.setswitchinterval(interval)
