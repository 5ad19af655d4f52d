"""Every role against every organization page and API action (table-driven).

The expectations are written out by hand, not derived from PERMISSION_MATRIX, so that a change
to the matrix must be made twice: once in the data, once here, deliberately.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import resolve, reverse
from django.utils import timezone

from accounts.api_keys import api_key_create
from accounts.models import Invitation, Membership, Organization, User
from accounts.permissions import PERMISSION_MATRIX, Permission, Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from billing.tests import factories as billing_factories
from exports.tests import factories as export_factories
from incidents.tests import factories as incident_factories
from k12cloud.tenancy import tenant_context
from privacy_requests.tests.factories import stored_evidence, stored_request
from sources.tests import factories as sources_factories
from tests.test_url_sweep import url_patterns
from trust.tests import factories as trust_factories
from vendors.tests import factories as vendor_factories

R = Role
ALLOWED: dict[str, set[Role]] = {
    "accounts:dashboard": set(Role),
    "accounts:member_list": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts:member_detail": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts_api:organization_detail": set(Role),
    "accounts_api:membership_list": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts_api:membership_detail": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts:security_settings": {R.ORG_ADMIN},
    # --- MFA (enrolment, verification, recovery codes, policy) ---
    "accounts:mfa_policy": {R.ORG_ADMIN},
    # --- members and invitations ---
    "accounts:invitation_list": {R.ORG_ADMIN},
    "accounts:invitation_create": {R.ORG_ADMIN},
    "accounts:invitation_revoke": {R.ORG_ADMIN},
    "accounts:member_role_change": {R.ORG_ADMIN},
    "accounts:member_deactivate": {R.ORG_ADMIN},
    "accounts:member_reactivate": {R.ORG_ADMIN},
    # --- lockout, IP allowlist, sessions ---
    "accounts:ip_allowlist": {R.ORG_ADMIN},
    "accounts:session_policy": {R.ORG_ADMIN},
    "accounts:member_unlock": {R.ORG_ADMIN},
    # --- API keys and single sign-on ---
    "accounts:api_key_list": {R.ORG_ADMIN},
    "accounts:api_key_revoke": {R.ORG_ADMIN},
    "accounts:sso_connection": {R.ORG_ADMIN},
    # --- audit log ---
    "accounts:audit_event_list": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts:audit_export": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    # --- privacy requests: the triage queue (queue engineer) ---
    "accounts:request_queue": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF, R.VIEWER},
    "accounts:request_bulk_assign": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts:request_bulk_acknowledge": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:request_export": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF, R.VIEWER},
    # --- end of the triage queue ---
    # --- privacy requests: the workflow (intake, request page, actions) ---
    "accounts:request_create": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:request_detail": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF, R.VIEWER},
    "accounts:request_verify": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:request_acknowledge": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:request_assign": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:request_extend": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:request_close": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:request_transition": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:request_duplicate": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:request_message_add": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    # --- end of the workflow ---
    # --- privacy requests: the API (API engineer) ---
    "accounts_api:request_list": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF, R.VIEWER},
    "accounts_api:request_detail": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF, R.VIEWER},
    "accounts_api:request_intake": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:request_acknowledge": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:request_verify": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:request_assign": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:request_extend": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:request_close": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:request_transition": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:request_duplicate": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:request_message_add": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    # --- end of the API ---
    # --- fulfilment (fulfilment engineer) ---
    "accounts:fulfilment": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:fulfilment_package": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:fulfilment_package_download": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:fulfilment_fulfil": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:fulfilment_deletion": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts:fulfilment_correction": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:fulfilment_evidence_add": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:fulfilment_evidence_remove": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:fulfilment_evidence_download": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:request_package_prepare": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:request_package_download": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:request_fulfil": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:request_deletion_plan": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:request_deletion_perform": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts_api:request_correction": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:request_evidence": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:request_evidence_remove": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    # --- end of fulfilment ---
    # --- routing (routing engineer) ---
    "accounts:deadline_rules": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts:deadline_rules_selection": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts:deadline_contract_rule_save": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts:deadline_closure_add": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts:deadline_closure_remove": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts:request_route": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:request_deadlines_review": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts:request_search": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF, R.VIEWER},
    "accounts_api:request_route": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:request_search": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF, R.VIEWER},
    # --- end of routing ---
    # --- notifications (notifications engineer) ---
    "accounts:notification_list": set(Role),
    "accounts:notification_unread": set(Role),
    "accounts:notification_preferences": set(Role),
    "accounts:privacy_contact": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    # --- end of notifications ---
    # --- tracking (deadline-tracking engineer) ---
    "accounts:privacy_metrics": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:privacy_metrics_export": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    # --- end of tracking ---
    # --- billing (billing engineer) ---
    "accounts:billing_overview": {R.ORG_ADMIN, R.BILLING_CONTACT},
    "accounts:billing_invoice_pdf": {R.ORG_ADMIN, R.BILLING_CONTACT},
    "accounts:billing_invoice_stripe_pdf": {R.ORG_ADMIN, R.BILLING_CONTACT},
    "accounts:billing_invoice_attach_po": {R.ORG_ADMIN, R.BILLING_CONTACT},
    "accounts:billing_payment_methods": {R.ORG_ADMIN, R.BILLING_CONTACT},
    "accounts:billing_purchase_orders": {R.ORG_ADMIN, R.BILLING_CONTACT},
    "accounts:billing_purchase_order_document": {R.ORG_ADMIN, R.BILLING_CONTACT},
    "accounts:billing_contacts": {R.ORG_ADMIN, R.BILLING_CONTACT},
    "accounts:billing_contact_edit": {R.ORG_ADMIN, R.BILLING_CONTACT},
    "accounts:billing_contact_remove": {R.ORG_ADMIN, R.BILLING_CONTACT},
    # --- end of billing ---
    # --- retention (retention engineer) ---
    "accounts:retention": {R.ORG_ADMIN},
    # --- end of retention ---
    # --- SIS sources (sources engineer): children's records, never viewers or billing ---
    "accounts:sources": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts:source_detail": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts:source_import_detail": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts:request_sis": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:request_sis_confirm": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:request_sis_deletion": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:source_list": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts_api:source_upload": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts_api:source_import": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts_api:request_sis_search": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:request_sis_confirm": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:request_sis_records": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:request_sis_deletion": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    # --- end of SIS sources ---
    # --- vendors (vendors/) ---
    "accounts:vendor_list": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts:vendor_create": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts:vendor_edit": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts:vendor_policy": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts:request_vendor_tasks": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:vendor_task_skip": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:vendor_file_download": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:vendor_inbox": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts:vendor_receipt": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:vendor_list": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts_api:vendor_detail": {R.ORG_ADMIN, R.PRIVACY_OFFICER},
    "accounts_api:vendor_task_list": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:vendor_task_detail": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:vendor_task_skip": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:vendor_inbox": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:vendor_receipt": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    "accounts_api:vendor_receipt_answer": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF},
    # --- end of vendors ---
    # --- exports (exports/) ---
    "accounts:export_list": {R.ORG_ADMIN},
    "accounts:export_progress": {R.ORG_ADMIN},
    "accounts:export_download": {R.ORG_ADMIN},
    "accounts_api:export_list": {R.ORG_ADMIN},
    "accounts_api:export_detail": {R.ORG_ADMIN},
    "accounts_api:export_download": {R.ORG_ADMIN},
    # --- end of exports ---
    # --- trust center (trust/) ---
    "accounts:trust_dpa": {R.ORG_ADMIN},
    "accounts:trust_dpa_accept": {R.ORG_ADMIN},
    "accounts:trust_dpa_receipt": {R.ORG_ADMIN},
    "accounts:trust_objection": {R.ORG_ADMIN},
    "accounts:trust_banner_dismiss": set(Role),
    # --- end of trust center ---
    # --- incidents (incidents/) ---
    **{
        f"accounts:{name}": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF}
        for name in ("incident_list", "incident_detail", "incident_notice", "incident_letter")
    },
    **{
        f"accounts:{name}": {R.ORG_ADMIN, R.PRIVACY_OFFICER}
        for name in (
            "incident_create",
            "incident_status",
            "incident_regimes",
            "incident_delay",
            "incident_delay_end",
            "incident_notify_districts",
            "incident_acknowledge",
            "incident_recipients",
            "incident_notice_prepare",
            "incident_notice_send",
            "incident_submission",
        )
    },
    **{
        f"accounts_api:{name}": {R.ORG_ADMIN, R.PRIVACY_OFFICER, R.PRIVACY_STAFF}
        for name in ("incident_list", "incident_detail", "incident_districts")
    },
    **{
        f"accounts_api:{name}": {R.ORG_ADMIN, R.PRIVACY_OFFICER}
        for name in (
            "incident_create",
            "incident_status",
            "incident_regimes",
            "incident_notify",
            "incident_acknowledge",
        )
    },
    # --- end of incidents ---
}


def test_every_permission_is_in_the_matrix() -> None:
    assert set(PERMISSION_MATRIX) == set(Permission)


# members' pages and API; the public pages of an organization (/privacy/<slug>/) are not here
ORGANIZATION_ROUTES = ("o/<slug:org_slug>/", "api/v1/orgs/<slug:org_slug>/")


def organization_url_names() -> set[str]:
    return {name for name, route in url_patterns() if route.startswith(ORGANIZATION_ROUTES)}


def test_every_organization_url_has_a_row() -> None:
    names = organization_url_names()
    assert names - set(ALLOWED) == set(), "add these organization URLs to ALLOWED"
    assert set(ALLOWED) - names == set(), "ALLOWED has rows for URLs that no longer exist"


def methods_of(url: str) -> list[str]:
    """The HTTP methods the view behind `url` handles (a DRF route maps methods to actions)."""
    func = resolve(url).func
    actions: dict[str, str] | None = getattr(func, "actions", None)
    if actions is not None:
        return sorted(actions)
    view_class = func.view_class  # type: ignore[attr-defined]
    return [m for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)]


# How to fill each URL keyword for organization `org`; the target is never the acting user.
KWARGS: dict[str, Callable[[Organization], object]] = {
    "org_slug": lambda org: org.slug,
    "membership_id": lambda org: membership_of(member(org, Role.VIEWER), org).pk,
    "invitation_id": lambda org: open_invitation(org).pk,
    "request_id": lambda org: stored_request(org).pk,  # privacy requests (workflow)
    # an evidence file of the request just stored (route order: request_id comes first)
    "evidence_id": lambda org: stored_evidence(org).pk,
    "key_id": lambda org: (
        api_key_create(
            organization=org, user=member(org), name="SIS", role=Role.VIEWER, expires_at=None
        ).key.pk
    ),
    # billing: an invoice with a PDF, a PO with its document, a billing contact
    "invoice_id": lambda org: billing_factories.invoice(org).pk,
    "purchase_order_id": lambda org: billing_factories.purchase_order(org).pk,
    "contact_id": lambda org: billing_factories.billing_contact(org).pk,
    # SIS sources: a source, a refused import, a request's student link
    "source_id": lambda org: sources_factories.data_source(org).pk,
    "import_id": lambda org: sources_factories.refused_import(org).pk,
    "link_id": lambda org: sources_factories.student_link(org).pk,
    # vendors: a vendor, a task, a vendor's file, a task forwarded to `org`
    "vendor_id": lambda org: vendor_factories.a_vendor(org).pk,
    "task_id": lambda org: vendor_factories.a_task(org).pk,
    "file_id": lambda org: vendor_factories.a_file(org).pk,
    "receipt_id": lambda org: vendor_factories.a_receipt(org).pk,
    # exports: a finished export of `org` (its file expired: download answers 410)
    "export_id": lambda org: export_factories.an_export(org).pk,
    # trust center: an acceptance of the DPA by the organization
    "acceptance_id": lambda org: trust_factories.a_dpa_acceptance(org).pk,
    # incidents: an incident, then a leg, a delay and a notice of that same incident
    "incident_id": lambda org: incident_factories.an_incident(org).pk,
    "leg_id": lambda org: incident_factories.a_leg(org).pk,  # type: ignore[attr-defined]
    "delay_id": lambda org: incident_factories.a_delay(org).pk,  # type: ignore[attr-defined]
    "notice_id": lambda org: incident_factories.a_notice(org).pk,  # type: ignore[attr-defined]
}


def open_invitation(org: Organization) -> Invitation:
    with tenant_context(org):
        return Invitation.objects.create(
            organization=org,
            email="invited@example.org",
            role=Role.VIEWER,
            token_hash=Invitation.hash_token("permission-table"),
            expires_at=timezone.now() + Invitation.VALID_FOR,
        )


def membership_of(user: User, org: Organization) -> Membership:
    with tenant_context(org):
        return Membership.objects.get(user=user)


def build(name: str, org: Organization) -> str:
    route = next(route for n, route in url_patterns() if n == name)
    wanted = re.findall(r"<(?:\w+:)?(\w+)>", route)
    return reverse(name, kwargs={key: KWARGS[key](org) for key in wanted})


CASES = [(name, role) for name in sorted(ALLOWED) for role in Role]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "role"), CASES, ids=[f"{n}-{r.value}" for n, r in CASES])
def test_role_against_every_method(name: str, role: Role) -> None:
    """A role without the permission gets 403 for every method (404 where the page says its
    existence is not the role's business: billing); a role with it never gets either.

    POST bodies are empty: an allowed role gets a form error, a redirect or a 400, which is
    enough to show the permission check let it through.
    """
    org = OrganizationFactory(slug="lincoln-usd")
    member(org, Role.ORG_ADMIN, email="other-admin@example.org")  # the last-admin rule aside
    user = member(org, role)
    url = build(name, org)
    client = sign_in(Client(), user)
    allowed = role in ALLOWED[name]
    view_class = getattr(resolve(url).func, "view_class", None)
    refused = 404 if getattr(view_class, "refused_as_not_found", False) else 403
    for method in methods_of(url):
        status = getattr(client, method)(url, content_type="application/json").status_code
        if allowed:
            assert status not in (403, 404), f"{method.upper()} {url} as {role}: {status}"
        else:
            assert status == refused, f"{method.upper()} {url} as {role}: {status}, not {refused}"
