"""Every URL pattern, requested by four kinds of visitor, against a table of expected outcomes.

Each URL is built for tenant A (lincoln-usd) and requested by: nobody (anonymous), an admin of
A, an admin of B (hudson-csd) and an ops staff user with no membership. A pattern without a row
in EXPECTED fails the sweep, so every new URL makes its author decide who may open it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from privacy_requests.tests.factories import stored_request
from tests.conftest import Tenant, signed_in

ACTORS = ("anonymous", "member_a", "member_b", "ops")

# name: expected status for (anonymous, member of A, member of B, ops staff)
EXPECTED: dict[str, tuple[int, int, int, int]] = {
    "home": (302, 302, 302, 200),  # sign-in; the member's one organization; ops: chooser
    "health": (200, 200, 200, 200),
    "profile": (302, 200, 200, 200),
    "account_login": (200, 302, 302, 302),
    "account_logout": (302, 200, 200, 200),
    "account_inactive": (200, 200, 200, 200),
    "account_signup": (200, 302, 302, 302),  # anonymous sees "sign-up is closed"
    "account_reauthenticate": (302, 200, 200, 200),
    "account_email": (302, 200, 200, 200),
    "account_email_verification_sent": (200, 200, 200, 200),
    "account_change_password": (302, 200, 200, 200),
    "account_set_password": (302, 302, 302, 302),  # users with a password go to "change"
    "account_reset_password": (200, 200, 200, 200),
    "account_confirm_login_code": (302, 302, 302, 302),  # login by code is off
    "account_confirm_email": (200, 200, 200, 200),  # shows "invalid link" for a bad key
    "account_reset_password_from_key_done": (200, 200, 200, 200),
    "account_reset_password_from_key": (200, 200, 200, 200),  # shows "bad token"
    "account_reset_password_done": (200, 200, 200, 200),
    "accounts:dashboard": (302, 200, 404, 404),
    "accounts:member_list": (302, 200, 404, 404),
    "accounts:member_detail": (302, 200, 404, 404),
    "api_root": (403, 200, 200, 200),
    "accounts_api:my_organizations": (403, 200, 200, 200),
    "accounts_api:organization_detail": (403, 200, 404, 404),
    "accounts_api:membership_list": (403, 200, 404, 404),
    "accounts_api:membership_detail": (403, 200, 404, 404),
    "api_schema": (403, 200, 200, 200),
    "api_docs": (403, 200, 200, 200),
    "accounts:security_settings": (302, 200, 404, 404),
    # --- MFA (enrolment, verification, recovery codes, policy) ---
    "mfa_overview": (302, 200, 200, 200),
    "mfa_enrol": (302, 200, 200, 200),  # signed in and verified: replace the authenticator
    "mfa_verify": (302, 302, 302, 302),  # already verified: on to `next` (home)
    "mfa_recovery_codes": (302, 200, 200, 200),
    "mfa_disable": (302, 302, 302, 302),  # re-authentication first
    "accounts:mfa_policy": (302, 200, 404, 404),
    # --- passkeys (WebAuthn): the sweep's users verified with a code and have no passkey ---
    "mfa_passkey_verify": (302, 302, 302, 302),  # no passkey: to the code form
    "mfa_passkey_verify_options": (302, 405, 405, 405),  # POST only (a challenge)
    "mfa_passkey_register": (302, 302, 302, 302),  # re-authentication first
    "mfa_passkey_register_options": (302, 405, 405, 405),  # POST only (a challenge)
    "mfa_passkey_remove": (302, 302, 302, 302),  # re-authentication first
    "passkey_sign_in": (200, 302, 302, 302),  # signed in already: home
    "passkey_sign_in_options": (405, 405, 405, 405),  # POST only (a challenge)
    # --- members and invitations ---
    "accounts:invitation_list": (302, 200, 404, 404),
    "accounts:invitation_create": (302, 200, 404, 404),
    # POST-only actions: GET is 405 once the membership and permission checks pass
    "accounts:invitation_revoke": (302, 405, 404, 404),
    "accounts:member_role_change": (302, 405, 404, 404),
    "accounts:member_deactivate": (302, 405, 404, 404),
    "accounts:member_reactivate": (302, 405, 404, 404),
    "invitation_accept": (404, 404, 404, 404),  # the sweep's token names no invitation
    # --- lockout, IP allowlist, sessions ---
    "accounts:ip_allowlist": (302, 200, 404, 404),
    "accounts:session_policy": (302, 200, 404, 404),
    "accounts:member_unlock": (302, 405, 404, 404),  # POST only
    "session_list": (302, 200, 200, 200),
    "session_revoke_others": (302, 405, 405, 405),  # POST only
    "session_revoke_all": (302, 405, 405, 405),  # POST only
    # --- API keys and single sign-on ---
    "accounts:api_key_list": (302, 200, 404, 404),
    "accounts:api_key_revoke": (302, 404, 404, 404),  # the sweep's key_id names no key
    "accounts:sso_connection": (302, 200, 404, 404),
    "sso_start": (200, 200, 200, 200),
    # allauth's provider views: without a sign-in begun at sso_start there is no OAuth client
    "google_login": (404, 404, 404, 404),
    "google_callback": (404, 404, 404, 404),
    "google_login_by_token": (404, 404, 404, 404),  # Google One Tap: not offered
    "microsoft_login": (404, 404, 404, 404),
    "microsoft_callback": (404, 404, 404, 404),
    "socialaccount_login_cancelled": (200, 200, 200, 200),
    "socialaccount_login_error": (401, 401, 401, 401),  # allauth's "sign-in failed" page
    "socialaccount_signup": (302, 302, 302, 302),  # nobody signs up: no pending sign-in
    "socialaccount_connections": (302, 200, 200, 200),
    # --- audit log ---
    "accounts:audit_event_list": (302, 200, 404, 404),
    "accounts:audit_export": (302, 405, 404, 404),  # POST only: an export is an audited act
    # --- privacy requests: the triage queue (queue engineer) ---
    "accounts:request_queue": (302, 200, 404, 404),
    "accounts:request_bulk_assign": (302, 405, 404, 404),  # POST only
    "accounts:request_bulk_acknowledge": (302, 405, 404, 404),  # POST only
    "accounts:request_export": (302, 405, 404, 404),  # POST only: an export is an audited act
    # --- end of the triage queue ---
    # --- privacy requests: the workflow (intake, request page, its POST-only actions) ---
    "accounts:request_create": (302, 200, 404, 404),
    "accounts:request_detail": (302, 200, 404, 404),
    "accounts:request_verify": (302, 405, 404, 404),
    "accounts:request_acknowledge": (302, 405, 404, 404),
    "accounts:request_assign": (302, 405, 404, 404),
    "accounts:request_extend": (302, 405, 404, 404),
    "accounts:request_close": (302, 405, 404, 404),
    "accounts:request_transition": (302, 405, 404, 404),
    "accounts:request_duplicate": (302, 405, 404, 404),
    "accounts:request_message_add": (302, 405, 404, 404),
    # --- end of the workflow ---
    # --- privacy requests: the API (API engineer) ---
    "accounts_api:request_list": (403, 200, 404, 404),
    "accounts_api:request_detail": (403, 200, 404, 404),
    # POST-only routes: a GET maps to no action, and OrganizationViewSet refuses an action
    # without a declared permission (403) before it resolves the organization
    "accounts_api:request_intake": (403, 403, 403, 403),
    "accounts_api:request_acknowledge": (403, 403, 403, 403),
    "accounts_api:request_verify": (403, 403, 403, 403),
    "accounts_api:request_assign": (403, 403, 403, 403),
    "accounts_api:request_extend": (403, 403, 403, 403),
    "accounts_api:request_close": (403, 403, 403, 403),
    "accounts_api:request_transition": (403, 403, 403, 403),
    "accounts_api:request_duplicate": (403, 403, 403, 403),
    "accounts_api:request_message_add": (403, 403, 403, 403),
    # --- end of the API ---
    # --- fulfilment (fulfilment engineer) ---
    "accounts:fulfilment": (302, 200, 404, 404),
    "accounts:fulfilment_package": (302, 405, 404, 404),  # POST only
    "accounts:fulfilment_package_download": (302, 405, 404, 404),  # POST only: audited
    "accounts:fulfilment_fulfil": (302, 405, 404, 404),  # POST only
    "accounts:fulfilment_deletion": (302, 405, 404, 404),  # POST only
    "accounts:fulfilment_correction": (302, 405, 404, 404),  # POST only
    "accounts:fulfilment_evidence_add": (302, 405, 404, 404),  # POST only
    "accounts:fulfilment_evidence_remove": (302, 405, 404, 404),  # POST only
    "accounts:fulfilment_evidence_download": (302, 405, 404, 404),  # POST only: audited
    "accounts_api:request_package_prepare": (403, 403, 403, 403),  # POST only
    "accounts_api:request_package_download": (403, 409, 404, 404),  # 409: no package yet
    "accounts_api:request_fulfil": (403, 403, 403, 403),  # POST only
    "accounts_api:request_deletion_plan": (403, 409, 404, 404),  # 409: not a deletion request
    "accounts_api:request_deletion_perform": (403, 403, 403, 403),  # POST only
    "accounts_api:request_correction": (403, 403, 403, 403),  # POST only
    "accounts_api:request_evidence": (403, 200, 404, 404),
    "accounts_api:request_evidence_remove": (403, 403, 403, 403),  # DELETE only
    "privacy_intake:portal_download": (405, 405, 405, 405),  # POST only, in a portal session
    # --- end of fulfilment ---
    # --- routing (routing engineer) ---
    "accounts:deadline_rules": (302, 200, 404, 404),
    "accounts:deadline_rules_selection": (302, 405, 404, 404),  # POST only
    "accounts:deadline_contract_rule_save": (302, 405, 404, 404),
    "accounts:deadline_closure_add": (302, 405, 404, 404),
    "accounts:deadline_closure_remove": (302, 405, 404, 404),
    "accounts:request_route": (302, 405, 404, 404),
    "accounts:request_deadlines_review": (302, 405, 404, 404),
    "accounts:request_search": (302, 405, 404, 404),  # POST: the email stays out of the URL
    "accounts_api:request_route": (403, 403, 403, 403),  # POST only: GET has no permission
    "accounts_api:request_search": (403, 403, 403, 403),  # POST only: emails stay out of URLs
    # --- end of routing ---
    # --- notifications (notifications engineer) ---
    "health_workers": (503, 503, 503, 503),  # no worker or beat runs in the sweep
    "accounts:notification_list": (302, 200, 404, 404),
    "accounts:notification_unread": (302, 200, 404, 404),
    "accounts:notification_preferences": (302, 200, 404, 404),
    "accounts:privacy_contact": (302, 200, 404, 404),
    # --- end of notifications ---
    # --- tracking (deadline-tracking engineer) ---
    "accounts:privacy_metrics": (302, 200, 404, 404),
    "accounts:privacy_metrics_export": (302, 200, 404, 404),
    # --- end of tracking ---
    # --- billing (billing engineer) ---
    "accounts:billing_overview": (302, 200, 404, 404),
    "accounts:billing_invoice_pdf": (302, 404, 404, 404),  # the sweep's id names no invoice
    "accounts:billing_invoice_stripe_pdf": (302, 404, 404, 404),  # the same: no such invoice
    "accounts:billing_invoice_attach_po": (302, 405, 404, 404),  # POST only
    "accounts:billing_payment_methods": (302, 405, 404, 404),  # POST only: redirects to Stripe
    "accounts:billing_purchase_orders": (302, 200, 404, 404),
    "accounts:billing_purchase_order_document": (302, 404, 404, 404),  # names no PO
    "accounts:billing_contacts": (302, 200, 404, 404),
    "accounts:billing_contact_edit": (302, 404, 404, 404),  # the sweep's id names no contact
    "accounts:billing_contact_remove": (302, 405, 404, 404),  # POST only
    "stripe_webhook": (405, 405, 405, 405),  # POST only, signed by Stripe
    # --- end of billing ---
    # --- retention (retention engineer) ---
    "accounts:retention": (302, 200, 404, 404),
    # --- end of retention ---
    # --- SIS sources (sources engineer) ---
    "accounts:sources": (302, 200, 404, 404),
    "accounts:source_detail": (302, 404, 404, 404),  # the sweep's id names no source
    "accounts:source_import_detail": (302, 404, 404, 404),  # names no import
    "accounts:request_sis": (302, 200, 404, 404),
    "accounts:request_sis_confirm": (302, 405, 404, 404),  # POST only
    "accounts:request_sis_deletion": (302, 405, 404, 404),  # POST only
    "accounts_api:source_list": (403, 200, 404, 404),
    "accounts_api:source_import": (403, 404, 404, 404),  # the sweep's id names no import
    # POST-only routes: a GET maps to no action (403 before the organization is resolved)
    "accounts_api:source_upload": (403, 403, 403, 403),
    "accounts_api:request_sis_search": (403, 403, 403, 403),
    "accounts_api:request_sis_confirm": (403, 403, 403, 403),
    "accounts_api:request_sis_records": (403, 200, 404, 404),
    "accounts_api:request_sis_deletion": (403, 403, 403, 403),
    # --- end of SIS sources ---
    # --- vendors (vendors/) ---
    "accounts:vendor_list": (302, 200, 404, 404),
    "accounts:vendor_create": (302, 200, 404, 404),
    "accounts:vendor_edit": (302, 404, 404, 404),  # the sweep's id names no vendor
    "accounts:vendor_policy": (302, 405, 404, 404),  # POST only
    "accounts:request_vendor_tasks": (302, 200, 404, 404),
    "accounts:vendor_task_skip": (302, 405, 404, 404),  # POST only
    "accounts:vendor_file_download": (302, 405, 404, 404),  # POST only: audited
    "accounts:vendor_inbox": (302, 200, 404, 404),
    "accounts:vendor_receipt": (302, 404, 404, 404),  # the sweep's id names no task
    "vendor_portal:open": (302, 302, 302, 302),  # the sweep's token names no task: to "code"
    "vendor_portal:task": (302, 302, 302, 302),  # no task session: to "code"
    "vendor_portal:code": (200, 200, 200, 200),  # public: ask for a code, enter it
    "accounts_api:vendor_list": (403, 200, 404, 404),
    "accounts_api:vendor_detail": (403, 404, 404, 404),  # the sweep's id names no vendor
    "accounts_api:vendor_task_list": (403, 400, 404, 404),  # 400: ?request= is required
    "accounts_api:vendor_task_detail": (403, 404, 404, 404),
    "accounts_api:vendor_task_skip": (403, 403, 403, 403),  # POST only: GET has no permission
    "accounts_api:vendor_inbox": (403, 200, 404, 404),
    "accounts_api:vendor_receipt": (403, 404, 404, 404),
    "accounts_api:vendor_receipt_answer": (403, 403, 403, 403),  # POST only
    # --- end of vendors ---
    # --- trust center (trust/) ---
    "accounts:trust_dpa": (302, 200, 404, 404),
    "accounts:trust_dpa_accept": (302, 405, 404, 404),  # POST only
    "accounts:trust_dpa_receipt": (302, 404, 404, 404),  # the sweep's id names no acceptance
    "accounts:trust_objection": (302, 405, 404, 404),  # POST only
    "accounts:trust_banner_dismiss": (302, 405, 404, 404),  # POST only
    "trust:index": (200, 200, 200, 200),  # public
    "trust:receipt_key": (200, 200, 200, 200),
    "trust:document": (404, 404, 404, 404),  # the sweep's "document" names none
    "trust:version": (404, 404, 404, 404),
    "trust:diff": (404, 404, 404, 404),
    "trust:status": (200, 200, 200, 200),
    "trust:status_json": (200, 200, 200, 200),
    # --- end of trust center ---
    # --- incidents (incidents/): the sweep's ids name no incident; POST-only actions 405 ---
    "accounts:incident_list": (302, 200, 404, 404),
    "accounts:incident_create": (302, 200, 404, 404),
    "accounts:incident_detail": (302, 404, 404, 404),
    "accounts:incident_status": (302, 405, 404, 404),
    "accounts:incident_regimes": (302, 405, 404, 404),
    "accounts:incident_delay": (302, 405, 404, 404),
    "accounts:incident_delay_end": (302, 405, 404, 404),
    "accounts:incident_notify_districts": (302, 405, 404, 404),
    "accounts:incident_acknowledge": (302, 405, 404, 404),
    "accounts:incident_recipients": (302, 405, 404, 404),
    "accounts:incident_notice_prepare": (302, 404, 404, 404),
    "accounts:incident_notice": (302, 404, 404, 404),
    "accounts:incident_notice_send": (302, 405, 404, 404),
    "accounts:incident_letter": (302, 404, 404, 404),
    "accounts:incident_submission": (302, 405, 404, 404),
    "accounts_api:incident_list": (403, 200, 404, 404),
    "accounts_api:incident_detail": (403, 404, 404, 404),
    "accounts_api:incident_status": (403, 403, 403, 403),  # POST only: GET has no permission
    "accounts_api:incident_regimes": (403, 403, 403, 403),
    "accounts_api:incident_districts": (403, 404, 404, 404),
    "accounts_api:incident_create": (403, 403, 403, 403),
    "accounts_api:incident_notify": (403, 403, 403, 403),
    "accounts_api:incident_acknowledge": (403, 403, 403, 403),
    # --- end of incidents ---
    # --- privacy requests: the public intake at /privacy/<org-slug>/ (intake engineer) ---
    "privacy_intake:form": (200, 200, 200, 200),  # public: no sign-in, any visitor
    "privacy_intake:submitted": (200, 200, 200, 200),
    "privacy_intake:confirm_email": (404, 404, 404, 404),  # the sweep's token names no link
    # --- end of the public intake ---
    # --- privacy requests: the requester portal at /privacy/<org-slug>/ (portal engineer) ---
    "privacy_intake:portal_link": (200, 200, 200, 200),  # public: email + reference form
    "privacy_intake:portal": (302, 302, 302, 302),  # no portal session: to the link form
    "privacy_intake:portal_reply": (405, 405, 405, 405),  # POST only
    "privacy_intake:portal_sign_out": (405, 405, 405, 405),  # POST only
    "privacy_intake:portal_open": (404, 404, 404, 404),  # the sweep's token names no link
    # --- end of the requester portal ---
    # --- exports (exports/) ---
    "accounts:export_list": (302, 200, 404, 404),
    "accounts:export_progress": (302, 404, 404, 404),  # the sweep's id names no export
    "accounts:export_download": (302, 405, 404, 404),  # POST only: audited
    "accounts_api:export_list": (403, 200, 404, 404),
    "accounts_api:export_detail": (403, 404, 404, 404),
    "accounts_api:export_download": (403, 403, 403, 403),  # POST only: GET has no permission
    # --- end of exports ---
}
# The Django admin is uniform: staff only. Non-staff are sent to the admin's sign-in page.
ADMIN_EXPECTED = {"anonymous": {302}, "member_a": {302}, "member_b": {302}, "ops": {200, 302}}
ADMIN_SPECIAL: dict[str, dict[str, set[int]]] = {
    # no form of its own: to the portal's sign-in; members signed in are told it is ops only
    "admin:login": {"anonymous": {302}, "member_a": {403}, "member_b": {403}, "ops": {302}},
    "admin:logout": {**ADMIN_EXPECTED, "ops": {405}},  # sign-out is POST only
    "admin:autocomplete": {**ADMIN_EXPECTED, "ops": {403}},  # needs a registered field
    "admin:view_on_site": {**ADMIN_EXPECTED, "ops": {404}},  # no such object to show
    "admin:accounts_membership_add": {**ADMIN_EXPECTED, "ops": {403}},  # added per organization
    "admin:accounts_webauthncredential_add": {**ADMIN_EXPECTED, "ops": {403}},  # browser only
    # rules are disabled, never deleted: a snapshot's rule versions must stay meaningful
    "admin:privacy_requests_jurisdictionrule_delete": {**ADMIN_EXPECTED, "ops": {403}},
    "admin:unnamed admin/(?P<url>.*)$": {**ADMIN_EXPECTED, "ops": {404}},  # unknown admin path
    # breach rules too: disabled, never deleted (incidents.admin)
    "admin:incidents_breachrule_delete": {**ADMIN_EXPECTED, "ops": {403}},
    # --- audit log: read-only for ops too ---
    "admin:audit_auditevent_add": {**ADMIN_EXPECTED, "ops": {403}},
    "admin:audit_auditevent_delete": {**ADMIN_EXPECTED, "ops": {403}},
    # checkpoints and TOTP devices: read-only records (audit.admin, k12cloud.admin_site)
    **{
        f"admin:{model}_{view}": {**ADMIN_EXPECTED, "ops": {403}}
        for model in ("audit_auditcheckpoint", "otp_totp_totpdevice")
        for view in ("add", "delete")
    },
    # --- notifications: emails, notices and task runs are read-only for ops ---
    **{
        f"admin:notifications_{model}_{view}": {**ADMIN_EXPECTED, "ops": {403}}
        for model in ("notification", "outboundemail", "taskrun")
        for view in ("add", "delete")
    },
    # --- billing: Stripe's records are read-only for ops (billing.admin) ---
    "admin:billing_invoice_add": {**ADMIN_EXPECTED, "ops": {403}},
    "admin:billing_invoice_delete": {**ADMIN_EXPECTED, "ops": {403}},
    "admin:billing_subscription_add": {**ADMIN_EXPECTED, "ops": {403}},
    "admin:billing_subscription_delete": {**ADMIN_EXPECTED, "ops": {403}},
    "admin:billing_stripeevent_add": {**ADMIN_EXPECTED, "ops": {403}},
    "admin:billing_stripeevent_delete": {**ADMIN_EXPECTED, "ops": {403}},
    # --- trust center: acceptances, objections and health checks are read-only for ops;
    # maintenance windows are cancelled, never deleted ---
    **{
        f"admin:trust_{model}_{view}": {**ADMIN_EXPECTED, "ops": {403}}
        for model in ("dpaacceptance", "documentobjection", "healthcheck")
        for view in ("add", "delete")
    },
    "admin:trust_maintenancewindow_delete": {**ADMIN_EXPECTED, "ops": {403}},
    # --- retention: changes go through the services' admin actions (retention.admin) ---
    **{
        f"admin:retention_{model}_{view}": {**ADMIN_EXPECTED, "ops": {403}}
        for model in (
            "organizationretention",
            "retentionrun",
            "legalhold",
            "retentionrule",
            "deidentificationcertificate",
        )
        for view in ("add", "delete")
    },
    # --- backups: made by the command and beat, pruned by retention; read-only here ---
    **{
        f"admin:backups_{model}_{view}": {**ADMIN_EXPECTED, "ops": {403}}
        for model in ("backup", "restoredrill")
        for view in ("add", "delete")
    },
}


def url_patterns() -> Iterator[tuple[str, str]]:
    def walk(patterns: list, namespace: str = "", route: str = "") -> Iterator[tuple[str, str]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, ns, route + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                full_route = route + str(pattern.pattern)
                if pattern.name is None:
                    # the admin's unnamed "<object_id>/" redirects to the change page
                    if not full_route.startswith("admin/"):
                        raise AssertionError(f"unnamed URL pattern {full_route}")
                    yield f"admin:unnamed {full_route}", full_route
                else:
                    yield f"{namespace}{pattern.name}", full_route

    yield from walk(get_resolver().url_patterns)


def build_url(name: str, route: str, tenant: Tenant, device_pk: int) -> str:
    values = {
        "org_slug": tenant.organization.slug,
        "membership_id": tenant.membership_of(tenant.viewer).pk,
        "key": "not-a-real-key",
        "uidb36": "zz",
        "object_id": tenant.organization.pk,
        "app_label": "accounts",
        "content_type_id": 1,
        "pk": device_pk,
        "id": tenant.admin.pk,
        "invitation_id": 999_999,
        "token": "not-a-real-token",
        "key_id": 999_999,
        "passkey_id": 999_999,
        # billing: ids that name no invoice, purchase order or billing contact
        "invoice_id": 999_999,
        "purchase_order_id": 999_999,
        "contact_id": 999_999,
        "evidence_id": 999_999,  # evidence files: POST only, refused before the id is read
        # SIS sources: ids that name no source, import or student link
        "source_id": 999_999,
        "import_id": 999_999,
        "link_id": 999_999,
        # vendors: ids that name no vendor, task, file or forwarded task
        "vendor_id": 999_999,
        "task_id": 999_999,
        "file_id": 999_999,
        "receipt_id": 999_999,
        "export_id": 999_999,  # exports: names no export
        # trust center: names no document, version or acceptance
        "document": "no-such-document",
        "number": 999_999,
        "acceptance_id": 999_999,
        # incidents: ids that name no incident, leg, delay or notice
        "incident_id": 999_999,
        "leg_id": 999_999,
        "delay_id": 999_999,
        "notice_id": 999_999,
    }
    if name == "admin:unnamed admin/(?P<url>.*)$":
        return "/admin/no-such-page/"
    if name.startswith("admin:unnamed "):
        return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)
    wanted = set(re.findall(r"<(?:\w+:)?(\w+)>", route)) | set(re.findall(r"\?P<(\w+)>", route))
    if "request_id" in wanted:  # privacy requests: a real request of the tenant
        values["request_id"] = stored_request(tenant.organization).pk
    return reverse(name, kwargs={key: values[key] for key in wanted})


ALL_PATTERNS = sorted(set(url_patterns()))


def test_every_url_pattern_has_a_row() -> None:
    missing = [
        name for name, _ in ALL_PATTERNS if name not in EXPECTED and not name.startswith("admin:")
    ]
    assert missing == [], f"add these URL names to EXPECTED: {missing}"
    stale = set(EXPECTED) - {name for name, _ in ALL_PATTERNS}
    assert stale == set(), f"EXPECTED has rows for URLs that no longer exist: {stale}"


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "route"), ALL_PATTERNS, ids=[n for n, _ in ALL_PATTERNS])
def test_url_access(name: str, route: str, tenant_a: Tenant, tenant_b: Tenant, ops_user) -> None:
    device = TOTPDevice.objects.create(user=ops_user, name="sweep")
    url = build_url(name, route, tenant_a, device.pk)
    clients = {
        "anonymous": signed_in(None),
        "member_a": signed_in(tenant_a.admin),
        "member_b": signed_in(tenant_b.admin),
        "ops": signed_in(ops_user),
    }
    got = {actor: clients[actor].get(url).status_code for actor in ACTORS}
    if name.startswith("admin:"):
        allowed = ADMIN_SPECIAL.get(name, ADMIN_EXPECTED)
        wrong: dict[str, object] = {a: got[a] for a in ACTORS if got[a] not in allowed[a]}
    else:
        expected = dict(zip(ACTORS, EXPECTED[name], strict=True))
        wrong = {a: (got[a], expected[a]) for a in ACTORS if got[a] != expected[a]}
    assert wrong == {}, f"{url}: (got, expected) by actor: {wrong}"
