"""Ops staff edit the rules table in the Django admin; each save bumps the rule's version."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory, sign_in
from privacy_requests.rules.models import JurisdictionRule

pytestmark = pytest.mark.usefixtures("reference_rules")


@pytest.fixture
def ops() -> Client:
    client = Client()
    sign_in(client, UserFactory(email="ops@k12.example", is_staff=True, is_superuser=True))
    return client


def form_data(row: JurisdictionRule, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for field in JurisdictionRule._meta.concrete_fields:
        if not field.editable or field.name == "id":
            continue
        value = changes.get(field.name, getattr(row, field.name))
        if isinstance(value, bool):
            if value:
                data[field.name] = "on"
        elif value is not None:
            data[field.name] = value
    return data


def test_changelist_and_change_page(ops: Client) -> None:
    assert ops.get(reverse("admin:privacy_requests_jurisdictionrule_changelist")).status_code == 200
    row = JurisdictionRule.objects.get(rule_id="gdpr")
    url = reverse("admin:privacy_requests_jurisdictionrule_change", args=[row.pk])
    assert ops.get(url).status_code == 200


def test_saving_in_the_admin_bumps_the_version(ops: Client) -> None:
    row = JurisdictionRule.objects.get(rule_id="ca-edcode-49069")
    url = reverse("admin:privacy_requests_jurisdictionrule_change", args=[row.pk])
    response = ops.post(url, form_data(row, respond_amount=10))
    assert response.status_code == 302, response.content.decode()[:2000]
    row.refresh_from_db()
    assert (row.respond_amount, row.version) == (10, 2)


def test_an_invalid_row_is_refused_on_the_form(ops: Client) -> None:
    row = JurisdictionRule.objects.get(rule_id="gdpr")
    url = reverse("admin:privacy_requests_jurisdictionrule_change", args=[row.pk])
    response = ops.post(url, form_data(row, extension_unit="calendar_days"))
    assert response.status_code == 200
    assert "unit of the response period" in response.content.decode()
    row.refresh_from_db()
    assert row.version == 1


def test_rows_cannot_be_deleted(ops: Client) -> None:
    row = JurisdictionRule.objects.get(rule_id="gdpr")
    url = reverse("admin:privacy_requests_jurisdictionrule_delete", args=[row.pk])
    assert ops.post(url, {"post": "yes"}).status_code == 403
    assert JurisdictionRule.objects.filter(pk=row.pk).exists()
