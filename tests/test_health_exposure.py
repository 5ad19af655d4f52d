"""/healthz/workers/: a bare status for anyone, the details for ops staff and the token holder.

No worker or beat runs here (and the heartbeat key is one nobody writes), so the answer is 503
and the details say both are down; tests/test_celery_reliability.py covers the 200 with real
processes.
"""

from __future__ import annotations

import uuid

import pytest
from django.test import Client, override_settings

from accounts.models import User
from accounts.tests.factories import UserFactory
from tests.conftest import Tenant, signed_in

URL = "/healthz/workers/"
TOKEN = "a-monitoring-token-that-is-long-enough-0123456789"
BARE = {"status": "unavailable"}
DETAILED = {"status": "unavailable", "worker": False, "beat": False}

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_beat_and_a_token(settings: object) -> None:
    settings.BEAT_HEARTBEAT_KEY = f"k12cloud-test:{uuid.uuid4().hex}:heartbeat"  # type: ignore[attr-defined]
    settings.HEALTHZ_TOKEN = TOKEN  # type: ignore[attr-defined]


def body_for(client: Client, **headers: str) -> dict[str, object]:
    response = client.get(URL, headers=headers)
    assert response.status_code == 503
    assert "no-store" in response["Cache-Control"]
    assert "Authorization" in response["Vary"]
    return dict(response.json())


def test_anyone_gets_the_status_without_details() -> None:
    assert body_for(Client()) == BARE


def test_members_and_staff_without_a_verified_second_factor_get_no_details(
    tenant_a: Tenant,
) -> None:
    assert body_for(signed_in(tenant_a.admin)) == BARE
    staff = UserFactory(email="ops-unverified@k12.example", is_staff=True)
    assert body_for(signed_in(staff, second_factor=False)) == BARE


def test_ops_staff_with_a_verified_second_factor_get_the_details(ops_user: User) -> None:
    assert body_for(signed_in(ops_user)) == DETAILED


def test_the_token_shows_the_details() -> None:
    assert body_for(Client(), Authorization=f"Bearer {TOKEN}") == DETAILED
    assert body_for(Client(), Authorization=f"bearer {TOKEN}") == DETAILED


@pytest.mark.parametrize(
    "authorization",
    [
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        "Bearer ",
        TOKEN,
        f"Basic {TOKEN}",
        "Bearer k12_not_the_token",
    ],
    ids=["longer", "shorter", "empty", "no-scheme", "basic", "an-api-key"],
)
def test_a_wrong_token_gets_no_details(authorization: str) -> None:
    assert body_for(Client(), Authorization=authorization) == BARE


def test_without_a_configured_token_no_bearer_shows_the_details() -> None:
    with override_settings(HEALTHZ_TOKEN=""):
        assert body_for(Client(), Authorization="Bearer ") == BARE
        assert body_for(Client(), Authorization="Bearer") == BARE
