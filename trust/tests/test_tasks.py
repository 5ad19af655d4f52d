"""The beat tasks: the minute's health check refreshes the banners; notices fan out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from django.core.cache import cache
from django.test import override_settings

from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from k12cloud.celery import app
from k12cloud.notifications.models import Notification, TaskRun
from k12cloud.tenancy import tenant_context
from trust.banners import PLATFORM_KEY
from trust.models import HealthCheck
from trust.tasks import record_health, send_notices
from trust.tests.factories import published

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager() -> Iterator[None]:
    app.conf.task_always_eager = True  # .delay() runs here: no broker in this test
    yield
    app.conf.task_always_eager = False


def test_record_health_stores_the_minute_and_refreshes_the_banners() -> None:
    published(effective_on=date.today())
    with override_settings(TRUST_WEB_CHECK_URL="http://127.0.0.1:9/healthz/"):
        assert record_health.apply().get() is False  # nothing answers on port 9
    assert HealthCheck.objects.count() == 1
    assert cache.get(PLATFORM_KEY)["dpa"]["number"] == 1
    assert TaskRun.objects.get(name="trust.record_health").ok is True


def test_send_notices_fans_out_one_task_per_active_organization(eager: None) -> None:
    first, second = OrganizationFactory(), OrganizationFactory()
    member(first, Role.ORG_ADMIN)
    member(second, Role.BILLING_CONTACT)
    published(material=False, effective_on=date(2099, 1, 1))
    assert send_notices.apply().get() == 2
    assert send_notices.apply().get() == 2  # again: nothing new
    for org in (first, second):
        with tenant_context(org):
            assert Notification.objects.filter(kind="trust_document_notice").count() == 1
