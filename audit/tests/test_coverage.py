"""Each security-relevant act writes exactly one audit event of its action (table-driven).

A row names a scenario, a `prepare` that sets the scene and returns the act, and the action the
act must record once. The act goes through the real code path, over HTTP with the test client
wherever a person does it. Later issues add their rows here: privacy-request transitions,
exports, retention runs, billing changes, key operations (see the marked places).

`test_every_action_is_classified` makes each new Action either a row here or an entry in
NOT_COVERED_HERE with its reason.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.api_keys import api_key_create
from accounts.mfa.services import recovery_codes_generate
from accounts.models import Invitation, Membership, Organization, User
from accounts.permissions import Role
from accounts.services.members import invitation_create
from accounts.tests.factories import TEST_PASSWORD, OrganizationFactory, member, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.encryption.envelope import seal
from k12cloud.encryption.master_keys import DEVELOPMENT_MASTER_KEYS
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 15, 0, 10, tzinfo=UTC)  # 10 s into a 30 s TOTP step
WRONG_PASSWORD = "wrong-password-123"
NEW_PASSWORD = "violet-lantern-orbit-42"
Act = Callable[[], object]


@dataclass
class Scene:
    org: Organization
    admin: User
    admin_client: Client
    clock: Any  # time_machine's traveller: shift() moves the frozen clock

    def url(self, name: str, **kwargs: object) -> str:
        return reverse(f"accounts:{name}", kwargs={"org_slug": self.org.slug, **kwargs})

    def person(self, role: Role = Role.VIEWER, org: Organization | None = None) -> User:
        """A member who can sign in with a password (allauth wants a verified address)."""
        user = member(org or self.org, role)
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        return user

    def membership(self, user: User) -> Membership:
        with tenant_context(self.org):
            return Membership.objects.get(user=user)


# --- helpers shared by rows -------------------------------------------------------------------


def sign_in_form(client: Client, user: User, password: str = TEST_PASSWORD) -> object:
    return client.post(reverse("account_login"), {"login": user.email, "password": password})


def password_only(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def totp_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def reauthenticated(user: User) -> Client:
    client = sign_in(Client(), user)
    response = client.post(reverse("account_reauthenticate"), {"password": TEST_PASSWORD})
    assert response.status_code == 302
    return client


def lock(user: User, failures: int) -> None:
    client = Client()
    for _ in range(failures):
        sign_in_form(client, user, WRONG_PASSWORD)


# --- the rows: prepare(scene) -> act ----------------------------------------------------------


def sign_in_success(s: Scene) -> Act:
    user, client = s.person(), Client()
    return lambda: sign_in_form(client, user)


def sign_in_failure(s: Scene) -> Act:
    user, client = s.person(), Client()
    return lambda: sign_in_form(client, user, WRONG_PASSWORD)


def lockout(s: Scene) -> Act:
    user = s.person()
    lock(user, 4)
    return lambda: lock(user, 1)  # the fifth failure locks


def unlock(s: Scene) -> Act:
    user = s.person()
    lock(user, 5)
    url = s.url("member_unlock", membership_id=s.membership(user).pk)
    return lambda: s.admin_client.post(url)


def sign_out(s: Scene) -> Act:
    client = sign_in(Client(), s.person())
    return lambda: client.post(reverse("account_logout"))


def session_expired(s: Scene) -> Act:
    client = sign_in(Client(), s.person())

    def act() -> None:
        s.clock.shift(timedelta(hours=1))  # past the 30 minutes idle limit
        client.get(s.url("dashboard"))

    return act


def sessions_revoked(s: Scene) -> Act:
    user = s.person()
    here, _elsewhere = sign_in(Client(), user), sign_in(Client(), user)
    return lambda: here.post(reverse("session_revoke_others"))


def password_changed(s: Scene) -> Act:
    client = sign_in(Client(), s.person())
    data = {"oldpassword": TEST_PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    return lambda: client.post(reverse("account_change_password"), data)


def password_reset(s: Scene) -> Act:
    user, client = s.person(), Client()
    client.post(reverse("account_reset_password"), {"email": user.email})
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", mail.outbox[-1].body)
    assert link is not None
    set_password_url = client.get(link.group(1))["Location"]
    data = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    return lambda: client.post(set_password_url, data)


def mfa_enrolment(s: Scene) -> Act:
    user = member(s.org, Role.ORG_ADMIN)  # the policy makes admins enrol
    client = password_only(user)
    client.get(reverse("mfa_enrol"))
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    return lambda: client.post(reverse("mfa_enrol"), {"code": totp_code(device)})


def mfa_verification_failure(s: Scene) -> Act:
    user = s.person(Role.ORG_ADMIN)
    device = TOTPDevice.objects.create(user=user, name="Authenticator app")
    client = password_only(user)
    wrong = "000000" if totp_code(device) != "000000" else "111111"
    return lambda: client.post(reverse("mfa_verify"), {"code": wrong})


def recovery_code_used(s: Scene) -> Act:
    user = s.person(Role.ORG_ADMIN)
    TOTPDevice.objects.create(user=user, name="Authenticator app")
    codes = recovery_codes_generate(user=user)
    client = password_only(user)
    return lambda: client.post(reverse("mfa_verify"), {"code": codes[0]})


def recovery_codes_regenerated(s: Scene) -> Act:
    client = reauthenticated(s.person(Role.ORG_ADMIN))
    return lambda: client.post(reverse("mfa_recovery_codes"))


def mfa_removal(s: Scene) -> Act:
    relaxed = OrganizationFactory(mfa_policy=Organization.MfaPolicy.NOBODY)
    client = reauthenticated(s.person(Role.VIEWER, org=relaxed))
    return lambda: client.post(reverse("mfa_disable"))


# --- passkeys (accounts.mfa.passkeys): a software authenticator signs for real ---


def _passkey_settings() -> Any:
    return override_settings(WEBAUTHN_RP_ID="testserver", WEBAUTHN_ORIGINS=["http://testserver"])


def _with_passkey(s: Scene, user: User) -> Any:
    from accounts.tests.passkey_authenticator import SoftAuthenticator

    key = SoftAuthenticator(rp_id="testserver", origin="http://testserver")
    client = reauthenticated(user)
    with _passkey_settings():
        options = client.post(reverse("mfa_passkey_register_options")).json()
        data = {"name": "YubiKey", "credential": key.create(options)}
        assert client.post(reverse("mfa_passkey_register"), data).status_code == 200
    return key


def _passkey_post(client: Client, name: str, data: dict[str, str]) -> Act:
    def act() -> None:
        with _passkey_settings():
            client.post(reverse(name), data)

    return act


def passkey_registered(s: Scene) -> Act:
    from accounts.tests.passkey_authenticator import SoftAuthenticator

    client = reauthenticated(s.person(Role.ORG_ADMIN))
    key = SoftAuthenticator(rp_id="testserver", origin="http://testserver")
    with _passkey_settings():
        options = client.post(reverse("mfa_passkey_register_options")).json()
    data = {"name": "Work laptop", "credential": key.create(options)}
    return _passkey_post(client, "mfa_passkey_register", data)


def passkey_removed(s: Scene) -> Act:
    from accounts.mfa.models import WebAuthnCredential

    user = s.person(Role.VIEWER)
    _with_passkey(s, user)
    client = reauthenticated(user)
    passkey = WebAuthnCredential.objects.get(user=user)
    url = reverse("mfa_passkey_remove", kwargs={"passkey_id": passkey.pk})
    return lambda: client.post(url)


def _assertion(s: Scene, *, counter: int, origin: str | None = None) -> Act:
    user = s.person(Role.ORG_ADMIN)
    key = _with_passkey(s, user)
    key.counter = 5
    client = password_only(user)
    with _passkey_settings():
        options = client.post(reverse("mfa_passkey_verify_options")).json()
    data = {"credential": key.get(options, counter=counter, origin=origin)}
    return _passkey_post(client, "mfa_passkey_verify", data)


def passkey_clone_suspected(s: Scene) -> Act:
    from accounts.mfa.models import WebAuthnCredential

    act = _assertion(s, counter=3)
    WebAuthnCredential.objects.update(sign_count=5)  # it signed 5 times; this copy says 3
    return act


def passkey_verification_failure(s: Scene) -> Act:
    return _assertion(s, counter=1, origin="https://lincoln-usd.example")


def passkey_policy_change(s: Scene) -> Act:
    data = {"mfa_policy": "privileged", "mfa_require_passkey_for_admins": "on"}
    return lambda: s.admin_client.post(s.url("mfa_policy"), data)


def role_change(s: Scene) -> Act:
    url = s.url("member_role_change", membership_id=s.membership(s.person()).pk)
    return lambda: s.admin_client.post(url, {"role": "privacy_officer"})


def invitation_sent(s: Scene) -> Act:
    data = {"email": "new.person@example.org", "role": "viewer"}
    return lambda: s.admin_client.post(s.url("invitation_create"), data)


def _invitation(s: Scene) -> tuple[Invitation, str]:
    tokens: list[str] = []
    with tenant_context(s.org):
        invitation = invitation_create(
            organization=s.org,
            actor=s.admin,
            email="nia@example.org",
            role=Role.VIEWER,
            accept_url_for=lambda token: tokens.append(token) or token,  # type: ignore[func-returns-value]
        )
    return invitation, reverse("invitation_accept", kwargs={"token": tokens[0]})


def invitation_accepted(s: Scene) -> Act:
    _, link = _invitation(s)
    data = {"full_name": "Nia Newcomer", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    return lambda: Client().post(link, data)


def invitation_revoked(s: Scene) -> Act:
    invitation, _ = _invitation(s)
    url = s.url("invitation_revoke", invitation_id=invitation.pk)
    return lambda: s.admin_client.post(url)


def deactivation(s: Scene) -> Act:
    url = s.url("member_deactivate", membership_id=s.membership(s.person()).pk)
    return lambda: s.admin_client.post(url)


def reactivation(s: Scene) -> Act:
    target = s.membership(s.person())
    with tenant_context(s.org):
        Membership.objects.filter(pk=target.pk).update(is_active=False)
    url = s.url("member_reactivate", membership_id=target.pk)
    return lambda: s.admin_client.post(url)


def allowlist_change(s: Scene) -> Act:
    data = {"networks": "127.0.0.0/8", "scope": "admins"}
    return lambda: s.admin_client.post(s.url("ip_allowlist"), data)


def access_refused_by_ip(s: Scene) -> Act:
    Organization.objects.filter(pk=s.org.pk).update(ip_allowlist=["203.0.113.0/24"])
    return lambda: s.admin_client.get(s.url("dashboard"))


def session_policy_change(s: Scene) -> Act:
    data = {"idle_minutes": "15", "absolute_hours": "12"}
    return lambda: s.admin_client.post(s.url("session_policy"), data)


def privacy_contact_change(s: Scene) -> Act:
    data = {"email": "privacy@lincolnusd.org"}
    return lambda: s.admin_client.post(s.url("privacy_contact"), data)


def mfa_policy_change(s: Scene) -> Act:
    return lambda: s.admin_client.post(s.url("mfa_policy"), {"mfa_policy": "everyone"})


def sso_connection_change(s: Scene) -> Act:
    data = {
        "provider": "google",
        "allowed_domain": "lincolnusd.org",
        "client_id": "lincoln-client-id",
        "client_secret": "lincoln-client-secret",
        "enabled": "on",
    }
    return lambda: s.admin_client.post(s.url("sso_connection"), data)


def api_key_created(s: Scene) -> Act:
    data = {"name": "SIS sync", "role": "viewer", "expires_in": "90"}
    return lambda: s.admin_client.post(s.url("api_key_list"), data)


def api_key_revoked(s: Scene) -> Act:
    created = api_key_create(
        organization=s.org, user=s.admin, name="SIS", role=Role.VIEWER, expires_at=None
    )
    url = s.url("api_key_revoke", key_id=created.key.pk)
    return lambda: s.admin_client.post(url)


def audit_export(s: Scene) -> Act:
    return lambda: s.admin_client.post(s.url("audit_export"), {"format": "csv"})


def request_register_export(s: Scene) -> Act:
    def act() -> bytes:
        response = s.admin_client.post(s.url("request_export"))
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]

    return act


# --- privacy requests (workflow engineer) ---


def _privacy_request(s: Scene, *, verified: bool = False, working: bool = False) -> Any:
    """A request of the scene's organization under CCPA (which allows an extension)."""
    import importlib

    from django.apps import apps

    from privacy_requests.rules.models import JurisdictionRule, OrganizationRuleSelection
    from privacy_requests.services import request_transition, request_verify
    from privacy_requests.tests.factories import received_request

    if not JurisdictionRule.objects.exists():  # flushed by a transactional test elsewhere
        importlib.import_module("privacy_requests.migrations.0003_load_reference_rules").load(
            apps, None
        )
    with tenant_context(s.org):
        OrganizationRuleSelection.objects.get_or_create(organization=s.org, rule_id="ccpa")
    request = received_request(s.org, actor=s.admin)
    with tenant_context(s.org):
        if verified or working:
            request = request_verify(request=request, actor=s.admin, method="records_match")
        if working:
            request = request_transition(request=request, to_status="in_progress", actor=s.admin)
    return request


def _request_post(s: Scene, name: str, data: dict[str, str], **fixture: bool) -> Act:
    request = _privacy_request(s, **fixture)
    url = s.url(name, request_id=request.pk)
    return lambda: s.admin_client.post(url, data)


def request_received(s: Scene) -> Act:
    _privacy_request(s)  # rules loaded and selected
    data = {
        "channel": "phone",
        "request_type": "access",
        "requester_name": "Rosa Parent",
        "relationship": "parent",
    }
    return lambda: s.admin_client.post(s.url("request_create"), data)


def request_email_confirmed(s: Scene) -> Act:
    from privacy_requests.services import request_confirm_email

    request = _privacy_request(s)

    def act() -> None:
        with tenant_context(s.org):
            request_confirm_email(request=request)

    return act


def request_status_changed(s: Scene) -> Act:
    data = {"status-to_status": "in_progress"}
    return _request_post(s, "request_transition", data, verified=True)


def request_verified(s: Scene) -> Act:
    data = {"verify-method": "in_person_id", "verify-evidence": "Licence seen."}
    return _request_post(s, "request_verify", data)


def request_acknowledged(s: Scene) -> Act:
    return _request_post(s, "request_acknowledge", {"acknowledge-message": "Received."})


def request_assigned(s: Scene) -> Act:
    return _request_post(s, "request_assign", {"assign-assignee": str(s.admin.pk)})


def request_extended(s: Scene) -> Act:
    data = {"extend-reason": "Records are archived."}
    return _request_post(s, "request_extend", data, working=True)


def request_closed(s: Scene) -> Act:
    data = {"close-outcome": "denied", "close-reason": "Not our student."}
    return _request_post(s, "request_close", data)


def request_message_added(s: Scene) -> Act:
    data = {"message-direction": "internal", "message-body": "Call back on Monday."}
    return _request_post(s, "request_message_add", data)


# --- the requester portal (portal engineer) ---


def request_portal_link_sent(s: Scene) -> Act:
    import secrets

    request = _privacy_request(s)
    # a fresh address: the rate limit's counters live in Redis, beyond the test's transaction
    requester = Client(REMOTE_ADDR=f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.8")
    data = {"email": "rosa.parent@example.org", "reference": request.reference}
    return lambda: requester.post(f"/privacy/{s.org.slug}/status/", data)


def request_portal_opened(s: Scene) -> Act:
    from privacy_requests.intake.services import requester_token_issue
    from privacy_requests.models import RequesterToken

    request = _privacy_request(s)
    with tenant_context(s.org):
        token = requester_token_issue(request=request, purpose=RequesterToken.Purpose.PORTAL)
    return lambda: Client().post(f"/privacy/{s.org.slug}/portal/{token}/")


def _with_data_key(s: Scene) -> None:
    with tenant_context(s.org):
        seal(s.org.pk, "coverage.test", "a value that needs the organization's key")


def key_created(s: Scene) -> Act:
    # the organization's first encrypted value creates its data key
    return lambda: _with_data_key(s)


def key_rotated(s: Scene) -> Act:
    _with_data_key(s)
    return lambda: call_command(
        "encryption_keys", "rotate", "--organization", s.org.slug, stdout=io.StringIO()
    )


def master_key_rotated(s: Scene) -> Act:
    _with_data_key(s)
    new_master = "m2:" + base64.b64encode(b"n" * 32).decode()

    def act() -> None:
        keys_in_use = f"{new_master},{DEVELOPMENT_MASTER_KEYS}"
        with override_settings(ENCRYPTION_MASTER_KEYS=keys_in_use):
            call_command("encryption_keys", "rotate-master", stdout=io.StringIO())

    return act


def key_destroyed(s: Scene) -> Act:
    _with_data_key(s)
    return lambda: call_command(
        "encryption_keys",
        "destroy",
        "--organization",
        s.org.slug,
        "--confirm",
        s.org.slug,
        stdout=io.StringIO(),
    )


# --- fulfilment (fulfilment engineer) ---


def _fulfilment_request(s: Scene, request_type: str) -> Any:
    """A verified request of `request_type` under CCPA (rules set up by _privacy_request)."""
    from privacy_requests.services import request_verify
    from privacy_requests.tests.factories import received_request

    _privacy_request(s)
    request = received_request(s.org, actor=s.admin, request_type=request_type)
    with tenant_context(s.org):
        return request_verify(request=request, actor=s.admin, method="records_match")


def request_package_prepared(s: Scene) -> Act:
    request = _fulfilment_request(s, "access")
    url = s.url("fulfilment_package", request_id=request.pk)
    return lambda: s.admin_client.post(url)


def _evidence(s: Scene) -> tuple[Any, Any]:
    from privacy_requests.tests.factories import stored_evidence

    request = _fulfilment_request(s, "access")
    return request, stored_evidence(s.org, request)


def request_evidence_added(s: Scene) -> Act:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from privacy_requests.tests.factories import PDF_BYTES

    request = _fulfilment_request(s, "access")
    url = s.url("fulfilment_evidence_add", request_id=request.pk)
    return lambda: s.admin_client.post(
        url, {"evidence-file": SimpleUploadedFile("scan.pdf", PDF_BYTES)}
    )


def request_evidence_removed(s: Scene) -> Act:
    request, evidence = _evidence(s)
    url = s.url("fulfilment_evidence_remove", request_id=request.pk, evidence_id=evidence.pk)
    return lambda: s.admin_client.post(url)


def request_evidence_downloaded(s: Scene) -> Act:
    request, evidence = _evidence(s)
    url = s.url("fulfilment_evidence_download", request_id=request.pk, evidence_id=evidence.pk)
    return lambda: s.admin_client.post(url)


def request_package_downloaded(s: Scene) -> Act:
    from privacy_requests.fulfilment.services import package_prepare

    request = _fulfilment_request(s, "access")
    with tenant_context(s.org):
        package_prepare(organization=s.org, actor=s.admin, request=request)
    url = s.url("fulfilment_package_download", request_id=request.pk)
    return lambda: s.admin_client.post(url)


def request_deletion_performed(s: Scene) -> Act:
    request = _fulfilment_request(s, "delete")
    url = s.url("fulfilment_deletion", request_id=request.pk)
    return lambda: s.admin_client.post(url, {"deletion-confirm": "on"})


def request_correction_recorded(s: Scene) -> Act:
    request = _fulfilment_request(s, "correct")
    url = s.url("fulfilment_correction", request_id=request.pk)
    data = {
        "correction-record": "SIS student record",
        "correction-field": "home address",
        "correction-before": "1 Old Road",
        "correction-after": "2 New Road",
    }
    return lambda: s.admin_client.post(url, data)


# --- end of fulfilment ---
# --- routing (routing engineer) ---
# --- end of routing ---
# --- notifications (notifications engineer) ---
# --- end of notifications ---
# --- tracking (deadline-tracking engineer) ---
# --- end of tracking ---
# --- billing (billing engineer) ---


def _billing_customer(s: Scene) -> None:
    from billing.tests.factories import annual_plan, stripe_customer

    stripe_customer(s.org)
    annual_plan()


def _stripe_delivers(s: Scene, *names: str) -> Act:
    """Stripe posts signed fixture events to the webhook (billing/tests/fixtures)."""
    from billing.tests.factories import deliver, fixture

    _billing_customer(s)
    *before, last = names
    for name in before:
        assert deliver(fixture(name)).status_code == 200
    return lambda: deliver(fixture(last))


def _ops_client() -> Client:
    from accounts.tests.factories import UserFactory

    return sign_in(Client(), UserFactory(email="ops@k12.example", is_staff=True, is_superuser=True))


def _billing_invoice(s: Scene) -> Any:
    from billing.tests.factories import invoice

    return invoice(s.org)


def _billing_po(s: Scene, *, document: bool = True) -> Any:
    from billing.tests.factories import purchase_order

    return purchase_order(s.org, document=document)


def billing_subscription_changed(s: Scene) -> Act:
    return _stripe_delivers(
        s, "evt_subscription_created.json", "evt_subscription_updated_cancel.json"
    )


def billing_invoice_paid(s: Scene) -> Act:
    return _stripe_delivers(s, "evt_invoice_finalized.json", "evt_invoice_paid.json")


def billing_invoice_payment_failed(s: Scene) -> Act:
    return _stripe_delivers(s, "evt_invoice_finalized.json", "evt_invoice_payment_failed.json")


def billing_invoice_marked_paid(s: Scene) -> Act:
    invoice, ops = _billing_invoice(s), _ops_client()
    data = {"action": "mark_paid_by_check", "_selected_action": [invoice.pk]}
    return lambda: ops.post(reverse("admin:billing_invoice_changelist"), data)


def billing_purchase_order_recorded(s: Scene) -> Act:
    url = s.url("billing_purchase_orders")
    return lambda: s.admin_client.post(url, {"number": "PO-2026-118"})


def billing_purchase_order_uploaded(s: Scene) -> Act:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from billing.tests.factories import PDF

    po = _billing_po(s, document=False)
    url = s.url("billing_purchase_order_document", purchase_order_id=po.pk)
    return lambda: s.admin_client.post(
        url, {"document": SimpleUploadedFile("po.pdf", PDF, "application/pdf")}
    )


def billing_purchase_order_attached(s: Scene) -> Act:
    po, invoice = _billing_po(s), _billing_invoice(s)
    url = s.url("billing_invoice_attach_po", invoice_id=invoice.pk)
    return lambda: s.admin_client.post(url, {"purchase_order": po.pk})


def billing_contact_changed(s: Scene) -> Act:
    data = {"name": "Pat Payables", "email": "ap@lincoln.example"}
    return lambda: s.admin_client.post(s.url("billing_contacts"), data)


def _overdue(s: Scene) -> None:
    from billing.tests.factories import invoice

    _billing_customer(s)
    invoice(s.org, created=NOW - timedelta(days=90))  # due 60 days ago; grace is 30


def billing_overdue_alerted(s: Scene) -> Act:
    from billing.tasks import organization_dunning_check

    _overdue(s)
    return lambda: organization_dunning_check.apply(args=[s.org.pk])


def billing_termination_proposed(s: Scene) -> Act:
    from billing.tasks import organization_dunning_check

    _overdue(s)

    def act() -> None:
        with override_settings(BILLING_TERMINATE_ON_NONPAYMENT=True):
            organization_dunning_check.apply(args=[s.org.pk])

    return act


def billing_organization_terminated(s: Scene) -> Act:
    from billing.models import StripeCustomer

    billing_termination_proposed(s)()
    with tenant_context(s.org):
        customer = StripeCustomer.objects.get()
    ops = _ops_client()
    data = {"action": "confirm_termination", "_selected_action": [customer.pk]}
    return lambda: ops.post(reverse("admin:billing_stripecustomer_changelist"), data)


# --- end of billing ---
# --- retention (retention engineer) ---
def _terminated(s: Scene) -> None:
    from retention.termination import organization_terminate

    organization_terminate(organization=s.org, actor=None)


def retention_rule_changed(s: Scene) -> Act:
    from retention.services import rule_set

    return lambda: rule_set(
        organization=s.org, actor=s.admin, category="privacy_requests", days=365
    )


def _hold(s: Scene) -> Any:
    from retention.services import legal_hold_place

    return legal_hold_place(
        organization=s.org,
        actor=s.admin,
        scope="organization",
        reason="litigation",
        ends_on=(NOW + timedelta(days=30)).date(),
    )


def legal_hold_placed(s: Scene) -> Act:
    return lambda: _hold(s)


def legal_hold_released(s: Scene) -> Act:
    from retention.services import legal_hold_release

    hold = _hold(s)
    return lambda: legal_hold_release(organization=s.org, actor=s.admin, hold_id=hold.pk)


def organization_terminated(s: Scene) -> Act:
    return lambda: _terminated(s)


def deletion_request_recorded(s: Scene) -> Act:
    from retention.termination import organization_deletion_request_record

    _terminated(s)
    return lambda: organization_deletion_request_record(organization=s.org, actor=None)


def retention_run(s: Scene) -> Act:
    _with_data_key(s)
    _terminated(s)
    s.clock.shift(timedelta(days=91))
    return lambda: call_command("retention_run", stdout=io.StringIO())


def retention_aged_out(s: Scene) -> Act:
    from retention.aging import organization_age_out

    with tenant_context(s.org):
        Invitation.objects.create(
            organization=s.org,
            email="old.invitee@lincoln.example",
            role=Role.VIEWER,
            token_hash=Invitation.hash_token("aged-out"),
            expires_at=NOW,
        )
    s.clock.shift(timedelta(days=3 * 365 + 1))
    return lambda: organization_age_out(organization=s.org)


# --- end of retention ---


# --- SIS sources (sources engineer) ---


def _sis(s: Scene) -> Any:
    """A CSV source of the scene's organization with a small package imported."""
    from sources.models import DataSource
    from sources.services import data_source_save
    from sources.tests.conftest import import_package
    from sources.tests.fixtures import oneroster_package

    package = oneroster_package(schools=1, students_per_school=3)
    with tenant_context(s.org):
        source = data_source_save(
            organization=s.org, actor=s.admin, kind=DataSource.Kind.ONEROSTER_CSV, name="SIS"
        )
    import_package(s.org, s.admin, source, package)
    return source, package


def sis_package_imported(s: Scene) -> Act:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from sources.tests.fixtures import oneroster_package

    source, _package = _sis(s)
    content = oneroster_package(schools=1, students_per_school=2).content
    url = s.url("source_detail", source_id=source.pk)
    return lambda: s.admin_client.post(
        url, {"package": SimpleUploadedFile("export.zip", content, "application/zip")}
    )


def sis_searched(s: Scene) -> Act:
    from privacy_requests.tests.factories import stored_request

    _source, package = _sis(s)
    request = stored_request(s.org)
    url = s.url("request_sis", request_id=request.pk)
    return lambda: s.admin_client.post(url, {"identifier": package.student(0).identifier})


def _sis_candidate(s: Scene, request_type: str = "access") -> tuple[Any, int]:
    from privacy_requests.tests.factories import stored_request
    from sources.services import student_search

    _source, package = _sis(s)
    request = stored_request(s.org, request_type=request_type)
    with tenant_context(s.org):
        (candidate,) = student_search(
            organization=s.org, actor=s.admin, identifier=package.student(0).identifier
        )
    return request, candidate.record_id


def sis_student_linked(s: Scene) -> Act:
    request, record_id = _sis_candidate(s)
    url = s.url("request_sis_confirm", request_id=request.pk)
    return lambda: s.admin_client.post(url, {"record": record_id})


def sis_deletion_recorded(s: Scene) -> Act:
    from sources.services import student_link_confirm

    request, record_id = _sis_candidate(s, "delete")
    with tenant_context(s.org):
        link = student_link_confirm(
            organization=s.org, actor=s.admin, request=request, record_id=record_id
        )
    url = s.url("request_sis_deletion", request_id=request.pk, link_id=link.pk)
    return lambda: s.admin_client.post(url, {"note": "done in the SIS"})


# --- end of SIS sources ---
# --- vendors (vendors/) -----------------------------------------------------------------------


def vendor_added(s: Scene) -> Act:
    return lambda: s.admin_client.post(
        reverse("accounts:vendor_create", kwargs={"org_slug": s.org.slug}),
        {"name": "QuizCraft", "access_response_days": "45", "disposal_days": "60"},
    )


def _forward_to_brightpath(s: Scene) -> Act:
    from privacy_requests.tests.factories import stored_request
    from vendors.services import VendorValues, vendor_save

    brightpath = OrganizationFactory(slug="brightpath", kind=Organization.Kind.VENDOR)
    with tenant_context(s.org):
        vendor = vendor_save(
            organization=s.org,
            actor=s.admin,
            values=VendorValues(name="BrightPath", portal_organization=brightpath),
        )
    request = stored_request(s.org, subject_name="Maya Lopez")
    url = reverse(
        "accounts:request_vendor_tasks", kwargs={"org_slug": s.org.slug, "request_id": request.pk}
    )
    return lambda: s.admin_client.post(
        url,
        {
            "vendors": [str(vendor.pk)],
            "kind": "access_export",
            "identifiers": ["subject_name"],
            "instructions": "",
        },
    )


def vendor_file_downloaded(s: Scene) -> Act:
    from vendors.tests.factories import a_file

    row = a_file(s.org)
    return lambda: s.admin_client.post(
        reverse("accounts:vendor_file_download", kwargs={"org_slug": s.org.slug, "file_id": row.pk})
    )


# --- end of vendors ---
# --- exports (exports/) ---


def export_requested(s: Scene) -> Act:
    return lambda: s.admin_client.post(
        reverse("accounts:export_list", kwargs={"org_slug": s.org.slug})
    )


def export_completed(s: Scene) -> Act:
    from exports.services import export_request, export_run

    export = export_request(organization=s.org, actor=s.admin, via="portal", enqueue=False)
    return lambda: export_run(organization=s.org, export_id=export.pk)


def export_downloaded(s: Scene) -> Act:
    from exports.tests.helpers import completed_export

    export = completed_export(s.org, s.admin)
    url = reverse(
        "accounts:export_download", kwargs={"org_slug": s.org.slug, "export_id": export.pk}
    )
    return lambda: b"".join(s.admin_client.post(url).streaming_content)  # type: ignore[attr-defined]


# --- end of exports ---
# --- trust center (trust/) ---


def dpa_accepted(s: Scene) -> Act:
    from trust.tests.factories import published

    version = published(effective_on=NOW.date())
    return lambda: s.admin_client.post(
        reverse("accounts:trust_dpa_accept", kwargs={"org_slug": s.org.slug}),
        {"version": version.pk, "version_hash": version.content_hash, "confirm": "on"},
    )


# --- end of trust center ---


COVERAGE: list[tuple[str, Callable[[Scene], Act], Action]] = [
    # --- sign-in, sessions, passwords ---
    ("sign-in success", sign_in_success, Action.SIGNED_IN),
    ("sign-in failure", sign_in_failure, Action.SIGN_IN_FAILED),
    ("lockout", lockout, Action.LOCKED_OUT),
    ("unlock by an admin", unlock, Action.UNLOCKED),
    ("sign-out", sign_out, Action.SIGNED_OUT),
    ("idle session expired", session_expired, Action.SESSION_EXPIRED),
    ("other sessions signed out", sessions_revoked, Action.SESSIONS_REVOKED),
    ("password changed", password_changed, Action.PASSWORD_CHANGED),
    ("password reset", password_reset, Action.PASSWORD_RESET),
    # --- second factor ---
    ("MFA enrolment", mfa_enrolment, Action.MFA_ENROLLED),
    ("MFA code refused", mfa_verification_failure, Action.MFA_VERIFICATION_FAILED),
    ("recovery code used", recovery_code_used, Action.MFA_RECOVERY_CODE_USED),
    ("recovery codes regenerated", recovery_codes_regenerated, Action.MFA_RECOVERY_CODES_GENERATED),
    ("MFA removal", mfa_removal, Action.MFA_REMOVED),
    ("passkey registered", passkey_registered, Action.MFA_PASSKEY_REGISTERED),
    ("passkey removed", passkey_removed, Action.MFA_PASSKEY_REMOVED),
    ("passkey counter went back", passkey_clone_suspected, Action.MFA_PASSKEY_CLONE_SUSPECTED),
    ("passkey refused", passkey_verification_failure, Action.MFA_VERIFICATION_FAILED),
    # --- the member's copy on their organization's chain (audit.services.MEMBER_COPIES) ---
    ("member's sign-in, on the org chain", sign_in_success, Action.MEMBER_SIGNED_IN),
    ("member's failed sign-in, on the org chain", sign_in_failure, Action.MEMBER_SIGN_IN_FAILED),
    ("member locked out, on the org chain", lockout, Action.MEMBER_LOCKED_OUT),
    ("member's MFA enrolment, on the org chain", mfa_enrolment, Action.MEMBER_MFA_ENROLLED),
    (
        "member's passkey registered, on the org chain",
        passkey_registered,
        Action.MEMBER_PASSKEY_REGISTERED,
    ),
    ("member's MFA removal, on the org chain", mfa_removal, Action.MEMBER_MFA_REMOVED),
    (
        "member's recovery code used, on the org chain",
        recovery_code_used,
        Action.MEMBER_RECOVERY_CODE_USED,
    ),
    # --- members and invitations ---
    ("role change", role_change, Action.MEMBER_ROLE_CHANGED),
    ("invitation sent", invitation_sent, Action.MEMBER_INVITED),
    ("invitation accepted", invitation_accepted, Action.INVITATION_ACCEPTED),
    ("invitation revoked", invitation_revoked, Action.INVITATION_REVOKED),
    ("deactivation", deactivation, Action.MEMBER_DEACTIVATED),
    ("reactivation", reactivation, Action.MEMBER_REACTIVATED),
    # --- organization security settings ---
    ("IP allowlist change", allowlist_change, Action.IP_ALLOWLIST_CHANGED),
    ("access refused by the IP allowlist", access_refused_by_ip, Action.ACCESS_REFUSED_BY_IP),
    ("session policy change", session_policy_change, Action.SESSION_POLICY_CHANGED),
    ("privacy contact change", privacy_contact_change, Action.PRIVACY_CONTACT_CHANGED),
    ("MFA policy change", mfa_policy_change, Action.MFA_POLICY_CHANGED),
    ("passkey policy change", passkey_policy_change, Action.MFA_POLICY_CHANGED),
    ("SSO connection change", sso_connection_change, Action.SSO_CONNECTION_CHANGED),
    # --- integrations ---
    ("API key created", api_key_created, Action.API_KEY_CREATED),
    ("API key revoked", api_key_revoked, Action.API_KEY_REVOKED),
    # --- exports ---
    ("audit log export", audit_export, Action.AUDIT_EXPORTED),
    ("request register export", request_register_export, Action.REQUESTS_EXPORTED),
    # --- key operations (k12cloud/encryption/) ---
    ("data key created", key_created, Action.KEY_CREATED),
    ("data key rotated", key_rotated, Action.KEY_ROTATED),
    ("master key rotated", master_key_rotated, Action.MASTER_KEY_ROTATED),
    ("organization key destroyed", key_destroyed, Action.KEY_DESTROYED),
    # --- privacy-request transitions (workflow engineer) ---
    ("request received (staff intake)", request_received, Action.REQUEST_RECEIVED),
    ("request email confirmed", request_email_confirmed, Action.REQUEST_EMAIL_CONFIRMED),
    ("request status changed", request_status_changed, Action.REQUEST_STATUS_CHANGED),
    ("request identity verified", request_verified, Action.REQUEST_VERIFIED),
    ("request acknowledged", request_acknowledged, Action.REQUEST_ACKNOWLEDGED),
    ("request assigned", request_assigned, Action.REQUEST_ASSIGNED),
    ("request extended", request_extended, Action.REQUEST_EXTENDED),
    ("request closed (denied)", request_closed, Action.REQUEST_CLOSED),
    ("request message added", request_message_added, Action.REQUEST_MESSAGE_ADDED),
    ("requester portal link sent", request_portal_link_sent, Action.REQUEST_PORTAL_LINK_SENT),
    ("requester portal opened", request_portal_opened, Action.REQUEST_PORTAL_OPENED),
    # --- fulfilment (fulfilment engineer) ---
    ("package prepared", request_package_prepared, Action.REQUEST_PACKAGE_PREPARED),
    ("package downloaded by staff", request_package_downloaded, Action.REQUEST_PACKAGE_DOWNLOADED),
    ("deletion performed", request_deletion_performed, Action.REQUEST_DELETION_PERFORMED),
    ("correction recorded", request_correction_recorded, Action.REQUEST_CORRECTION_RECORDED),
    ("evidence added", request_evidence_added, Action.REQUEST_EVIDENCE_ADDED),
    ("evidence removed", request_evidence_removed, Action.REQUEST_EVIDENCE_REMOVED),
    ("evidence downloaded", request_evidence_downloaded, Action.REQUEST_EVIDENCE_DOWNLOADED),
    # --- end of fulfilment ---
    # --- routing (routing engineer) ---
    # --- end of routing ---
    # --- notifications (notifications engineer) ---
    # --- end of notifications ---
    # --- tracking (deadline-tracking engineer) ---
    # --- end of tracking ---
    # --- billing (billing engineer) ---
    (
        "subscription changed (webhook)",
        billing_subscription_changed,
        Action.BILLING_SUBSCRIPTION_CHANGED,
    ),
    ("invoice paid (webhook)", billing_invoice_paid, Action.BILLING_INVOICE_PAID),
    (
        "invoice payment failed (webhook)",
        billing_invoice_payment_failed,
        Action.BILLING_INVOICE_PAYMENT_FAILED,
    ),
    ("invoice marked paid by ops", billing_invoice_marked_paid, Action.BILLING_INVOICE_MARKED_PAID),
    ("PO recorded", billing_purchase_order_recorded, Action.BILLING_PURCHASE_ORDER_RECORDED),
    (
        "PO document uploaded",
        billing_purchase_order_uploaded,
        Action.BILLING_PURCHASE_ORDER_UPLOADED,
    ),
    (
        "PO attached to an invoice",
        billing_purchase_order_attached,
        Action.BILLING_PURCHASE_ORDER_ATTACHED,
    ),
    ("billing contact added", billing_contact_changed, Action.BILLING_CONTACT_CHANGED),
    ("ops alerted: unpaid past grace", billing_overdue_alerted, Action.BILLING_OVERDUE_ALERTED),
    ("termination proposed", billing_termination_proposed, Action.BILLING_TERMINATION_PROPOSED),
    (
        "terminated for non-payment",
        billing_organization_terminated,
        Action.BILLING_ORGANIZATION_TERMINATED,
    ),
    # --- end of billing ---
    # --- retention (retention engineer) ---
    ("retention period shortened", retention_rule_changed, Action.RETENTION_RULE_CHANGED),
    ("legal hold placed", legal_hold_placed, Action.LEGAL_HOLD_PLACED),
    ("legal hold released", legal_hold_released, Action.LEGAL_HOLD_RELEASED),
    ("organization terminated", organization_terminated, Action.ORGANIZATION_TERMINATED),
    ("written deletion request", deletion_request_recorded, Action.DELETION_REQUEST_RECORDED),
    ("retention run started", retention_run, Action.RETENTION_RUN_STARTED),
    ("retention run completed", retention_run, Action.RETENTION_RUN_COMPLETED),
    ("retention run destroys the data key", retention_run, Action.KEY_DESTROYED),
    ("de-identification certificate", retention_run, Action.RETENTION_CERTIFICATE_ISSUED),
    ("rows due by age de-identified", retention_aged_out, Action.RETENTION_AGED_OUT),
    # --- end of retention ---
    # --- SIS sources (sources engineer) ---
    ("SIS package uploaded", sis_package_imported, Action.SIS_PACKAGE_IMPORTED),
    ("SIS searched for a request's student", sis_searched, Action.SIS_SEARCHED),
    ("SIS student confirmed for a request", sis_student_linked, Action.SIS_STUDENT_LINKED),
    ("SIS deletion recorded as done", sis_deletion_recorded, Action.SIS_DELETION_RECORDED),
    # --- end of SIS sources ---
    # --- vendors (vendors/) ---
    ("vendor added", vendor_added, Action.VENDOR_ADDED),
    ("request forwarded to a vendor", _forward_to_brightpath, Action.VENDOR_TASK_FORWARDED),
    (
        "hand-off: the vendor organization's chain",
        _forward_to_brightpath,
        Action.VENDOR_TASK_RECEIVED,
    ),
    ("vendor file downloaded by staff", vendor_file_downloaded, Action.VENDOR_FILE_DOWNLOADED),
    # --- end of vendors ---
    # --- exports (exports/) ---
    ("full export started", export_requested, Action.ORGANIZATION_EXPORT_REQUESTED),
    ("full export completed by the worker", export_completed, Action.ORGANIZATION_EXPORT_COMPLETED),
    ("full export downloaded", export_downloaded, Action.ORGANIZATION_EXPORT_DOWNLOADED),
    # --- end of exports ---
    # --- trust center (trust/) ---
    ("DPA accepted by an organization admin", dpa_accepted, Action.TRUST_DPA_ACCEPTED),
    # --- end of trust center ---
    # --- retention runs: add rows when retention exists ---
    # --- billing changes: add rows when billing exists ---
]

# Actions without a row, each with the reason. A new Action must go in one of the two tables.
NOT_COVERED_HERE: dict[Action, str] = {
    Action.ORGANIZATION_CREATED: "no code path records it yet (organizations are made in the "
    "ops admin and the seed command); add a row when onboarding records it",
    Action.DEMO_DATA_SEEDED: "development seed command only; not a security event",
    Action.JURISDICTION_RULE_SAVED: "deadline configuration, not security-relevant; its single "
    "event is tested in privacy_requests/tests",
    Action.RULE_SELECTION_CHANGED: "deadline configuration; tested in privacy_requests/tests",
    Action.CONTRACT_RULE_SAVED: "deadline configuration; tested in privacy_requests/tests",
    Action.CLOSURE_ADDED: "deadline calendar; tested in privacy_requests/tests",
    Action.CLOSURE_REMOVED: "deadline calendar; tested in privacy_requests/tests",
    # --- fulfilment (fulfilment engineer) ---
    # --- end of fulfilment ---
    # --- routing (routing engineer) ---
    Action.REQUEST_ROUTED_OUT: "cross-tenant routing; tested in test_routing.py",
    Action.REQUEST_ROUTED_IN: "cross-tenant routing; tested in test_routing.py",
    Action.REQUEST_DEADLINES_FLAGGED: "rule changes; tested in test_stale_deadlines.py",
    Action.REQUEST_DEADLINES_REVIEWED: "date review; tested in test_stale_deadlines.py",
    # --- end of routing ---
    # --- notifications (notifications engineer) ---
    # --- end of notifications ---
    # --- tracking (deadline-tracking engineer) ---
    Action.REQUEST_DEADLINE_ESCALATED: "a system sweep, not a person's act; exactly one event "
    "per request, deadline and day is tested in privacy_requests/tests/test_tracking.py",
    Action.REQUEST_CONFIRMATION_REMINDED: "a system sweep, not a person's act; exactly one "
    "event per request is tested in privacy_requests/tests/test_unverified.py",
    # --- end of tracking ---
    # --- billing (billing engineer) ---
    # --- end of billing ---
    # --- backups (backups engineer) ---
    **dict.fromkeys(
        (
            Action.BACKUP_CREATED,
            Action.BACKUP_FAILED,
            Action.BACKUPS_PRUNED,
            Action.RESTORE_DRILL_PASSED,
            Action.RESTORE_DRILL_FAILED,
        ),
        "a system command or beat task, not a person's act; exactly one event per backup, "
        "prune and drill is tested in backups/tests",
    ),
    # --- end of backups ---
    # --- retention (retention engineer) ---
    # --- end of retention ---
    # --- SIS sources (sources engineer) ---
    Action.SIS_SOURCE_SAVED: "source configuration; its single event is tested in "
    "sources/tests/test_services.py",
    Action.SIS_PACKAGE_REFUSED: "a refused upload; its single event is tested in "
    "sources/tests/test_import.py",
    Action.SIS_RECORDS_FETCHED: "a REST fetch; tested in sources/tests/test_rest.py",
    Action.SIS_IMPORTS_EXPIRED: "a system sweep, not a person's act; tested in "
    "sources/tests/test_retention.py",
    # --- end of SIS sources ---
    # --- vendors (vendors/) ---
    Action.VENDOR_CHANGED: "registry edit; exactly one event per changed save is tested in "
    "vendors/tests/test_services.py",
    Action.VENDOR_POLICY_CHANGED: "configuration; tested in vendors/tests/test_services.py",
    Action.VENDOR_TASK_ANSWERED: "two tenants take part; one event on the chain where the "
    "vendor answered is tested in vendors/tests/test_services.py and test_public.py",
    Action.VENDOR_TASK_ANSWER_RECEIVED: "the district's side of an answer; tested with its "
    "vendor-side event in vendors/tests/test_services.py",
    Action.VENDOR_TASK_SKIPPED: "one event on each chain (district and vendor), tested in "
    "vendors/tests/test_services.py",
    Action.VENDOR_TASK_LINK_SENT: "tested in vendors/tests/test_services.py and test_public.py",
    Action.VENDOR_TASK_LINK_OPENED: "a vendor's visit; tested in vendors/tests/test_public.py",
    Action.VENDOR_TASK_REMINDED: "a system sweep; once per task is tested in "
    "vendors/tests/test_reminders.py",
    Action.VENDOR_TASK_ESCALATED: "a system sweep; once per task is tested in "
    "vendors/tests/test_reminders.py",
    Action.REQUEST_CLOSED_WITH_OPEN_VENDOR_TASKS: "tested in vendors/tests/test_services.py",
    # --- end of vendors ---
    # --- exports (exports/) ---
    Action.ORGANIZATION_EXPORT_FAILED: "a worker's failure; once per failure is tested in "
    "exports/tests/test_services.py",
    Action.ORGANIZATION_EXPORT_EXPIRED: "a system sweep; once per expired file is tested in "
    "exports/tests/test_services.py",
    # --- end of exports ---
    # --- trust center (trust/) ---
    Action.TRUST_DOCUMENT_PUBLISHED: "ops staff in the admin; a platform event, once even when "
    "publishing is retried: trust/tests/test_documents.py",
    Action.TRUST_OBJECTION_RECORDED: "tested in trust/tests/test_dpa.py",
    Action.TRUST_MAINTENANCE_SCHEDULED: "ops staff in the admin; a platform event, tested in "
    "trust/tests/test_maintenance.py",
    Action.TRUST_MAINTENANCE_CHANGED: "moved or cancelled by ops; trust/tests/test_maintenance.py",
    # --- end of trust center ---
    # --- incidents (incidents/): one event each, on the right chain, is tested in
    # incidents/tests/test_audit.py (the cascade's two chains in test_cascade.py) ---
    **dict.fromkeys(
        (
            Action.BREACH_RULE_SAVED,
            Action.INCIDENT_RECORDED,
            Action.INCIDENT_STATUS_CHANGED,
            Action.INCIDENT_REGIMES_CONFIRMED,
            Action.INCIDENT_DELAY_RECORDED,
            Action.INCIDENT_NOTICE_SENT_TO_DISTRICT,
            Action.INCIDENT_NOTICE_RECEIVED,
            Action.INCIDENT_ACKNOWLEDGED,
            Action.INCIDENT_RECIPIENTS_UPLOADED,
            Action.INCIDENT_NOTICE_PREPARED,
            Action.INCIDENT_NOTICE_SENDING,
            Action.INCIDENT_LEG_MET,
            Action.INCIDENT_SUBMISSION_RECORDED,
            Action.INCIDENT_LEG_ESCALATED,
        ),
        "incidents: exactly one event per service is tested in incidents/tests/test_audit.py",
    ),
    # --- end of incidents ---
}


def count(action: Action) -> int:
    with unscoped_all_tenants(reason="test counts audit events of every tenant"):
        return AuditEvent.objects.filter(action=action.value).count()


@pytest.mark.parametrize(
    ("scenario", "prepare", "action"), COVERAGE, ids=[row[0] for row in COVERAGE]
)
def test_each_security_event_writes_exactly_one_audit_event(
    scenario: str, prepare: Callable[[Scene], Act], action: Action
) -> None:
    with time_machine.travel(NOW, tick=False) as clock:
        org = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
        admin = member(org, Role.ORG_ADMIN, email="admin@lincoln.example")
        scene = Scene(org, admin, sign_in(Client(), admin), clock)
        act = prepare(scene)
        before = count(action)
        act()
        after = count(action)
    assert after - before == 1, f"{scenario}: {after - before} {action.value} events, expected 1"


def test_every_action_is_classified() -> None:
    covered = {action for _, _, action in COVERAGE}
    assert covered.isdisjoint(NOT_COVERED_HERE), "an action is both covered and excused"
    unclassified = set(Action) - covered - set(NOT_COVERED_HERE)
    assert unclassified == set(), (
        f"add a row to COVERAGE (or a reason to NOT_COVERED_HERE) for: {sorted(unclassified)}"
    )
