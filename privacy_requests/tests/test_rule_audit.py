"""Each deadline-rule write leaves exactly one audit event, attributed to the named user."""

from __future__ import annotations

from datetime import date

import pytest

from accounts.tests.factories import OrganizationFactory, UserFactory
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context, unscoped_all_tenants
from privacy_requests.rules import services
from privacy_requests.rules.models import JurisdictionRule
from privacy_requests.tests.test_deadline_rules import dpa

pytestmark = pytest.mark.usefixtures("reference_rules")


def events(action: str) -> list[AuditEvent]:
    with unscoped_all_tenants(reason="test: reading audit events"):
        return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def test_rules_table_edit_is_a_platform_event_with_the_actor() -> None:
    ops = UserFactory.create(is_staff=True)
    row = JurisdictionRule.objects.get(rule_id="ccpa", request_types=["opt_out"])
    row.respond_amount = 20
    services.jurisdiction_rule_save(actor=ops, rule=row)
    [event] = events("deadlines.jurisdiction_rule_saved")
    assert event.organization_id is None
    assert (event.actor_kind, event.actor_user_id) == ("user", ops.pk)
    assert event.changes["rule_id"] == "ccpa" and event.changes["version"] == 2


def test_selection_change_is_recorded_once_and_not_when_unchanged() -> None:
    org = OrganizationFactory.create(kind="district", country="US", subdivision="TX")
    with tenant_context(org):
        services.organization_rule_selection_set(organization=org, actor=None, rule_ids=["ferpa"])
        services.organization_rule_selection_set(organization=org, actor=None, rule_ids=["ferpa"])
        services.organization_rule_selection_set(
            organization=org, actor=None, rule_ids=["ferpa", "ccpa"]
        )
    recorded = events("deadlines.rule_selection_changed")
    # the first change is measured against the defaults that applied (service level + FERPA):
    # what was removed is named, not "removed: -"
    assert [e.changes for e in recorded] == [
        {"added": [], "removed": ["k12cloud-service-level"], "replaced_defaults": True},
        {"added": ["ccpa"], "removed": []},
    ]
    assert {e.organization_id for e in recorded} == {org.pk}


def test_contract_rules_and_closures_are_organization_events() -> None:
    org = OrganizationFactory.create()
    dpa(org)
    with tenant_context(org):
        services.organization_closure_add(organization=org, actor=None, day=date(2026, 12, 24))
        services.organization_closure_add(organization=org, actor=None, day=date(2026, 12, 24))
        services.organization_closure_remove(organization=org, actor=None, day=date(2026, 12, 24))
        services.organization_closure_remove(organization=org, actor=None, day=date(2026, 12, 24))
    assert [e.changes for e in events("deadlines.contract_rule_saved")] == [
        {"slug": "dpa-deletion", "version": 1}
    ]
    assert len(events("deadlines.closure_added")) == 1
    assert len(events("deadlines.closure_removed")) == 1
