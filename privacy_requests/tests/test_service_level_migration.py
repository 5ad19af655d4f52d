"""`k12cloud-policy` binds the platform only; districts and vendors get `k12cloud-service-level`.

The data migration (privacy_requests 0010) is run here on the historical models of its own
state, over organizations and requests made the way they were before it.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from audit.models import AuditEvent
from audit.sealing import seal_chains
from audit.verification import verify_chains
from k12cloud.tenancy import tenant_context, unscoped_all_tenants
from privacy_requests.deadlines import default_rule_ids
from privacy_requests.models import PrivacyRequest, RequestMessage
from privacy_requests.rules.models import JurisdictionRule, OrganizationRuleSelection
from privacy_requests.rules.selectors import organization_rule_ids
from privacy_requests.services import (
    RequestActionRefused,
    request_acknowledge,
    request_close,
    request_extend,
    request_transition,
    request_verify,
)
from privacy_requests.status import Status
from privacy_requests.tests.factories import received_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

MIGRATION = "0010_k12cloud_service_level"
migration = importlib.import_module(f"privacy_requests.migrations.{MIGRATION}")
LA = ZoneInfo("America/Los_Angeles")
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=LA)  # respond by 16 April; +45 days = 31 May


def run_migration() -> None:
    """The migration's function on the historical models of its state, as `migrate` runs it."""
    apps = MigrationExecutor(connection).loader.project_state(("privacy_requests", MIGRATION)).apps
    with unscoped_all_tenants(reason="test: the data migration runs as the owner"):
        migration.move_to_service_level(apps, SimpleNamespace(connection=connection))


def select(org: Organization, *rule_ids: str) -> None:
    with tenant_context(org):
        OrganizationRuleSelection.objects.filter(organization=org).delete()
        OrganizationRuleSelection.objects.bulk_create(
            OrganizationRuleSelection(organization=org, rule_id=r) for r in rule_ids
        )


def stored(org: Organization) -> list[str]:
    with tenant_context(org):
        return sorted(OrganizationRuleSelection.objects.values_list("rule_id", flat=True))


def events(org: Organization, action: str) -> list[AuditEvent]:
    with tenant_context(org):
        return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


def reloaded(request: PrivacyRequest) -> PrivacyRequest:
    with tenant_context(request.organization_id):
        return PrivacyRequest.objects.get(pk=request.pk)


def test_the_new_defaults_table() -> None:
    assert default_rule_ids("platform", "US", "CA") == ("k12cloud-policy", "ccpa")
    assert default_rule_ids("district", "US", "CA") == (
        "k12cloud-service-level",
        "ccpa",
        "ca-edcode-49069",
        "ferpa",
    )
    assert default_rule_ids("vendor", "CA", "QC") == (
        "k12cloud-service-level",
        "pipeda",
        "quebec-private",
    )
    for kind in ("district", "vendor"):
        assert "k12cloud-policy" not in default_rule_ids(kind, "US", "NY")


def test_the_migration_moves_districts_and_vendors_and_leaves_the_platform() -> None:
    # before: a California district on the old defaults (k12cloud-policy first), a vendor with
    # a stored selection naming it, a district that had turned it off, and the platform
    district = OrganizationFactory(subdivision="CA", kind="district")
    vendor = OrganizationFactory(subdivision="NY", kind="vendor")
    opted_out = OrganizationFactory(subdivision="CA", kind="district")
    platform = OrganizationFactory(subdivision="CA", kind="platform")
    old_district_rules = migration.old_default_rule_ids("district", "US", "CA")
    assert old_district_rules[0] == "k12cloud-policy"
    select(district, *old_district_rules)
    select(vendor, "k12cloud-policy", "ccpa")
    select(opted_out, "ccpa", "ferpa")
    select(platform, "k12cloud-policy", "ccpa")
    with time_machine.travel(MONDAY, tick=False):
        access = received_request(district)  # computed with k12cloud-policy
        inspect = received_request(district, request_type="ferpa_inspect")  # policy: n/a
        closed = received_request(district, request_type="delete")
        vendor_request = received_request(vendor, request_type="correct")
        platform_request = received_request(platform)
        opted_out_request = received_request(opted_out)
    assert access.deadlines["rule_versions"]["k12cloud-policy"] == 1
    with tenant_context(district):
        request_close(request=closed, actor=None, outcome="denied", reason="Not our records.")
    select(district)  # the district followed the defaults: no stored rows
    rows_before = JurisdictionRule.objects.filter(rule_id="k12cloud-service-level").count()

    run_migration()

    assert JurisdictionRule.objects.filter(rule_id="k12cloud-service-level").count() == rows_before
    # stored selections: k12cloud-policy replaced; the opted-out district and platform as they were
    assert stored(district) == []
    with tenant_context(district):
        assert "k12cloud-service-level" in organization_rule_ids(organization=district)
        assert "k12cloud-policy" not in organization_rule_ids(organization=district)
    assert stored(vendor) == ["ccpa", "k12cloud-service-level"]
    assert stored(opted_out) == ["ccpa", "ferpa"]
    assert stored(platform) == ["ccpa", "k12cloud-policy"]
    # one audit event per changed organization, naming what was removed and added
    [change] = events(district, "deadlines.rule_selection_changed")
    assert change.changes["added"] == ["k12cloud-service-level"]
    assert change.changes["removed"] == ["k12cloud-policy"]
    assert (change.actor_kind, change.actor_label) == ("system", migration.ACTOR_LABEL)
    assert len(events(vendor, "deadlines.rule_selection_changed")) == 1
    assert events(opted_out, "deadlines.rule_selection_changed") == []
    assert events(platform, "deadlines.rule_selection_changed") == []
    # open requests the change affects are flagged for review; their dates do not move
    assert reloaded(access).deadline_snapshot_stale_since is not None
    assert reloaded(access).respond_by == access.respond_by
    assert reloaded(inspect).deadline_snapshot_stale_since is None  # no rule of its type changed
    assert reloaded(closed).deadline_snapshot_stale_since is None
    assert reloaded(vendor_request).deadline_snapshot_stale_since is not None
    assert reloaded(platform_request).deadline_snapshot_stale_since is None
    assert reloaded(opted_out_request).deadline_snapshot_stale_since is None
    [flagged] = events(district, "requests.deadlines_flagged")
    assert flagged.changes == {"requests_flagged": 1, "cause": "rule_selection"}
    # the events were appended to the organizations' hash chains: every chain verifies
    seal_chains()  # the events the test's set-up recorded, as beat seals them every 2 s
    with unscoped_all_tenants(reason="test: verify the audit chains"):
        report = verify_chains()
    assert report.intact, report.problems
    # idempotent: a second run finds nothing to change
    run_migration()
    assert len(events(district, "deadlines.rule_selection_changed")) == 1


def test_the_migration_inserts_the_rule_where_it_is_missing() -> None:
    JurisdictionRule.objects.filter(rule_id="k12cloud-service-level").delete()
    run_migration()
    row = JurisdictionRule.objects.get(rule_id="k12cloud-service-level")
    assert (row.respond_amount, row.extension_amount, row.acknowledge_amount) == (45, 45, 10)
    assert row.extension_notice == "within_response_period"


def test_a_new_california_district_extends_an_access_request_once_by_45_days_with_notice() -> None:
    run_migration()
    district = OrganizationFactory(subdivision="CA", kind="district", slug="new-ca-usd")
    staff = member(district, Role.PRIVACY_STAFF)
    with time_machine.travel(MONDAY, tick=False):
        request = received_request(district, actor=staff)
    assert request.deadlines["respond_by"] == "2026-04-16"
    assert request.deadlines["respond_by_extended"] == "2026-05-31"
    before_deadline = datetime(2026, 4, 1, 9, 0, tzinfo=LA)
    with time_machine.travel(before_deadline, tick=False), tenant_context(district):
        request = request_verify(request=request, actor=staff, method="records_match")
        request = request_acknowledge(request=request, actor=staff)
        request = request_transition(request=request, to_status=Status.IN_PROGRESS, actor=staff)
        request = request_extend(request=request, actor=staff, reason="Records are archived.")
        assert request.extended_respond_by is not None
        assert request.extended_respond_by.isoformat() == "2026-05-31"
        notice = RequestMessage.objects.filter(
            request=request, direction=RequestMessage.Direction.TO_REQUESTER
        ).last()
        assert notice is not None and "Records are archived." in notice.body
        with pytest.raises(RequestActionRefused) as refused:
            request_extend(request=request, actor=staff, reason="Again.")
    assert refused.value.code == "already_extended"


def test_the_platform_organization_still_binds_to_its_privacy_policy() -> None:
    run_migration()
    platform = OrganizationFactory(kind="platform", subdivision="CA", slug="k12cloud-test")
    with tenant_context(platform):
        assert organization_rule_ids(organization=platform)[0] == "k12cloud-policy"
        assert "k12cloud-service-level" not in organization_rule_ids(organization=platform)
    with time_machine.travel(MONDAY, tick=False):
        request = received_request(platform)
    assert request.deadlines["binding_rule"] == "k12cloud-policy"
    assert request.deadlines["respond_by_extended"] is None  # the policy allows no extension


def test_reversing_restores_the_policy_in_stored_selections() -> None:
    vendor = OrganizationFactory(subdivision="NY", kind="vendor")
    select(vendor, "k12cloud-policy", "ccpa")
    run_migration()
    assert stored(vendor) == ["ccpa", "k12cloud-service-level"]
    apps = MigrationExecutor(connection).loader.project_state(("privacy_requests", MIGRATION)).apps
    with unscoped_all_tenants(reason="test: the reverse migration runs as the owner"):
        migration.restore_policy(apps, SimpleNamespace(connection=connection))
    assert stored(vendor) == ["ccpa", "k12cloud-policy"]
