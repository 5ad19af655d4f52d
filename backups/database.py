"""PostgreSQL for backups: connections, a consistent snapshot, pg_dump, pg_restore, scratch.

The dump and the manifest's row counts come from one exported snapshot: a REPEATABLE READ
transaction calls pg_export_snapshot(), pg_dump runs with `--snapshot` and the counts are taken
in that same transaction, so they describe exactly the rows in the file, however busy the
database is meanwhile.

Row-level security is forced on tenant tables (the owner is bound too), so every connection
here reads in the all-tenants setting (k12cloud.tenancy.ALL_TENANTS_SETTING) and pg_dump runs
with `--enable-row-security` instead of refusing.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import IO, Any
from urllib.parse import quote

import psycopg
from django.conf import settings
from django.db import connections
from psycopg import sql

from k12cloud.settings.environment import database_from_url
from k12cloud.tenancy import ALL_TENANTS_SETTING

# every table of the public schema, partitioned tables' parents counted once
TABLES_SQL = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname
"""


@dataclass(frozen=True)
class Server:
    """Where and as whom backups connect (BACKUP_DATABASE_URL), and to which database."""

    host: str
    port: str
    user: str
    password: str
    dbname: str

    def for_database(self, dbname: str) -> Server:
        return replace(self, dbname=dbname)

    def conninfo(self) -> str:
        """libpq keywords without the password (it goes in PGPASSWORD, out of `ps`)."""
        parts = {"host": self.host, "port": self.port, "user": self.user, "dbname": self.dbname}
        return psycopg.conninfo.make_conninfo(**{k: v for k, v in parts.items() if v})

    def url(self) -> str:
        """A DATABASE_URL for manage.py subprocesses."""
        credentials = quote(self.user, safe="")
        if self.password:
            credentials += ":" + quote(self.password, safe="")
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port else ""
        if self.host.startswith("/"):
            return f"postgresql://{credentials}@/{quote(self.dbname)}?host={quote(self.host)}"
        return f"postgresql://{credentials}@{host}{port}/{quote(self.dbname)}"

    def environment(self) -> dict[str, str]:
        """The environment for pg_dump/pg_restore: the password, the all-tenants setting."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGOPTIONS"] = f"-c {ALL_TENANTS_SETTING}=on"
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def connect(self, *, autocommit: bool = False) -> psycopg.Connection[Any]:
        return psycopg.connect(
            self.conninfo(),
            password=self.password or None,
            autocommit=autocommit,
            options=f"-c {ALL_TENANTS_SETTING}=on",
        )


def backup_server() -> Server:
    """BACKUP_DATABASE_URL's role and host, and the database the portal uses.

    The database's name comes from Django's connection, so under pytest it is the test
    database that Django created, not the one the URL names.
    """
    parsed = database_from_url(settings.BACKUP_DATABASE_URL, variable="BACKUP_DATABASE_URL")
    return Server(
        host=parsed["HOST"],
        port=parsed["PORT"],
        user=parsed["USER"],
        password=parsed["PASSWORD"],
        dbname=connections["default"].settings_dict["NAME"],
    )


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: str
    server_version: str
    migrations: list[list[str]]  # [[app, name], ...] in the order they were applied
    row_counts: dict[str, int]


def row_counts(cursor: psycopg.Cursor[Any]) -> dict[str, int]:
    cursor.execute(TABLES_SQL)
    tables = [row[0] for row in cursor.fetchall()]
    counts: dict[str, int] = {}
    for table in tables:
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        row = cursor.fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts


@contextmanager
def exported_snapshot(server: Server) -> Iterator[Snapshot]:
    """Hold a REPEATABLE READ snapshot open (for pg_dump --snapshot) while the block runs."""
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
        row = cursor.fetchone()
        assert row is not None
        snapshot_id, version = row
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
        migrations = [[app, name] for app, name in cursor.fetchall()]
        counts = row_counts(cursor)
        yield Snapshot(
            snapshot_id=snapshot_id,
            server_version=version,
            migrations=migrations,
            row_counts=counts,
        )
        connection.rollback()


def pg_dump(server: Server, *, snapshot_id: str, stderr: IO[bytes]) -> subprocess.Popen[bytes]:
    """pg_dump in custom format writing to its stdout (a pipe the caller reads)."""
    return subprocess.Popen(
        [
            "pg_dump",
            "--format=custom",
            "--enable-row-security",
            f"--snapshot={snapshot_id}",
            "--no-password",
            f"--dbname={server.conninfo()}",
        ],
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=server.environment(),
    )


def pg_restore(server: Server, *, stderr: IO[bytes]) -> subprocess.Popen[bytes]:
    """pg_restore reading a custom-format archive from its stdin into server.dbname.

    Objects end up owned by the restoring role (--no-owner); grants are restored as dumped.
    """
    return subprocess.Popen(
        [
            "pg_restore",
            "--no-owner",
            "--exit-on-error",
            "--no-password",
            f"--dbname={server.conninfo()}",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        env=server.environment(),
    )


def create_database(server: Server, name: str) -> None:
    with server.for_database("postgres").connect(autocommit=True) as connection:
        connection.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                sql.Identifier(name)
            )
        )


def drop_database(server: Server, name: str) -> None:
    with server.for_database("postgres").connect(autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def database_exists(server: Server, name: str) -> bool:
    with server.for_database("postgres").connect(autocommit=True) as connection:
        row = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return row is not None


def restored_row_counts(server: Server) -> dict[str, int]:
    with server.connect() as connection, connection.cursor() as cursor:
        return row_counts(cursor)
