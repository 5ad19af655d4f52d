"""One request's deadline rules in one statement (`organization_rules`): the rule book and the
organization's contract rules come from a process cache keyed by a digest of their rows, which
that statement reads, so any edit (through the services or not, committed or in this very
transaction) takes effect on the next request (issue #20)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Organization
from accounts.tests.factories import OrganizationFactory
from k12cloud.tenancy import tenant_context
from privacy_requests.rules import selectors, services
from privacy_requests.rules.models import ContractRule, JurisdictionRule

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

LA = ZoneInfo("America/Los_Angeles")
RECEIVED = datetime(2026, 3, 2, 10, tzinfo=LA)


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(country="US", subdivision="CA", time_zone="America/Los_Angeles")


def respond_by(org: Organization, request_type: str = "access") -> date | None:
    with tenant_context(org):
        result, _ = selectors.organization_deadlines(
            organization=org, request_type=request_type, received_at=RECEIVED
        )
    return result.respond_by


def test_warm_rules_are_one_statement_and_the_same_as_read_from_the_table(
    org: Organization, django_assert_num_queries: Any
) -> None:
    with tenant_context(org):
        selectors.organization_rules(organization=org)  # this process may not have them yet
        with django_assert_num_queries(1):
            rules = selectors.organization_rules(organization=org)
        fresh = selectors.jurisdiction_rule_book()
    assert rules.book.rules == fresh.rules
    assert rules.book.versions == fresh.versions
    assert rules.contracts == ()
    assert rules.selection == ()  # the defaults apply


def test_a_rule_edited_through_the_service_applies_to_the_next_request(org: Organization) -> None:
    assert respond_by(org) == date(2026, 4, 16)
    row = JurisdictionRule.objects.get(rule_id="ccpa", request_types__contains=["access"])
    row.respond_amount = 30
    services.jurisdiction_rule_save(actor=None, rule=row)
    # the portal's service level (10 business days, 45 days) still binds first; 30 days is
    # earlier than its 45
    assert respond_by(org) == date(2026, 4, 1)


def test_a_rule_edited_behind_the_services_back_applies_too(org: Organization) -> None:
    assert respond_by(org) == date(2026, 4, 16)
    # no version bump, no updated_at: the digest covers every column of every row
    JurisdictionRule.objects.filter(rule_id="ccpa", request_types__contains=["access"]).update(
        respond_amount=30
    )
    assert respond_by(org) == date(2026, 4, 1)
    JurisdictionRule.objects.filter(rule_id="ccpa", request_types__contains=["access"]).update(
        respond_amount=45
    )
    assert respond_by(org) == date(2026, 4, 16)


def test_contract_rules_and_the_selection_apply_to_the_next_request(org: Organization) -> None:
    assert respond_by(org, "delete") == date(2026, 4, 16)
    with tenant_context(org):
        rule = services.contract_rule_save(
            organization=org,
            actor=None,
            rule=ContractRule(
                slug="dpa-deletion",
                name="DPA deletion",
                source="District DPA §9",
                request_types=["delete"],
                respond_amount=7,
                respond_unit="calendar_days",
            ),
        )
    assert respond_by(org, "delete") == date(2026, 3, 9)
    with tenant_context(org):
        ContractRule.objects.filter(pk=rule.pk).update(respond_amount=3)
    assert respond_by(org, "delete") == date(2026, 3, 5)
    with tenant_context(org):
        ContractRule.objects.filter(pk=rule.pk).delete()
    assert respond_by(org, "delete") == date(2026, 4, 16)
    # choosing only GDPR (one month) instead of the defaults
    with tenant_context(org):
        services.organization_rule_selection_set(organization=org, actor=None, rule_ids=["gdpr"])
        assert selectors.organization_rules(organization=org).selection == ("gdpr",)
    assert respond_by(org) == date(2026, 4, 2)


def test_another_organizations_contract_rules_are_not_used(org: Organization) -> None:
    other = OrganizationFactory(country="US", subdivision="CA", time_zone="America/Los_Angeles")
    with tenant_context(other):
        services.contract_rule_save(
            organization=other,
            actor=None,
            rule=ContractRule(
                slug="dpa-deletion",
                name="DPA deletion",
                source="District DPA §9",
                request_types=["delete"],
                respond_amount=7,
                respond_unit="calendar_days",
            ),
        )
    assert respond_by(other, "delete") == date(2026, 3, 9)
    assert respond_by(org, "delete") == date(2026, 4, 16)
    with tenant_context(org):
        assert selectors.organization_rules(organization=org).contracts == ()
