"""Persistent connections without a per-request health check (settings: CONN_HEALTH_CHECKS).

What the setting relies on: a connection that broke between requests fails the one request
that finds it broken, and Django discards it when that request ends, so the next request on
the same worker connects afresh instead of failing too.
"""

from __future__ import annotations

import psycopg
import pytest
from django.conf import settings
from django.db import close_old_connections, connection
from django.test import Client
from django.urls import reverse

from tests.conftest import Tenant, signed_in


def served(client: Client, url: str) -> int:
    """GET `url` as a WSGI server does: Django's connection upkeep before and after."""
    close_old_connections()  # request_started (the test Client leaves it out)
    try:
        return client.get(url).status_code
    finally:
        close_old_connections()  # request_finished


def test_no_health_check_by_default() -> None:
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is False
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0


@pytest.mark.django_db(transaction=True)
def test_a_broken_connection_fails_one_request_and_is_discarded(tenant_a: Tenant) -> None:
    client = signed_in(tenant_a.admin)
    url = reverse("accounts:dashboard", kwargs={"org_slug": tenant_a.organization.slug})
    assert served(client, url) == 200
    connection.ensure_connection()
    broken = connection.connection
    # the database ends this connection's backend while it sits idle (a restart, a failover)
    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [broken.info.backend_pid])

    client.raise_request_exception = False
    assert served(client, url) == 500  # no SELECT 1 first: this request meets the broken one
    assert connection.connection is None  # discarded at request_finished

    assert served(client, url) == 200  # the next request connects afresh
    assert connection.connection is not None
    assert connection.connection is not broken
