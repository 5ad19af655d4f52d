"""`manage.py check_rls` passes on the real schema and names what is wrong when it is not."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from conftest import OWNER

pytestmark = pytest.mark.django_db


def owner_dsn() -> str:
    s = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        dbname=s["NAME"],
        user=OWNER["USER"],
        password=OWNER["PASSWORD"] or None,
        host=s["HOST"] or None,
        port=s["PORT"] or None,
    )


@pytest.fixture
def unprotected_table() -> Iterator[str]:
    """A table with an organization_id column and no RLS, made by the owner role."""
    with psycopg.connect(owner_dsn(), autocommit=True) as owner:
        owner.execute("CREATE TABLE forgotten_notes (id bigint, organization_id bigint)")
        try:
            yield "forgotten_notes"
        finally:
            owner.execute("DROP TABLE forgotten_notes")


def test_check_rls_passes(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("check_rls")
    out = capsys.readouterr().out
    assert "accounts_membership" in out
    assert "tenant tables protected" in out


def test_check_rls_fails_naming_an_unprotected_table(unprotected_table: str) -> None:
    with pytest.raises(CommandError, match="forgotten_notes lacks enabled and forced") as exc:
        call_command("check_rls")
    assert exc.value.returncode == 1


def test_check_rls_fails_when_the_runtime_role_owns_tables(settings) -> None:
    settings.DATABASE_APP_ROLE = OWNER["USER"]
    with pytest.raises(CommandError, match="owned by the runtime role"):
        call_command("check_rls")


def test_check_rls_fails_when_the_runtime_role_is_a_superuser(settings) -> None:
    settings.DATABASE_APP_ROLE = "postgres"
    with pytest.raises(CommandError, match="is a superuser"):
        call_command("check_rls")
