"""What the database server receives, for tests that count round trips."""

from __future__ import annotations

import tempfile
from collections.abc import Callable

import psycopg
from django.db import connection


def server_queries(block: Callable[[], None]) -> list[str]:
    """The queries the server receives while `block` runs, from libpq's own trace of the
    connection's protocol messages: one Query (simple protocol) or Sync (extended) message per
    round trip."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            block()
        finally:
            pgconn.untrace()
        trace.seek(0)
        sent = [line.split("\t") for line in trace.read().splitlines()]
    return [
        fields[3].strip() if fields[2] == "Query" else fields[2]
        for fields in sent
        if fields[0] == "F" and fields[2] in ("Query", "Sync")
    ]
