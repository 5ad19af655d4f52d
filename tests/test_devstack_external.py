"""`make run` with DATABASE_URL and REDIS_URL set: a fresh clone, external servers.

Runs `python -m k12cloud.devstack run` in a `git clone` of this checkout (with the working
tree's uncommitted changes to tracked files applied, and .venv symlinked), against the test
runner's PostgreSQL server under a database name of its own and the test runner's Redis. A fresh
clone has no `.local/`: beat must still find a place for its schedule. The test waits for the
sign-in page and for /healthz/workers/ to report a live worker and beat, then stops the run
with SIGINT, as Ctrl-C does.

Also: a DATABASE_URL naming an existing database that another role created. When it is empty
the run gives it to the owner role that migrates; when it holds tables, the run stops with one
line saying what to do.

The admin connection is the test runner's server with the `postgres` role (as `.ci/run` and
the helper commands use); no test database is used.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg
import pytest
from psycopg import sql

from k12cloud import devstack
from tests.test_devstack_run import DROPPED_ENV, Proc, _free_port, descendants, sign_in_page_served

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 240.0
STOP_TIMEOUT = 60.0
HEALTH_TOKEN = "external-servers-test-" + uuid.uuid4().hex


def admin_url(dbname: str) -> str:
    """The test runner's PostgreSQL server, as its `postgres` superuser, database `dbname`."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    hostport = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"postgres@{hostport}", f"/{dbname}", parts.query, ""))


def drop_database(dbname: str) -> None:
    with psycopg.connect(admin_url("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


@pytest.fixture
def database_name() -> Iterator[str]:
    name = f"k12_devstack_{uuid.uuid4().hex[:12]}"
    yield name
    drop_database(name)


def create_database_as_postgres(dbname: str, *, with_table: bool = False) -> None:
    with psycopg.connect(admin_url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    if with_table:
        with psycopg.connect(admin_url(dbname), autocommit=True) as conn:
            conn.execute("CREATE TABLE someone_elses_data (id int)")


def owner_of(dbname: str) -> str:
    with psycopg.connect(admin_url("postgres"), autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [dbname]
        ).fetchone()
    assert row is not None
    return str(row[0])


def fresh_clone(destination: Path) -> Path:
    """A `git clone` of this checkout, plus its uncommitted changes to tracked files."""
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(destination)], check=True)
    diff = subprocess.run(
        ["git", "-C", str(ROOT), "diff", "HEAD", "--binary"],
        check=True,
        capture_output=True,
    ).stdout
    if diff.strip():
        subprocess.run(["git", "-C", str(destination), "apply"], input=diff, check=True)
    (destination / ".venv").symlink_to((ROOT / ".venv").resolve(), target_is_directory=True)
    assert not (destination / ".local").exists()
    return destination


def run_env(dbname: str, port: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in DROPPED_ENV}
    env.update(
        DATABASE_URL=admin_url(dbname),
        REDIS_URL=os.environ["REDIS_URL"],
        PORT=str(port),
        PYTHONUNBUFFERED="1",
        HEALTHZ_TOKEN=HEALTH_TOKEN,
    )
    return env


def workers_health(port: int, *, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz/workers/")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (http://127.0.0.1)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


@pytest.mark.devstack
def test_make_run_on_a_fresh_clone_with_external_servers(
    tmp_path: Path, database_name: str
) -> None:
    clone = fresh_clone(tmp_path / "clone")
    port = _free_port()
    run_log = tmp_path / "devstack-run.log"
    ours: set[Proc] = set()

    def tail() -> str:
        text = run_log.read_text(errors="replace") if run_log.exists() else ""
        return "\n--- devstack run output (last 60 lines) ---\n" + "\n".join(
            text.splitlines()[-60:]
        )

    with run_log.open("wb") as output:
        process = subprocess.Popen(
            [str(clone / ".venv" / "bin" / "python"), "-m", "k12cloud.devstack", "run"],
            cwd=clone,
            env=run_env(database_name, port),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            ours |= descendants(process.pid)
            if process.poll() is not None:
                pytest.fail(f"devstack run exited early with {process.returncode}{tail()}")
            status, _ = workers_health(port)
            if sign_in_page_served(port) and status == 200:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"the stack was not up after {START_TIMEOUT:.0f} s{tail()}")
            time.sleep(1)
        ours |= descendants(process.pid)

        text = run_log.read_text(errors="replace")
        assert "PostgreSQL: using DATABASE_URL" in text, tail()
        assert "Redis: using REDIS_URL" in text, tail()
        assert "starting an embedded server" not in text, tail()
        assert (clone / ".local" / "celerybeat-schedule").exists() or any(
            p.name.startswith("celerybeat-schedule") for p in (clone / ".local").iterdir()
        ), tail()
        assert owner_of(database_name) == devstack.OWNER_ROLE
        # the details are for ops: the token the run was given shows them
        status, body = workers_health(port, token=HEALTH_TOKEN)
        assert status == 200, body
        assert b'"worker": true' in body and b'"beat": true' in body, body

        os.killpg(process.pid, signal.SIGINT)
        try:
            returncode = process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"devstack run did not stop within {STOP_TIMEOUT:.0f} s{tail()}")
        time.sleep(1)
        left = {p for p in ours if p.alive()}
        assert not left, "left running after Ctrl-C:\n" + "\n".join(map(str, left))
        assert returncode == 0, f"devstack run exited with {returncode}{tail()}"
        assert "Ctrl-C: stopping" in run_log.read_text(errors="replace"), tail()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        for proc in ours:
            if proc.alive():
                psutil.Process(proc.pid).kill()
        shutil.rmtree(clone, ignore_errors=True)


def test_an_empty_database_another_role_created_is_given_to_the_owner_role(
    database_name: str,
) -> None:
    create_database_as_postgres(database_name)
    assert owner_of(database_name) == "postgres"

    databases = devstack.provision_postgres(admin_url(database_name), database_name)

    assert owner_of(database_name) == devstack.OWNER_ROLE
    # what `migrate` does first, as the owner role: create a table in the public schema
    with psycopg.connect(databases.owner_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE migrations_can_start (id int)")
        conn.execute("DROP TABLE migrations_can_start")
    # idempotent: a second run finds it already the owner role's
    devstack.provision_postgres(admin_url(database_name), database_name)


def test_a_database_of_another_role_with_tables_stops_the_run_with_one_line(
    database_name: str, tmp_path: Path
) -> None:
    create_database_as_postgres(database_name, with_table=True)
    env = run_env(database_name, _free_port())
    result = subprocess.run(
        [sys.executable, "-m", "k12cloud.devstack", "run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"[k12cloud] DATABASE_URL names database {database_name!r}, owned by 'postgres' and not "
        f"empty; name a new database, or give this one and its tables to 'k12cloud_owner' "
        "(ALTER DATABASE ... OWNER TO k12cloud_owner; REASSIGN OWNED BY postgres TO "
        "k12cloud_owner)."
    ]
    assert "migrating" not in result.stdout
    assert owner_of(database_name) == "postgres"  # left alone
    with psycopg.connect(admin_url(database_name), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM someone_elses_data").fetchone() == (0,)


def test_a_database_the_admin_may_not_give_away_stops_with_one_line(
    database_name: str,
) -> None:
    """DATABASE_URL's role is neither a superuser nor a member of the database's owner."""
    limited = f"k12_devstack_admin_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'pw'").format(sql.Identifier(limited)))
    try:
        create_database_as_postgres(database_name)
        parts = urlsplit(admin_url(database_name))
        hostport = parts.netloc.rpartition("@")[2]
        url = urlunsplit((parts.scheme, f"{limited}:pw@{hostport}", parts.path, parts.query, ""))
        with pytest.raises(SystemExit) as stopped:
            devstack._adopt_database(url, database_name, current_owner="postgres")
        message = str(stopped.value.code)
        assert "\n" not in message
        assert message == (
            f"[k12cloud] DATABASE_URL names database {database_name!r}, owned by 'postgres', "
            f"and {limited!r} may not give it to 'k12cloud_owner': as 'postgres' or a superuser "
            f"run ALTER DATABASE {database_name} OWNER TO k12cloud_owner, or name a new database."
        )
        assert owner_of(database_name) == "postgres"
    finally:
        drop_database(database_name)
        with psycopg.connect(admin_url("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(limited)))
