"""The organization dashboard per role (k12cloud.dashboard panels): each panel's figures, their
links to exactly what they count, what a viewer never sees, and exact query counts that do not
grow with the number of requests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa.models import WebAuthnCredential
from accounts.models import ApiKey, Invitation, Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from billing.models import Subscription
from billing.tests.factories import annual_plan, invoice, purchase_order
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest, RequestMessage
from privacy_requests.queue.selectors import organization_today
from privacy_requests.tests.factories import stored_request
from retention.models import LegalHold

pytestmark = pytest.mark.django_db

REPLY = "Here is the birth certificate you asked for, thank you"


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


def seed_requests(org: Organization, staff: User, n: int) -> None:
    """`n` groups of four open requests and one closed, with a reply from each requester:
    overdue+unassigned+unverified, due this week and assigned to `staff` (verified), due in a
    month (in progress, verified), no deadline yet; one fulfilled."""
    today = organization_today(org)
    now = timezone.now()
    for i in range(n):
        rows = [
            stored_request(org, next_due_on=today - timedelta(days=3), status="received"),
            stored_request(
                org,
                next_due_on=today + timedelta(days=2),
                status="verified",
                verified_at=now,
                assignee=staff,
            ),
            stored_request(
                org,
                next_due_on=today + timedelta(days=30),
                status="in_progress",
                verified_at=now,
                requester_name=f"Rosa Requester {i}",
            ),
            stored_request(org, status="awaiting_verification"),
            stored_request(org, status="fulfilled", closed_at=now, outcome="fulfilled"),
        ]
        with tenant_context(org):
            for row in rows[:3]:
                RequestMessage.objects.create(
                    organization=org, request=row, direction="from_requester", body=REPLY
                )


def client_for(org: Organization, role: Role, **fields: Any) -> tuple[Client, User]:
    user = member(org, role, **fields)
    return sign_in(Client(), user), user


def dashboard(client: Client, org: Organization) -> Any:
    response = client.get(reverse("accounts:dashboard", kwargs={"org_slug": org.slug}))
    assert response.status_code == 200
    return response


def panels(response: Any) -> dict[str, Any]:
    return {panel.key: panel for panel in response.context["panels"]}


# --- privacy officer and staff ----------------------------------------------------------------


def test_staff_see_the_figures_and_each_links_to_exactly_what_it_counts(org: Organization) -> None:
    client, staff = client_for(org, Role.PRIVACY_STAFF)
    seed_requests(org, staff, 2)
    response = dashboard(client, org)
    panel = panels(response)["requests"]
    figures = {f.key: f for f in panel.context["figures"]}
    assert {k: f.count for k, f in figures.items()} == {
        "open": 8,
        "due_this_week": 2,
        "overdue": 2,
        "unassigned": 6,
        "unverified": 4,
        "mine": 2,
    }
    by_status = {f.key: f.count for f in panel.context["by_status"]}
    assert by_status["status:received"] == 2 and by_status["status:verified"] == 2
    assert by_status["status:in_progress"] == 2 and by_status["status:awaiting_verification"] == 2
    assert sum(by_status.values()) == 8
    # every figure's link lists exactly the requests it counts
    for f in [*figures.values(), *panel.context["by_status"]]:
        queue = client.get(f.url)
        assert queue.status_code == 200, f.url
        assert not queue.context["form"].errors, (f.url, queue.context["form"].errors)
        assert len(queue.context["rows"]) == f.count, f.url
    body = response.content.decode()
    assert "will appear here" not in body
    # my assigned requests, and the latest replies with the requester's words
    assert [r.badge.kind for r in panel.context["mine"]] == ["soon", "soon"]
    assert len(panel.context["replies"]) == 5
    assert REPLY[:40] in body and "Rosa Requester 1" in body


def test_queue_filters_due_this_week_and_unverified(org: Organization) -> None:
    client, _officer = client_for(org, Role.PRIVACY_OFFICER)
    today = organization_today(org)
    week = [stored_request(org, next_due_on=today + timedelta(days=d)) for d in (0, 6)]
    stored_request(org, next_due_on=today + timedelta(days=7))
    stored_request(org, next_due_on=today - timedelta(days=1))
    url = reverse("accounts:request_queue", kwargs={"org_slug": org.slug})
    shown = client.get(url, {"due_this_week": "on"}).context["rows"]
    assert sorted(r.request.pk for r in shown) == sorted(r.pk for r in week)
    with tenant_context(org):
        PrivacyRequest.objects.filter(pk=week[0].pk).update(verified_at=timezone.now())
    shown = client.get(url, {"unverified": "on"}).context["rows"]
    assert len(shown) == 3 and week[0].pk not in {r.request.pk for r in shown}


# --- viewer -----------------------------------------------------------------------------------


def test_a_viewer_sees_counts_and_deadlines_and_no_person(org: Organization) -> None:
    client, _viewer = client_for(org, Role.VIEWER)
    staff = member(org, Role.PRIVACY_STAFF)
    seed_requests(org, staff, 1)
    response = dashboard(client, org)
    panel = panels(response)["requests"]
    assert set(panels(response)) == {"requests"}
    assert {f.key: f.count for f in panel.context["figures"]}["open"] == 4
    assert "mine" not in {f.key for f in panel.context["figures"]}
    assert len(panel.context["next_due"]) == 4 and "replies" not in panel.context
    body = response.content.decode()
    assert "Rosa Requester" not in body and "Stored Requester" not in body
    assert REPLY[:20] not in body and "rosa" not in body.lower()


# --- organization admin -----------------------------------------------------------------------


def test_the_admin_sees_the_compliance_posture(org: Organization) -> None:
    org.mfa_require_passkey_for_admins = True
    org.ip_allowlist = ["203.0.113.0/24", "127.0.0.0/8"]  # incl. the test client
    org.save()
    client, admin = client_for(org, Role.ORG_ADMIN)
    passkey = WebAuthnCredential.objects.create(
        user=admin, name="Key", credential_id="k1", public_key=b"pk", user_handle="h1"
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = passkey.persistent_id  # signed in with the passkey
    session.save()
    officer = member(org, Role.PRIVACY_OFFICER)
    TOTPDevice.objects.create(user=officer, name="Authenticator app")  # code only
    member(org, Role.PRIVACY_STAFF)  # required, none
    member(org, Role.VIEWER)  # not required, none
    now = timezone.now()
    with tenant_context(org):
        for n, expires in enumerate((now + timedelta(days=3), now - timedelta(days=1))):
            Invitation.objects.create(
                organization=org,
                email=f"new{n}@lincoln.example",
                role=Role.VIEWER,
                token_hash=f"{n}" * 64,
                expires_at=expires,
            )
        key_expiries: list[datetime | None] = [now + timedelta(days=10), now + timedelta(days=90)]
        for n, key_expiry in enumerate([*key_expiries, None]):
            ApiKey.objects.create(
                organization=org,
                name=f"SIS {n}",
                role=Role.VIEWER,
                prefix=f"pfx{n}",
                secret_hash="0" * 64,
                expires_at=key_expiry,
            )
        LegalHold.objects.create(
            organization=org,
            scope=LegalHold.Scope.CATEGORY,
            category="notifications",
            reason="Audit",
            ends_on=timezone.localdate() + timedelta(days=30),
        )
    stored_request(org, next_due_on=organization_today(org) - timedelta(days=1))
    response = dashboard(client, org)
    shown = panels(response)
    assert list(shown) == ["posture", "requests", "retention", "billing"]
    p = shown["posture"].context["posture"]
    assert (p.members, p.without_mfa, p.without_mfa_required) == (4, 2, 1)
    assert p.totp_only_needing_passkey == 1  # the officer: the admin has a passkey
    assert (p.invitations_pending, p.invitations_expired) == (1, 1)
    assert (p.api_keys_active, p.api_keys_expiring) == (3, 1)
    body = response.content.decode()
    assert "On: 2 allowed networks, for: Organization admins only" in body
    assert "2 members have no second factor" in body and "1 of them is required" in body
    assert "1 expires within 30 days" in body
    retention = shown["retention"].context
    assert retention["holds_active"] == 1 and not retention["held_entirely"]
    assert retention["next_sweep_at"] > timezone.now()
    assert "Running, with 1 active legal hold" in body
    assert {f.key: f.count for f in shown["requests"].context["figures"]}["overdue"] == 1


# --- billing contact --------------------------------------------------------------------------


def test_the_billing_contact_sees_invoices_purchase_orders_and_renewal(org: Organization) -> None:
    client, _contact = client_for(org, Role.BILLING_CONTACT)
    now = timezone.now()
    with tenant_context(org):
        Subscription.objects.create(
            organization=org,
            stripe_subscription_id="sub_dash",
            plan=annual_plan(),
            status="active",
            current_period_start=now - timedelta(days=100),
            current_period_end=now + timedelta(days=265),
            created=now - timedelta(days=100),
            stripe_updated=now,
        )
    invoice(org, created=now - timedelta(days=40), amount_remaining=30000)  # overdue by 10 days
    invoice(org, created=now - timedelta(days=5), po_number="PO-1")  # due in 25 days
    invoice(org, status="paid", amount_remaining=0)
    purchase_order(org, document=False)
    response = dashboard(client, org)
    shown = panels(response)
    assert list(shown) == ["billing"]
    figures = shown["billing"].context["invoices"]
    assert (figures["due"], figures["overdue"], figures["due_amount"]) == (2, 1, 80000)
    assert figures["overdue_amount"] == 30000 and figures["without_po"] == 1
    po = shown["billing"].context["purchase_orders"]
    assert (po["total"], po["valid"], po["without_document"]) == (1, 1, 1)
    body = response.content.decode()
    assert "District plan" in body and "renews on" in body
    assert "1 overdue invoice" in body and "300.00 USD" in body
    assert "2 unpaid invoices" in body and "800.00 USD" in body


# --- exact query counts, constant in the number of requests ----------------------------------

# The base page: session, user, second factor; savepoint+set_config (user context); the
# memberships; savepoint+set_config (tenant context); release, twice, and the user context's
# clearing of the settings in the test's transaction (see test_views.DASHBOARD_QUERIES): 9.
# Then per role (the incidents panel, 1, for the roles that may view incidents):
QUERIES = {
    # members by role; posture (members' factors, invitations, API keys); requests (one
    # aggregate); retention (holds, periods); billing (subscription, invoices); incidents
    Role.ORG_ADMIN: 9 + 1 + 3 + 1 + 2 + 2 + 1,
    # members by role; requests (aggregate, my list, replies, data keys); incidents
    Role.PRIVACY_OFFICER: 9 + 1 + 4 + 1,
    # requests (aggregate, my list, replies, data keys); incidents
    Role.PRIVACY_STAFF: 9 + 4 + 1,
    # requests (aggregate, next deadlines)
    Role.VIEWER: 9 + 2,
    # billing (subscription, invoices, purchase orders)
    Role.BILLING_CONTACT: 9 + 3,
}


@pytest.mark.parametrize("groups", [1, 12])
@pytest.mark.parametrize("role", list(QUERIES))
def test_dashboard_query_count_per_role(
    org: Organization, role: Role, groups: int, django_assert_num_queries
) -> None:
    client, user = client_for(org, role)
    staff = user if role in (Role.PRIVACY_STAFF, Role.PRIVACY_OFFICER) else member(org)
    seed_requests(org, staff, groups)
    for _ in range(groups):
        invoice(org)
    with django_assert_num_queries(QUERIES[role]):
        response = dashboard(client, org)
    assert response.context["panels"]


def test_members_without_a_second_factor_are_counted_when_no_one_is_required(
    org: Organization,
) -> None:
    org.mfa_policy = Organization.MfaPolicy.NOBODY
    org.save()
    client, _admin = client_for(org, Role.ORG_ADMIN)
    member(org, Role.VIEWER)
    p = panels(dashboard(client, org))["posture"].context["posture"]
    assert (p.members, p.without_mfa, p.without_mfa_required) == (2, 1, 0)
