"""Factories for organizations, users and memberships.

Memberships are tenant-owned: create them inside `tenant_context` (the `member` helper does).
"""

from __future__ import annotations

import factory
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Membership, Organization, User
from accounts.permissions import Role
from k12cloud.tenancy import tenant_context

TEST_PASSWORD = "correct-horse-battery-staple"


class OrganizationFactory(factory.django.DjangoModelFactory[Organization]):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())
    kind = Organization.Kind.DISTRICT
    time_zone = "America/Los_Angeles"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    full_name = factory.Faker("name")
    password = factory.django.Password(TEST_PASSWORD)


def member(organization: Organization, role: Role = Role.ORG_ADMIN, **user_fields: object) -> User:
    """A user who belongs to `organization` with `role`."""
    user = UserFactory(**user_fields)
    with tenant_context(organization):
        Membership.objects.create(organization=organization, user=user, role=role)
    return user


def sign_in(client: Client, user: User, *, second_factor: bool = True) -> Client:
    """Sign `user` in on `client`; with `second_factor`, as after entering a TOTP code.

    The user gets a confirmed TOTP device when they have none, so MFA policies are satisfied.
    """
    client.force_login(user)
    if second_factor:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Authenticator app")
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client
