"""Every role against every organization page and API action (table-driven).

The expectations are written out by hand, not derived from PERMISSION_MATRIX, so that a change
to the matrix must be made twice: once in the data, once here, deliberately.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Membership
from accounts.permissions import PERMISSION_MATRIX, Permission, Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from k12cloud.tenancy import tenant_context

R = Role
ALLOWED: dict[str, set[Role]] = {
    "accounts:dashboard": set(Role),
    "accounts:member_list": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts:member_detail": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts_api:organization_detail": set(Role),
    "accounts_api:membership_list": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts_api:membership_detail": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    # --- MFA (enrolment, verification, recovery codes, policy) ---
    # --- members and invitations ---
    # --- lockout, IP allowlist, sessions ---
    # --- API keys and single sign-on ---
}


def test_every_permission_is_in_the_matrix() -> None:
    assert set(PERMISSION_MATRIX) == set(Permission)


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_role_against_page(role: Role, name: str) -> None:
    org = OrganizationFactory(slug="lincoln-usd")
    user = member(org, role)
    with tenant_context(org):
        membership_id = Membership.objects.get(user=user).pk
    kwargs: dict[str, object] = {"org_slug": org.slug}
    if "detail" in name and "organization" not in name:
        kwargs["membership_id"] = membership_id
    client = Client()
    sign_in(client, user)
    expected = 200 if role in ALLOWED[name] else 403
    assert client.get(reverse(name, kwargs=kwargs)).status_code == expected
