"""Real Celery worker and beat processes for tests, against the test database and Redis.

Each test gets a queue of its own (`K12CLOUD_TEST_QUEUE`): tests running in parallel on the
same Redis database never take each other's tasks. Workers connect to the test database as the
runtime role, so the test must use `transactional_db` (rows committed, visible to them).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[3]


def database_url() -> str:
    s = connection.settings_dict
    return (
        f"postgresql://{quote(s['USER'])}:{quote(s['PASSWORD'] or '')}@"
        f"{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    )


def new_queue() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def publishing_to_new_queue() -> Iterator[str]:
    """A queue of the test's own, which this process publishes to (the default queue) while
    the context lasts; its name, for the workers the test starts."""
    from k12cloud.celery import app

    name = new_queue()
    default = app.conf.task_default_queue
    app.conf.task_default_queue = name
    try:
        yield name
    finally:
        app.conf.task_default_queue = default


def environment(queue: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="k12cloud.notifications.tests.worker_settings",
        DATABASE_URL=database_url(),
        DATABASE_CONN_MAX_AGE="0",
        REDIS_URL=settings.REDIS_URL,
        K12CLOUD_TEST_QUEUE=queue,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A process in a session of its own, so a test can kill it with its children."""
    output = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def start_worker(
    queue: str, log: Path, *, concurrency: int = 4, **extra: str
) -> subprocess.Popen[bytes]:
    return start(
        [
            "celery",
            "-A",
            "k12cloud",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            "--pool=prefork",
            "-Q",
            queue,
            "-n",
            f"{queue}-{uuid.uuid4().hex[:6]}@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        environment(queue, **extra),
        log,
    )


def start_beat(
    queue: str, log: Path, schedule: Path, *, app: str = "k12cloud", **extra: str
) -> subprocess.Popen[bytes]:
    return start(
        ["celery", "-A", app, "beat", "--loglevel=INFO", f"--schedule={schedule}"],
        environment(queue, **extra),
        log,
    )


def kill(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Signal the whole process group (a worker and its pool children), then reap it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_for(
    condition: Callable[[], bool], *, timeout: float, what: str, log: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    tail = ""
    if log is not None and log.exists():
        tail = "\n--- process log (last 40 lines) ---\n" + "\n".join(
            log.read_text(errors="replace").splitlines()[-40:]
        )
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{tail}")
