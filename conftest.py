"""Test-wide set-up: the suite runs as the runtime database role, as production does.

pytest-django creates and migrates the test database with DATABASE_URL (the owner role); we
then reconnect as DATABASE_APP_ROLE, which is subject to row-level security and owns nothing.
Flushing between transactional tests needs TRUNCATE, which the runtime role rightly lacks, so
that one step runs as the owner.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from django.test import TransactionTestCase
from django.utils import translation


@contextmanager
def connected_as(user: str, password: str) -> Iterator[None]:
    connection = connections["default"]
    previous = (connection.settings_dict["USER"], connection.settings_dict["PASSWORD"])
    connection.close()
    connection.settings_dict["USER"], connection.settings_dict["PASSWORD"] = user, password
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["USER"], connection.settings_dict["PASSWORD"] = previous


OWNER: dict[str, str] = {}


@contextmanager
def connected_as_owner() -> Iterator[None]:
    with connected_as(OWNER["USER"], OWNER["PASSWORD"]):
        yield


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    connection = connections["default"]
    OWNER.update(
        USER=connection.settings_dict["USER"], PASSWORD=connection.settings_dict["PASSWORD"]
    )
    original_teardown = TransactionTestCase._fixture_teardown  # type: ignore[attr-defined]

    def flush_as_owner(self: TransactionTestCase) -> None:
        with connected_as_owner():
            original_teardown(self)

    TransactionTestCase._fixture_teardown = flush_as_owner  # type: ignore[attr-defined]
    with connected_as(settings.DATABASE_APP_ROLE, settings.DATABASE_APP_PASSWORD):
        yield
    TransactionTestCase._fixture_teardown = original_teardown  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _language_does_not_leak_between_tests() -> Iterator[None]:
    """A test client request in Spanish leaves Spanish active in the thread (LocaleMiddleware
    activates a language and nothing deactivates it outside a real server). The next test's
    services would then write their messages in Spanish; each test starts in the default."""
    translation.deactivate()
    yield
    translation.deactivate()
