"""Rule changes flag open requests whose dates would change; staff review them."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from audit.models import AuditEvent
from k12cloud.celery import app as celery_app
from k12cloud.tenancy import tenant_context, unscoped_all_tenants
from privacy_requests.models import PrivacyRequest, RequestEvent
from privacy_requests.routing import deadline_snapshots_flag_stale, request_deadlines_review
from privacy_requests.rules import services
from privacy_requests.rules.models import ContractRule, JurisdictionRule, OrganizationRuleSelection
from privacy_requests.services import RequestActionRefused, request_close
from privacy_requests.status import Status
from privacy_requests.tests.factories import received_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

LA = ZoneInfo("America/Los_Angeles")
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=LA)


@pytest.fixture
def org() -> Organization:
    organization = OrganizationFactory.create(
        slug="lincoln-usd", name="Lincoln USD", subdivision="CA"
    )
    with tenant_context(organization):
        OrganizationRuleSelection.objects.bulk_create(
            OrganizationRuleSelection(organization=organization, rule_id=r)
            for r in ("k12cloud-service-level", "ccpa")
        )
    return organization


def dpa(org: Organization, days: int = 7, **changes: object) -> ContractRule:
    with tenant_context(org):
        rule = ContractRule.objects.filter(slug="dpa-deletion").first() or ContractRule(
            slug="dpa-deletion",
            name="DPA deletion",
            source="District DPA §9",
            request_types=["delete"],
            respond_unit="calendar_days",
        )
        rule.respond_amount = days
        for name, value in changes.items():
            setattr(rule, name, value)
        return services.contract_rule_save(organization=org, actor=None, rule=rule)


def flagged(org: Organization) -> set[int]:
    with tenant_context(org):
        return set(
            PrivacyRequest.objects.filter(deadline_snapshot_stale_since__isnull=False).values_list(
                "pk", flat=True
            )
        )


def events(action: str) -> list[AuditEvent]:
    with unscoped_all_tenants(reason="test: reading audit events"):
        return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def fetch(request: PrivacyRequest) -> PrivacyRequest:
    with tenant_context(request.organization_id):
        return PrivacyRequest.objects.get(pk=request.pk)


def test_a_contract_rule_flags_open_requests_it_governs_only(org: Organization) -> None:
    deletes = [received_request(org, request_type="delete", received_at=MONDAY) for _ in range(3)]
    access = received_request(org, request_type="access", received_at=MONDAY)
    closed = received_request(org, request_type="delete", received_at=MONDAY)
    with tenant_context(org):
        request_close(request=closed, actor=None, outcome="denied", reason="Not a parent.")
    dpa(org)
    assert flagged(org) == {r.pk for r in deletes}
    [event] = events("requests.deadlines_flagged")
    assert event.organization_id == org.pk
    assert event.changes == {"requests_flagged": 3, "cause": "contract_rule"}
    # the dates did not move on their own
    assert fetch(deletes[0]).respond_by == date(2026, 4, 16)
    assert fetch(access).deadline_snapshot_stale_since is None


def test_flagging_is_set_based_and_idempotent(org: Organization) -> None:
    ids = [received_request(org, request_type="delete", received_at=MONDAY).pk for _ in range(8)]
    dpa(org)

    def measure(already_flagged: list[int]) -> tuple[int, int]:
        with tenant_context(org):
            PrivacyRequest.objects.update(deadline_snapshot_stale_since=None)
            PrivacyRequest.objects.filter(pk__in=already_flagged).update(
                deadline_snapshot_stale_since=timezone.now()
            )
        with tenant_context(org), CaptureQueriesContext(connection) as queries:
            flagged_now = deadline_snapshots_flag_stale(organization=org, cause="test")
        return flagged_now, len(queries)

    few, many = measure(ids[:6]), measure([])
    assert few[0] == 2 and many[0] == 8
    assert few[1] == many[1]  # one UPDATE for every request of a (type, versions) pair
    with tenant_context(org):
        assert deadline_snapshots_flag_stale(organization=org, cause="again") == 0


def test_rule_selection_changes_flag_and_closures_do_not(org: Organization) -> None:
    request = received_request(org, request_type="access", received_at=MONDAY)
    with tenant_context(org):
        services.organization_closure_add(organization=org, actor=None, day=date(2026, 3, 3))
    assert flagged(org) == set()  # closures never move a statutory date
    with tenant_context(org):
        services.organization_rule_selection_set(
            organization=org, actor=None, rule_ids=["k12cloud-service-level", "ccpa", "gdpr"]
        )
    assert flagged(org) == {request.pk}
    assert events("requests.deadlines_flagged")[-1].changes["cause"] == "rule_selection"


def test_a_jurisdiction_rule_edit_flags_every_organization_through_tasks(
    org: Organization, django_capture_on_commit_callbacks
) -> None:
    other = OrganizationFactory.create(slug="hudson-csd", time_zone="America/New_York")
    ours = received_request(org, request_type="access", received_at=MONDAY)
    theirs = received_request(other, request_type="access", received_at=MONDAY)
    row = JurisdictionRule.objects.get(rule_id="ccpa", request_types__contains=["access"])
    row.respond_amount = 30
    # run the per-organization tasks in this process, in this test's transaction
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            services.jurisdiction_rule_save(actor=None, rule=row)
    finally:
        celery_app.conf.task_always_eager = eager
    assert len(callbacks) == 1
    # lincoln-usd uses ccpa; hudson-csd (New York) does not
    assert flagged(org) == {ours.pk}
    assert flagged(other) == set()
    assert fetch(theirs).deadline_snapshot_stale_since is None
    [event] = events("requests.deadlines_flagged")
    assert event.changes["cause"] == "jurisdiction_rule:ccpa"


def test_applying_the_recomputed_dates(org: Organization) -> None:
    request = received_request(org, request_type="delete", received_at=MONDAY)
    dpa(org)
    officer = member(org, Role.PRIVACY_OFFICER)
    with tenant_context(org):
        request_deadlines_review(request=request, actor=officer, decision="apply")
    stored = fetch(request)
    assert stored.deadline_snapshot_stale_since is None
    assert stored.respond_by == date(2026, 3, 9)  # 7 calendar days: the DPA binds
    assert stored.deadlines["binding_rule"] == "contract:dpa-deletion"
    assert stored.acknowledge_by is not None and stored.respond_by is not None
    assert stored.next_due_on == min(stored.acknowledge_by, stored.respond_by)
    [event] = events("requests.deadlines_reviewed")
    assert event.changes["decision"] == "apply"
    assert event.changes["changed"] == ["respond_by"]
    assert event.changes["respond_by"] == "2026-03-09"
    with tenant_context(org):
        assert RequestEvent.objects.filter(request=request, kind="deadlines_reviewed").exists()
        with pytest.raises(RequestActionRefused) as again:
            request_deadlines_review(request=request, actor=officer, decision="apply")
    assert again.value.code == "not_flagged"


def test_keeping_the_dates_is_not_flagged_again_for_the_same_change(org: Organization) -> None:
    request = received_request(org, request_type="delete", received_at=MONDAY)
    dpa(org)
    with tenant_context(org):
        request_deadlines_review(request=request, actor=None, decision="keep")
    kept = fetch(request)
    assert kept.deadline_snapshot_stale_since is None
    assert kept.respond_by == date(2026, 4, 16)  # unchanged
    assert events("requests.deadlines_reviewed")[0].changes["decision"] == "keep"
    with tenant_context(org):
        services.organization_closure_add(organization=org, actor=None, day=date(2026, 3, 4))
    assert flagged(org) == set()  # nothing new
    dpa(org, days=5)  # a new version of the contract rule: flagged again
    assert flagged(org) == {request.pk}


def test_a_bad_decision_is_refused(org: Organization) -> None:
    request = received_request(org, request_type="delete", received_at=MONDAY)
    dpa(org)
    with tenant_context(org), pytest.raises(RequestActionRefused) as refused:
        request_deadlines_review(request=request, actor=None, decision="maybe")
    assert refused.value.code == "decision"
    assert fetch(request).deadline_snapshot_stale_since is not None


def detail(org: Organization, request: PrivacyRequest, name: str = "request_detail") -> str:
    return reverse(f"accounts:{name}", kwargs={"org_slug": org.slug, "request_id": request.pk})


def test_the_request_page_and_queue_show_flagged_dates(org: Organization) -> None:
    request = received_request(org, request_type="delete", received_at=MONDAY)
    dpa(org)
    officer = sign_in(Client(), member(org, Role.PRIVACY_OFFICER))
    staff = sign_in(Client(), member(org, Role.PRIVACY_STAFF))
    html = officer.get(detail(org, request)).content.decode()
    assert "Deadlines to review" in html and "DPA deletion" in html  # by name, not its id
    assert "contract:dpa-deletion" not in html
    assert "April 16, 2026" in html and "March 9, 2026" in html  # stored and recomputed
    assert "Apply the recomputed dates" in html
    staff_html = staff.get(detail(org, request)).content.decode()
    assert "Deadlines to review" in staff_html
    assert "Apply the recomputed dates" not in staff_html  # officers and admins decide
    queue = staff.get(reverse("accounts:request_queue", kwargs={"org_slug": org.slug}))
    assert "dates to review" in queue.content.decode()

    review = detail(org, request, "request_deadlines_review")
    assert staff.post(review, {"review-decision": "apply"}).status_code == 403
    bad = officer.post(review, {"review-decision": "later"})
    assert bad.status_code == 200 and 'role="alert"' in bad.content.decode()
    assert fetch(request).deadline_snapshot_stale_since is not None
    assert officer.post(review, {"review-decision": "apply"}).status_code == 302
    assert fetch(request).respond_by == date(2026, 3, 9)
    after = officer.get(detail(org, request)).content.decode()
    assert "Deadlines to review" not in after


def _page_queries(client: Client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_a_flagged_request_page_has_an_exact_query_count(org: Organization) -> None:
    from privacy_requests.tests.test_request_views import EXPECTED_DETAIL_QUERIES

    request = received_request(org, request_type="delete", received_at=MONDAY)
    dpa(org)
    staff = sign_in(Client(), member(org, Role.PRIVACY_STAFF))
    # the review: the rules table, the selection and contract rules (twice: the staleness
    # check and the recomputation), and the contract rules' names once (a contract rule is
    # among the changed rules: named, never shown as its id)
    assert _page_queries(staff, detail(org, request)) == EXPECTED_DETAIL_QUERIES + 6
    with tenant_context(org):
        PrivacyRequest.objects.filter(pk=request.pk).update(
            closed_at=timezone.now(), status=Status.WITHDRAWN
        )
    assert _page_queries(staff, detail(org, request)) == EXPECTED_DETAIL_QUERIES
