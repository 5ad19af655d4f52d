"""The deadline rule settings page: rule selection, contract rules, closures."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context, unscoped_all_tenants
from privacy_requests.models import PrivacyRequest
from privacy_requests.rules.models import (
    ContractRule,
    OrganizationClosure,
    OrganizationRuleSelection,
)
from privacy_requests.tests.factories import received_request
from privacy_requests.tests.test_request_views import EXPECTED_INTAKE_QUERIES

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

LA = ZoneInfo("America/Los_Angeles")


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory.create(slug="lincoln-usd", name="Lincoln USD", subdivision="CA")


@pytest.fixture
def officer(org: Organization) -> User:
    return member(org, Role.PRIVACY_OFFICER)


@pytest.fixture
def client(officer: User) -> Client:
    return sign_in(Client(), officer)


def url(org: Organization, name: str = "deadline_rules") -> str:
    return reverse(f"accounts:{name}", kwargs={"org_slug": org.slug})


def selection(org: Organization) -> list[str]:
    with tenant_context(org):
        return sorted(OrganizationRuleSelection.objects.values_list("rule_id", flat=True))


def audit_actions(org: Organization) -> list[str]:
    with unscoped_all_tenants(reason="test: reading audit events"):
        return list(
            AuditEvent.objects.filter(organization=org)
            .order_by("pk")
            .values_list("action", flat=True)
        )


def test_the_page_shows_the_defaults_and_the_nav_link(org: Organization, client: Client) -> None:
    response = client.get(url(org))
    assert response.status_code == 200
    html = response.content.decode()
    assert "uses the default rules" in html
    # a California district: k12cloud-service-level, ccpa, ca-edcode-49069, ferpa are ticked
    assert set(response.context["rules_form"].initial["rule_ids"]) == {
        "k12cloud-service-level",
        "ccpa",
        "ca-edcode-49069",
        "ferpa",
    }
    assert 'aria-current="page">Deadline rules</a>' in html


def test_choosing_rules_is_saved_audited_and_flags_open_requests(
    org: Organization, client: Client
) -> None:
    request = received_request(
        org, request_type="access", received_at=datetime(2026, 3, 2, tzinfo=LA)
    )
    # received under the defaults (ccpa among them); dropping ccpa changes its dates
    response = client.post(
        url(org, "deadline_rules_selection"), {"rules-rule_ids": ["k12cloud-service-level"]}
    )
    assert response.status_code == 302 and response["Location"] == url(org)
    assert selection(org) == ["k12cloud-service-level"]
    assert "deadlines.rule_selection_changed" in audit_actions(org)
    with tenant_context(org):
        assert PrivacyRequest.objects.get(pk=request.pk).deadline_snapshot_stale_since is not None


def test_choosing_no_rule_or_an_unknown_one_names_the_field(
    org: Organization, client: Client
) -> None:
    with tenant_context(org):
        OrganizationRuleSelection.objects.create(organization=org, rule_id="ferpa")
    for data in ({}, {"rules-rule_ids": ["no-such-law"]}):
        response = client.post(url(org, "deadline_rules_selection"), data)
        assert response.status_code == 200
        html = response.content.decode()
        assert 'id="id_rules-rule_ids_error"' in html
        assert 'href="#rules_form"' in html and 'role="alert"' in html
    assert selection(org) == ["ferpa"]  # nothing lost


def test_adding_and_editing_a_contract_rule(org: Organization, client: Client) -> None:
    data = {
        "contract-slug": "dpa-delete",
        "contract-name": "DPA deletion",
        "contract-source": "District DPA §9",
        "contract-request_types": ["delete"],
        "contract-respond_amount": "7",
        "contract-respond_unit": "calendar_days",
        "contract-enabled": "on",
    }
    assert client.post(url(org, "deadline_contract_rule_save"), data).status_code == 302
    page = client.get(url(org) + "?edit=dpa-delete")
    assert page.context["contract_form"].initial["respond_amount"] == 7
    assert "Edit DPA deletion" in page.content.decode()
    edited = {
        **data,
        "contract-respond_amount": "5",
        "contract-request_types": ["delete", "access"],
    }
    assert client.post(url(org, "deadline_contract_rule_save"), edited).status_code == 302
    with tenant_context(org):
        rule = ContractRule.objects.get()
    assert (rule.respond_amount, rule.version, rule.request_types) == (5, 2, ["delete", "access"])
    assert audit_actions(org).count("deadlines.contract_rule_saved") == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"contract-respond_amount": "0"}, "respond_amount"),
        ({"contract-respond_amount": "seven"}, "respond_amount"),
        ({"contract-acknowledge_amount": "3"}, "acknowledge_unit"),
        ({"contract-request_types": []}, "request_types"),
        ({"contract-slug": "not a slug"}, "slug"),
    ],
)
def test_a_bad_contract_rule_names_the_field_and_saves_nothing(
    org: Organization, client: Client, change: dict[str, object], field: str
) -> None:
    data = {
        "contract-slug": "dpa-delete",
        "contract-name": "DPA deletion",
        "contract-source": "District DPA §9",
        "contract-request_types": ["delete"],
        "contract-respond_amount": "7",
        "contract-respond_unit": "calendar_days",
        **change,
    }
    response = client.post(url(org, "deadline_contract_rule_save"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="id_contract-{field}_error"' in html
    assert f'href="#id_contract-{field}"' in html  # the summary links to the field
    assert response.context["contract_form"].data["contract-name"] == "DPA deletion"  # kept
    with tenant_context(org):
        assert not ContractRule.objects.exists()


def test_closures_are_added_and_removed(org: Organization, client: Client) -> None:
    added = client.post(
        url(org, "deadline_closure_add"),
        {"closure-date": "2026-12-24", "closure-reason": "Winter break"},
    )
    assert added.status_code == 302
    page = client.get(url(org)).content.decode()
    assert "Winter break" in page and 'name="date" value="2026-12-24"' in page
    bad = client.post(url(org, "deadline_closure_add"), {"closure-date": "24/12"})
    assert bad.status_code == 200 and 'id="id_closure-date_error"' in bad.content.decode()
    removed = client.post(url(org, "deadline_closure_remove"), {"date": "2026-12-24"})
    assert removed.status_code == 302
    with tenant_context(org):
        assert not OrganizationClosure.objects.filter(date=date(2026, 12, 24)).exists()
    missing = client.post(url(org, "deadline_closure_remove"), {})
    assert missing.status_code == 200 and "Choose the closed day to remove." in (
        missing.content.decode()
    )
    actions = audit_actions(org)
    assert (
        actions.count("deadlines.closure_added") == actions.count("deadlines.closure_removed") == 1
    )


def test_staff_and_viewers_may_not_open_the_page(org: Organization) -> None:
    for role in (Role.PRIVACY_STAFF, Role.VIEWER, Role.BILLING_CONTACT):
        response = sign_in(Client(), member(org, role)).get(url(org))
        assert response.status_code == 403


def _queries(client: Client, page: str) -> int:
    client.get(page)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page).status_code == 200
    return len(queries)


def test_the_page_query_count_is_exact_and_constant(org: Organization, client: Client) -> None:
    few = _queries(client, url(org))
    with tenant_context(org):
        for day in range(1, 8):
            OrganizationClosure.objects.create(organization=org, date=date(2026, 12, day))
        for n in range(4):
            ContractRule.objects.create(
                organization=org,
                slug=f"dpa-{n}",
                name=f"DPA {n}",
                source="DPA",
                request_types=["delete"],
                respond_amount=7,
                respond_unit="calendar_days",
            )
    # the base cost, then: the selection, the contract rules, the closures, the rules table
    assert _queries(client, url(org)) == few == EXPECTED_INTAKE_QUERIES + 4
