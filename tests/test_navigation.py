"""The portal's navigation offers each app's pages to the roles that may open them."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "incidents", "dpa"),
    [
        (Role.ORG_ADMIN, True, True),
        (Role.PRIVACY_OFFICER, True, False),
        (Role.PRIVACY_STAFF, True, False),
        (Role.BILLING_CONTACT, False, False),
        (Role.VIEWER, False, False),
    ],
)
def test_the_incident_register_and_the_dpa_are_in_the_navigation(
    role: Role, incidents: bool, dpa: bool
) -> None:
    organization = OrganizationFactory.create()
    client = sign_in(Client(), member(organization, role))
    slug = organization.slug
    html = client.get(reverse("accounts:dashboard", kwargs={"org_slug": slug})).content.decode()
    register = reverse("accounts:incident_list", kwargs={"org_slug": slug})
    agreement = reverse("accounts:trust_dpa", kwargs={"org_slug": slug})
    assert (f'href="{register}"' in html) is incidents
    assert (f'href="{agreement}"' in html) is dpa
    if incidents:  # the link opens the register
        assert client.get(register).status_code == 200


def test_the_current_page_is_marked_in_the_navigation() -> None:
    organization = OrganizationFactory.create()
    client = sign_in(Client(), member(organization, Role.PRIVACY_OFFICER))
    register = reverse("accounts:incident_list", kwargs={"org_slug": organization.slug})
    html = client.get(register).content.decode()
    assert f'<a href="{register}" aria-current="page">' in html
