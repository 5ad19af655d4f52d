"""The bell's page, its unread count, marking read, and the delivery preference page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from k12cloud.notifications.models import Notification, NotificationPreference
from k12cloud.notifications.services import notify
from k12cloud.tenancy import tenant_context

pytestmark = pytest.mark.django_db

# the portal's base cost of an organization page (session, user, second factor, memberships,
# the tenant context's settings and savepoints), as for the dashboard; each page adds one read
PAGE_BASE_QUERIES = 9


@pytest.fixture
def org(db: None) -> Organization:
    return OrganizationFactory.create(slug="lincoln-usd", name="Lincoln USD")


@pytest.fixture
def officer(org: Organization) -> User:
    return member(org, Role.PRIVACY_OFFICER, email="officer@lincoln.example")


@pytest.fixture
def client(officer: User) -> Client:
    return sign_in(Client(), officer)


def url(org: Organization, name: str) -> str:
    return reverse(f"accounts:{name}", kwargs={"org_slug": org.slug})


def notices(org: Organization, user: User, count: int, **fields: Any) -> list[Notification]:
    with tenant_context(org):
        return [
            notify(
                organization=org,
                recipients=[user],
                kind="reminder",
                title=f"PR-{n} is due Friday",
                url=f"/o/{org.slug}/requests/",
                **fields,
            )[0]
            for n in range(count)
        ]


def queries(client: Client, path: str, django_assert_num_queries: Any, count: int) -> Any:
    with django_assert_num_queries(count):
        response = client.get(path)
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("how_many", [1, 30])
def test_the_list_is_a_fixed_number_of_queries(
    org: Organization,
    officer: User,
    client: Client,
    how_many: int,
    django_assert_num_queries: Any,
) -> None:
    notices(org, officer, how_many)
    client.get(url(org, "notification_list"))  # warm the session's first-request work
    response = queries(
        client, url(org, "notification_list"), django_assert_num_queries, PAGE_BASE_QUERIES + 1
    )
    body = response.content.decode()
    assert body.count('name="notification"') == how_many
    assert f"{how_many} unread notification" in body
    assert 'class="notification-bell"' in body and 'aria-current="page"' in body


def test_the_unread_count_is_one_query_and_counts_only_mine(
    org: Organization, officer: User, client: Client, django_assert_num_queries: Any
) -> None:
    notices(org, officer, 3)
    notices(org, member(org, Role.PRIVACY_STAFF), 2)  # a colleague's
    other = OrganizationFactory.create()
    other_member = member(other, Role.PRIVACY_OFFICER)
    notices(other, other_member, 4)
    client.get(url(org, "notification_unread"))
    response = queries(
        client, url(org, "notification_unread"), django_assert_num_queries, PAGE_BASE_QUERIES + 1
    )
    assert response.json() == {"unread": 3}
    assert response["Cache-Control"] == "no-store"


def test_marking_one_read_and_opening_it(org: Organization, officer: User, client: Client) -> None:
    first, second = notices(org, officer, 2)
    response = client.post(url(org, "notification_list"), {"notification": first.pk, "open": "on"})
    assert response.status_code == 302 and response["Location"] == first.url
    with tenant_context(org):
        assert Notification.objects.get(pk=first.pk).read_at is not None
        assert Notification.objects.get(pk=second.pk).read_at is None
    assert client.get(url(org, "notification_unread")).json() == {"unread": 1}


def test_mark_all_read(org: Organization, officer: User, client: Client) -> None:
    notices(org, officer, 3)
    response = client.post(url(org, "notification_list"), {"all": "on"}, follow=True)
    assert "Marked 3 as read." in response.content.decode()
    assert client.get(url(org, "notification_unread")).json() == {"unread": 0}


def test_another_members_notification_cannot_be_marked(
    org: Organization, officer: User, client: Client
) -> None:
    other_org = OrganizationFactory.create()
    theirs = notices(other_org, member(other_org, Role.PRIVACY_OFFICER), 1)[0]
    colleague = notices(org, member(org, Role.PRIVACY_STAFF), 1)[0]
    for notice in (theirs, colleague):
        client.post(url(org, "notification_list"), {"notification": notice.pk})
    with tenant_context(other_org):
        assert Notification.objects.get(pk=theirs.pk).read_at is None
    with tenant_context(org):
        assert Notification.objects.get(pk=colleague.pk).read_at is None


def test_a_post_naming_nothing_is_a_400(org: Organization, client: Client) -> None:
    response = client.post(url(org, "notification_list"), {"notification": "x"})
    assert response.status_code == 400
    assert "Choose a notification" in response.content.decode()


def test_choosing_the_digest(
    org: Organization, officer: User, client: Client, django_assert_num_queries: Any
) -> None:
    client.get(url(org, "notification_preferences"))
    response = queries(
        client,
        url(org, "notification_preferences"),
        django_assert_num_queries,
        PAGE_BASE_QUERIES + 1,
    )
    assert response.context["form"].initial == {"delivery": "immediate"}
    response = client.post(
        url(org, "notification_preferences"), {"delivery": "digest"}, follow=True
    )
    assert "Saved: One digest email each morning." in response.content.decode()
    with tenant_context(org):
        preference = NotificationPreference.objects.get(user=officer)
    assert preference.delivery == "digest"


def test_a_bad_choice_names_the_field_and_keeps_the_saved_one(
    org: Organization, officer: User, client: Client
) -> None:
    client.post(url(org, "notification_preferences"), {"delivery": "digest"})
    response = client.post(url(org, "notification_preferences"), {"delivery": "hourly"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="id_delivery_error"' in body and 'href="#id_delivery_0"' in body
    with tenant_context(org):
        assert NotificationPreference.objects.get(user=officer).delivery == "digest"
