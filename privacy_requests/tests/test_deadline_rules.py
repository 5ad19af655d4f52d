"""The rules table, organization choices, and recompute safety (services and selectors)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Organization
from accounts.tests.factories import OrganizationFactory
from k12cloud.tenancy import TenantContextMissing, tenant_context, unscoped_all_tenants
from privacy_requests.deadlines import REFERENCE_RULES, DeadlineSnapshot, RuleDoesNotApply
from privacy_requests.rules import selectors, services
from privacy_requests.rules.models import (
    ContractRule,
    JurisdictionRule,
    OrganizationClosure,
    OrganizationRuleSelection,
)

pytestmark = pytest.mark.usefixtures("reference_rules")

LA = ZoneInfo("America/Los_Angeles")


def organization(**fields: object) -> Organization:
    return OrganizationFactory(**fields)


# --- the rules table ------------------------------------------------------------------------


def test_the_migrated_table_is_the_reference_table() -> None:
    book = selectors.jurisdiction_rule_book()
    assert dict(book.rules) == REFERENCE_RULES
    assert JurisdictionRule.objects.count() == 14


def test_unverified_rows_ship_disabled() -> None:
    unverified = JurisdictionRule.objects.filter(confidence="unverified")
    assert [(r.rule_id, r.request_types, r.enabled) for r in unverified] == [
        ("ccpa", ["limit_sensitive"], False)
    ]
    assert (
        JurisdictionRule.objects.exclude(confidence="unverified").filter(enabled=False).count() == 0
    )


def test_the_rule_book_is_one_query(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1):
        book = selectors.jurisdiction_rule_book()
    assert set(book.rules) == set(REFERENCE_RULES)
    assert book.version_for("ccpa", "opt_out") == 1
    assert book.version_for("ccpa", "ferpa_inspect") == 0


def test_saving_a_rule_bumps_its_version_and_keeps_versions_unique() -> None:
    opt_out = JurisdictionRule.objects.get(rule_id="ccpa", request_types=["opt_out"])
    opt_out.respond_amount = 20
    services.jurisdiction_rule_save(actor=None, rule=opt_out)
    assert opt_out.version == 2
    # rule-level fields are shared: changing the calendar re-versions every row of the rule
    opt_out.calendar_country = ""
    services.jurisdiction_rule_save(actor=None, rule=opt_out)
    versions = sorted(
        JurisdictionRule.objects.filter(rule_id="ccpa").values_list("version", flat=True)
    )
    assert versions == [3, 4, 5]
    assert set(
        JurisdictionRule.objects.filter(rule_id="ccpa").values_list("calendar_country", flat=True)
    ) == {""}
    # another rule is untouched
    assert JurisdictionRule.objects.get(rule_id="gdpr").version == 1


def test_a_new_row_gets_a_fresh_version() -> None:
    row = JurisdictionRule(
        rule_id="ferpa",
        jurisdiction="US",
        request_types=["delete"],
        respond_amount=30,
        respond_unit="calendar_days",
        calendar_country="US",
        source="test",
        confidence="medium",
    )
    services.jurisdiction_rule_save(actor=None, rule=row)
    assert row.version == 2  # ferpa's two rows were at version 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"extension_amount": 10, "extension_unit": "months"}, "unit of the response period"),
        (
            {
                "extension_notice": "within_response_period",
                "extension_amount": None,
                "extension_unit": "",
            },
            "needs an extension",
        ),
        ({"request_types": ["opt_out"]}, "two parts for 'opt_out'"),
        ({"request_types": ["erase"]}, "erase"),
    ],
)
def test_invalid_rows_are_refused(changes: dict[str, object], message: str) -> None:
    row = JurisdictionRule.objects.get(rule_id="ccpa", request_types__contains=["access"])
    for name, value in changes.items():
        setattr(row, name, value)
    with pytest.raises(ValidationError, match=message):
        services.jurisdiction_rule_save(actor=None, rule=row)
    assert JurisdictionRule.objects.get(pk=row.pk).version == 1


def test_the_database_refuses_a_zero_period() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        JurisdictionRule.objects.filter(rule_id="gdpr").update(respond_amount=0)


# --- defaults per organization --------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "country", "subdivision", "expected"),
    [
        ("district", "US", "CA", ("k12cloud-service-level", "ccpa", "ca-edcode-49069", "ferpa")),
        ("vendor", "US", "CA", ("k12cloud-service-level", "ccpa")),
        ("district", "US", "NY", ("k12cloud-service-level", "ferpa", "ny-part121")),
        ("district", "US", "TX", ("k12cloud-service-level", "ferpa")),
        ("vendor", "US", "IL", ("k12cloud-service-level",)),
        # k-12.cloud's own privacy policy binds the platform organization only
        ("platform", "US", "CA", ("k12cloud-policy", "ccpa")),
        ("district", "CA", "QC", ("k12cloud-service-level", "pipeda", "quebec-public")),
        ("vendor", "CA", "QC", ("k12cloud-service-level", "pipeda", "quebec-private")),
        ("district", "CA", "ON", ("k12cloud-service-level", "pipeda", "ontario-mfippa")),
        ("vendor", "CA", "ON", ("k12cloud-service-level", "pipeda")),
    ],
)
def test_default_rules(
    kind: str, country: str, subdivision: str, expected: tuple[str, ...]
) -> None:
    org = Organization(kind=kind, country=country, subdivision=subdivision)
    assert services.deadline_rules_default_for(org) == expected
    assert set(expected) <= set(REFERENCE_RULES)


def test_selection_defaults_until_chosen_then_the_choice() -> None:
    org = organization(country="US", subdivision="NY")
    with tenant_context(org):
        assert selectors.organization_rule_ids(organization=org) == (
            "k12cloud-service-level",
            "ferpa",
            "ny-part121",
        )
        services.organization_rule_selection_initialize(organization=org, actor=None)
        assert OrganizationRuleSelection.objects.count() == 3
        services.organization_rule_selection_set(
            organization=org, actor=None, rule_ids=["k12cloud-service-level", "gdpr"]
        )
        assert selectors.organization_rule_ids(organization=org) == (
            "gdpr",
            "k12cloud-service-level",
        )
        with pytest.raises(ValidationError, match="unknown rule"):
            services.organization_rule_selection_set(
                organization=org, actor=None, rule_ids=["nope"]
            )
        # k-12.cloud's own privacy policy is the platform organization's alone
        with pytest.raises(ValidationError, match="platform organization only"):
            services.organization_rule_selection_set(
                organization=org, actor=None, rule_ids=["k12cloud-policy", "ferpa"]
            )
        assert selectors.organization_rule_ids(organization=org) == (
            "gdpr",
            "k12cloud-service-level",
        )
    platform = organization(kind="platform", slug="k12cloud-platform")
    with tenant_context(platform):
        services.organization_rule_selection_set(
            organization=platform, actor=None, rule_ids=["k12cloud-policy", "gdpr"]
        )
        assert selectors.organization_rule_ids(organization=platform) == (
            "gdpr",
            "k12cloud-policy",
        )


def test_tenant_rows_need_a_context_and_stay_in_their_organization() -> None:
    a, b = organization(slug="a-usd"), organization(slug="b-usd")
    with tenant_context(a):
        services.organization_closure_add(organization=a, actor=None, day=date(2026, 12, 24))
    with tenant_context(b):
        assert OrganizationClosure.objects.count() == 0
        assert selectors.organization_closures(organization=b) == frozenset()
    with pytest.raises(TenantContextMissing):
        list(OrganizationClosure.objects.all())
    with unscoped_all_tenants(reason="test: counting closures"):
        assert OrganizationClosure.objects.count() == 1


# --- contract rules and closures ------------------------------------------------------------


def dpa(org: Organization, days: int = 7) -> ContractRule:
    with tenant_context(org):
        return services.contract_rule_save(
            organization=org,
            actor=None,
            rule=ContractRule(
                slug="dpa-deletion",
                name="DPA deletion",
                source="District DPA §9",
                request_types=["delete"],
                respond_amount=days,
                respond_unit="calendar_days",
            ),
        )


def test_a_contract_rule_makes_a_deadline_earlier() -> None:
    org = organization(country="US", subdivision="CA", time_zone="America/Los_Angeles")
    received = datetime(2026, 3, 2, 10, tzinfo=LA)
    with tenant_context(org):
        before, _ = selectors.organization_deadlines(
            organization=org, request_type="delete", received_at=received
        )
    assert before.respond_by == date(2026, 4, 16)
    dpa(org)
    with tenant_context(org):
        after, snapshot = selectors.organization_deadlines(
            organization=org, request_type="delete", received_at=received
        )
    assert after.respond_by == date(2026, 3, 9)
    assert after.binding_rule == "contract:dpa-deletion"
    assert after.acknowledge_by == before.acknowledge_by
    assert snapshot.rule_versions == {
        "k12cloud-service-level": 1,
        "ccpa": 1,
        "ca-edcode-49069": 0,  # considered, governs no deletion
        "ferpa": 0,
        "contract:dpa-deletion": 1,
    }


@pytest.mark.parametrize("amount", [0, -3])
def test_contract_rule_periods_must_be_positive(amount: int) -> None:
    org = organization()
    with pytest.raises(ValidationError, match="at least 1"):
        dpa(org, days=amount)


def test_closures_move_internal_targets_not_statutory_dates() -> None:
    org = organization(country="US", subdivision="CA", time_zone="America/Los_Angeles")
    received = datetime(2026, 3, 2, 10, tzinfo=LA)
    with tenant_context(org):
        for day in range(9, 14):  # spring break, Mon 9 to Fri 13 March
            services.organization_closure_add(organization=org, actor=None, day=date(2026, 3, day))
        result, _ = selectors.organization_deadlines(
            organization=org, request_type="access", received_at=received
        )
        internal = selectors.internal_business_day_target(
            organization=org, start=result.received_on, business_days=10
        )
    assert result.acknowledge_by == date(2026, 3, 16)
    assert internal == date(2026, 3, 23)


# --- recompute safety -----------------------------------------------------------------------


def test_editing_a_rule_makes_an_earlier_snapshot_stale() -> None:
    org = organization(country="US", subdivision="CA", time_zone="America/Los_Angeles")
    received = datetime(2026, 3, 2, 10, tzinfo=LA)
    with tenant_context(org):
        result, snapshot = selectors.organization_deadlines(
            organization=org, request_type="access", received_at=received
        )
    stored = snapshot.to_json_dict()  # what the request keeps
    assert DeadlineSnapshot.from_json_dict(stored) == snapshot
    assert selectors.deadline_snapshot_is_stale(snapshot) == []

    row = JurisdictionRule.objects.get(rule_id="ccpa", request_types__contains=["access"])
    row.respond_amount = 30
    services.jurisdiction_rule_save(actor=None, rule=row)

    assert selectors.deadline_snapshot_is_stale(DeadlineSnapshot.from_json_dict(stored)) == ["ccpa"]
    # the stored dates are not moved: the snapshot still says what the request was given
    assert (
        DeadlineSnapshot.from_json_dict(stored).respond_by == result.respond_by == date(2026, 4, 16)
    )


def test_editing_another_part_of_the_rule_does_not_flag_the_request() -> None:
    snapshot = DeadlineSnapshot.from_json_dict(
        {
            "request_type": "access",
            "received_on": "2026-03-02",
            "acknowledge_by": "2026-03-16",
            "respond_by": "2026-04-16",
            "respond_by_extended": "2026-05-31",
            "extension_notice_by": "2026-04-16",
            "binding_rule": "ccpa",
            "rule_versions": {"ccpa": 1},
        }
    )
    opt_out = JurisdictionRule.objects.get(rule_id="ccpa", request_types=["opt_out"])
    opt_out.respond_amount = 10
    services.jurisdiction_rule_save(actor=None, rule=opt_out)
    assert selectors.deadline_snapshot_is_stale(snapshot) == []


def test_a_rule_that_starts_governing_the_type_makes_the_snapshot_stale() -> None:
    snapshot = DeadlineSnapshot(
        request_type="ferpa_inspect",
        received_on=date(2026, 9, 2),
        acknowledge_by=None,
        respond_by=date(2026, 10, 17),
        respond_by_extended=None,
        extension_notice_by=None,
        binding_rule="ferpa",
        rule_versions={"ferpa": 1, "k12cloud-policy": 0},
    )
    policy = JurisdictionRule.objects.get(rule_id="k12cloud-policy")
    policy.request_types = [*policy.request_types, "ferpa_inspect"]
    services.jurisdiction_rule_save(actor=None, rule=policy)
    assert selectors.deadline_snapshot_is_stale(snapshot) == ["k12cloud-policy"]


def test_organization_changes_make_a_snapshot_stale() -> None:
    org = organization(country="US", subdivision="CA", time_zone="America/Los_Angeles")
    received = datetime(2026, 3, 2, 10, tzinfo=LA)
    with tenant_context(org):
        _, snapshot = selectors.organization_deadlines(
            organization=org, request_type="delete", received_at=received
        )
        assert selectors.deadline_snapshot_is_stale(snapshot, organization=org) == []
    rule = dpa(org)
    with tenant_context(org):
        assert selectors.deadline_snapshot_is_stale(snapshot, organization=org) == [
            "contract:dpa-deletion"
        ]
        _, snapshot = selectors.organization_deadlines(
            organization=org, request_type="delete", received_at=received
        )
        rule.respond_amount = 5
        services.contract_rule_save(organization=org, actor=None, rule=rule)
        assert rule.version == 2
        assert selectors.deadline_snapshot_is_stale(snapshot, organization=org) == [
            "contract:dpa-deletion"
        ]
        services.organization_rule_selection_set(
            organization=org, actor=None, rule_ids=["k12cloud-service-level"]
        )
        assert selectors.deadline_snapshot_is_stale(snapshot, organization=org) == [
            "ccpa",
            "contract:dpa-deletion",
        ]
    with pytest.raises(ValueError, match="needs the organization"):
        selectors.deadline_snapshot_is_stale(snapshot)


def test_a_disabled_rule_sets_no_deadline() -> None:
    org = organization(country="US", subdivision="NY", kind="vendor", time_zone="America/New_York")
    row = JurisdictionRule.objects.get(rule_id="k12cloud-service-level")
    row.enabled = False
    services.jurisdiction_rule_save(actor=None, rule=row)
    with tenant_context(org), pytest.raises(RuleDoesNotApply):
        selectors.organization_deadlines(
            organization=org, request_type="access", received_at=datetime(2026, 3, 2, 10, tzinfo=LA)
        )
