"""Every period of a deadline rule is at most a year of its unit (privacy_requests.rules.periods).

A contract rule of 2,147,483,647 days was saved, and from then on every intake of the types it
governed overflowed the date arithmetic (a 500). The bound is held by the engine, by the models'
validation (named at the field on the settings page and in the admin), by the services and by
CHECK constraints in the database.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, UserFactory, member, sign_in
from k12cloud.tenancy import tenant_context
from privacy_requests.deadlines import PERIOD_MAXIMUM, Confidence, Period, RulePart, Unit
from privacy_requests.rules.models import ContractRule, JurisdictionRule
from privacy_requests.rules.services import jurisdiction_rule_save
from privacy_requests.tests.test_admin import form_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

INT_MAX = 2_147_483_647


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory.create(slug="lincoln-usd", subdivision="CA")


@pytest.fixture
def officer_client(org: Organization) -> Client:
    return sign_in(Client(), member(org, Role.PRIVACY_OFFICER))


def contract_form(**change: str) -> dict[str, Any]:
    return {
        "contract-slug": "dpa-delete",
        "contract-name": "DPA deletion",
        "contract-source": "District DPA §9",
        "contract-request_types": ["delete"],
        "contract-respond_amount": "7",
        "contract-respond_unit": "calendar_days",
        "contract-enabled": "on",
        **{f"contract-{name}": value for name, value in change.items()},
    }


def save_contract_rule(client: Client, org: Organization, **change: str) -> Any:
    url = reverse("accounts:deadline_contract_rule_save", kwargs={"org_slug": org.slug})
    return client.post(url, contract_form(**change))


def contract_rules(org: Organization) -> list[ContractRule]:
    with tenant_context(org):
        return list(ContractRule.objects.all())


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"respond_amount": str(INT_MAX)}, "respond_amount", "At most 366 calendar days"),
        ({"respond_amount": "367"}, "respond_amount", "At most 366 calendar days"),
        (
            {"respond_amount": "261", "respond_unit": "business_days"},
            "respond_amount",
            "At most 260 business days",
        ),
        ({"respond_amount": "13", "respond_unit": "months"}, "respond_amount", "At most 12 months"),
        (
            {"acknowledge_amount": "8785", "acknowledge_unit": "hours"},
            "acknowledge_amount",
            "At most 8784 hours",
        ),
    ],
)
def test_an_overlong_contract_rule_period_is_an_error_at_the_field(
    org: Organization, officer_client: Client, change: dict[str, str], field: str, says: str
) -> None:
    response = save_contract_rule(officer_client, org, **change)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="id_contract-{field}_error"' in html and says in html
    assert contract_rules(org) == []


def test_a_year_of_each_unit_is_accepted_and_intake_still_works(
    org: Organization, officer_client: Client
) -> None:
    response = save_contract_rule(officer_client, org, respond_amount="366")
    assert response.status_code == 302
    assert (
        save_contract_rule(
            officer_client, org, slug="dpa-b", respond_amount="260", respond_unit="business_days"
        ).status_code
        == 302
    )
    intake = reverse("accounts_api:request_intake", kwargs={"org_slug": org.slug})
    created = officer_client.post(
        intake,
        {"request_type": "delete", "relationship": "parent", "requester_name": "Rosa Parent"},
        content_type="application/json",
    )
    assert created.status_code == 201


def test_the_database_refuses_an_overlong_period(org: Organization) -> None:
    with tenant_context(org), pytest.raises(IntegrityError), transaction.atomic():
        ContractRule.objects.create(
            organization=org,
            slug="dpa",
            name="DPA",
            source="DPA",
            request_types=["delete"],
            respond_amount=INT_MAX,
            respond_unit="calendar_days",
        )
    row = JurisdictionRule.objects.get(rule_id="gdpr")
    row.extension_amount = 13
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()


@pytest.mark.parametrize("prefix", ["acknowledge", "respond", "extension", "extension_notice"])
def test_an_overlong_jurisdiction_rule_period_is_an_error_at_the_field_in_the_admin(
    prefix: str,
) -> None:
    ops = sign_in(Client(), UserFactory(email="ops@k12.example", is_staff=True, is_superuser=True))
    row = JurisdictionRule.objects.get(rule_id="ccpa", request_types__contains=["delete"])
    changes: dict[str, Any] = {f"{prefix}_amount": INT_MAX}
    if prefix == "extension_notice":  # a notice period of its own, in the extension's unit
        changes.update(extension_notice="period", extension_notice_unit=row.respond_unit)
    url = reverse("admin:privacy_requests_jurisdictionrule_change", args=[row.pk])
    response = ops.post(url, form_data(row, **changes))
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == [f"{prefix}_amount"]
    assert "At most" in response.content.decode()
    row.refresh_from_db()
    assert row.version == 1 and getattr(row, f"{prefix}_amount") != INT_MAX


def test_the_service_names_the_field_too() -> None:
    from django.core.exceptions import ValidationError

    row = JurisdictionRule.objects.get(rule_id="gdpr")
    row.respond_amount = 13
    with pytest.raises(ValidationError) as refused:
        jurisdiction_rule_save(actor=None, rule=row)
    assert list(refused.value.message_dict) == ["respond_amount"]


@pytest.mark.parametrize("unit", list(Unit))
def test_the_engine_refuses_a_rule_period_beyond_a_year_of_its_unit(unit: Unit) -> None:
    def part(amount: int) -> RulePart:
        year = Period(PERIOD_MAXIMUM[unit], unit)
        # respond + extension may add up to two years: only each period is bounded
        return RulePart(
            request_types=frozenset({"access"}),
            source="DPA",
            confidence=Confidence.HIGH,
            respond=year,
            extension=Period(amount, unit),
        )

    assert part(PERIOD_MAXIMUM[unit]).extended_total == Period(2 * PERIOD_MAXIMUM[unit], unit)
    with pytest.raises(ValueError, match="extension: a period must be at most"):
        part(PERIOD_MAXIMUM[unit] + 1)
