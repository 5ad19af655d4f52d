"""The catalogue of audited actions: every state change that matters has one name here.

Names are `area.verb_past_tense`. A table-driven test (audit issue) proves that each
security-relevant action writes exactly one event; add new actions here, never ad hoc strings.
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    # sign-in and credentials (platform events: no organization)
    SIGNED_IN = "auth.signed_in"
    SIGN_IN_FAILED = "auth.sign_in_failed"
    LOCKED_OUT = "auth.locked_out"
    UNLOCKED = "auth.unlocked"
    SIGNED_OUT = "auth.signed_out"
    SESSIONS_REVOKED = "auth.sessions_revoked"
    SESSION_EXPIRED = "auth.session_expired"
    PASSWORD_CHANGED = "auth.password_changed"  # noqa: S105 (an action name)
    PASSWORD_RESET = "auth.password_reset"  # noqa: S105
    # second factor
    MFA_ENROLLED = "mfa.enrolled"
    MFA_REMOVED = "mfa.removed"
    MFA_RECOVERY_CODES_GENERATED = "mfa.recovery_codes_generated"
    MFA_RECOVERY_CODE_USED = "mfa.recovery_code_used"
    MFA_VERIFICATION_FAILED = "mfa.verification_failed"
    # passkeys and security keys (accounts.mfa.passkeys)
    MFA_PASSKEY_REGISTERED = "mfa.passkey_registered"
    MFA_PASSKEY_REMOVED = "mfa.passkey_removed"
    # a passkey's signature counter did not grow: a copy of the key may exist (refused)
    MFA_PASSKEY_CLONE_SUSPECTED = "mfa.passkey_clone_suspected"
    # A member's own sign-in and second-factor events, copied onto the chain of each
    # organization where they are an active member (audit.services.MEMBER_COPIES): the
    # organization's auditor reads them there; the platform event stays the original.
    MEMBER_SIGNED_IN = "member_security.signed_in"
    MEMBER_SIGN_IN_FAILED = "member_security.sign_in_failed"
    MEMBER_LOCKED_OUT = "member_security.locked_out"
    MEMBER_MFA_ENROLLED = "member_security.mfa_enrolled"
    MEMBER_PASSKEY_REGISTERED = "member_security.passkey_registered"
    MEMBER_MFA_REMOVED = "member_security.mfa_removed"
    MEMBER_RECOVERY_CODE_USED = "member_security.recovery_code_used"
    # members and invitations (organization events)
    MEMBER_INVITED = "members.invited"
    INVITATION_REVOKED = "members.invitation_revoked"
    INVITATION_ACCEPTED = "members.invitation_accepted"
    MEMBER_ROLE_CHANGED = "members.role_changed"
    MEMBER_DEACTIVATED = "members.deactivated"
    MEMBER_REACTIVATED = "members.reactivated"
    # organization security settings
    MFA_POLICY_CHANGED = "security.mfa_policy_changed"
    IP_ALLOWLIST_CHANGED = "security.ip_allowlist_changed"
    SESSION_POLICY_CHANGED = "security.session_policy_changed"
    SSO_CONNECTION_CHANGED = "security.sso_connection_changed"
    ACCESS_REFUSED_BY_IP = "security.access_refused_by_ip"
    # integrations
    API_KEY_CREATED = "api_keys.created"
    API_KEY_REVOKED = "api_keys.revoked"
    # organizations and platform data
    ORGANIZATION_CREATED = "organizations.created"
    DEMO_DATA_SEEDED = "platform.demo_data_seeded"
    JURISDICTION_RULE_SAVED = "deadlines.jurisdiction_rule_saved"
    RULE_SELECTION_CHANGED = "deadlines.rule_selection_changed"
    CONTRACT_RULE_SAVED = "deadlines.contract_rule_saved"
    CLOSURE_ADDED = "deadlines.closure_added"
    CLOSURE_REMOVED = "deadlines.closure_removed"
    # encryption keys (k12cloud.encryption.keys; master key rotation is a platform event)
    KEY_CREATED = "encryption.key_created"
    KEY_ROTATED = "encryption.key_rotated"
    KEY_DESTROYED = "encryption.key_destroyed"
    MASTER_KEY_ROTATED = "encryption.master_key_rotated"
    # the audit log itself
    AUDIT_EXPORTED = "audit.exported"
    # privacy requests (privacy_requests.services)
    REQUEST_RECEIVED = "requests.received"
    REQUEST_EMAIL_CONFIRMED = "requests.email_confirmed"
    REQUEST_STATUS_CHANGED = "requests.status_changed"
    REQUEST_ASSIGNED = "requests.assigned"
    REQUEST_ACKNOWLEDGED = "requests.acknowledged"
    REQUEST_VERIFIED = "requests.verified"
    REQUEST_EXTENDED = "requests.extended"
    REQUEST_CLOSED = "requests.closed"
    REQUEST_MESSAGE_ADDED = "requests.message_added"
    # the requester portal (privacy_requests.portal): a magic link emailed, then used
    REQUEST_PORTAL_LINK_SENT = "requests.portal_link_sent"
    REQUEST_PORTAL_OPENED = "requests.portal_opened"
    REQUESTS_EXPORTED = "requests.exported"
    # --- fulfilment (fulfilment engineer) ---
    REQUEST_PACKAGE_PREPARED = "requests.package_prepared"
    REQUEST_EVIDENCE_ADDED = "requests.evidence_added"
    REQUEST_EVIDENCE_REMOVED = "requests.evidence_removed"
    REQUEST_EVIDENCE_DOWNLOADED = "requests.evidence_downloaded"
    REQUEST_PACKAGE_DOWNLOADED = "requests.package_downloaded"
    REQUEST_DELETION_PERFORMED = "requests.deletion_performed"
    REQUEST_CORRECTION_RECORDED = "requests.correction_recorded"
    # --- end of fulfilment ---
    # --- routing (routing engineer) ---
    REQUEST_ROUTED_OUT = "requests.routed_out"
    REQUEST_ROUTED_IN = "requests.routed_in"
    REQUEST_DEADLINES_FLAGGED = "requests.deadlines_flagged"
    REQUEST_DEADLINES_REVIEWED = "requests.deadlines_reviewed"
    # --- end of routing ---
    # --- notifications (notifications engineer) ---
    # the organization's privacy contact, the Reply-To of requester emails (domains only)
    PRIVACY_CONTACT_CHANGED = "requests.privacy_contact_changed"
    # --- end of notifications ---
    # --- tracking (deadline-tracking engineer) ---
    # a missed deadline raised with the officers and admins (once per request, deadline, day)
    REQUEST_DEADLINE_ESCALATED = "requests.deadline_escalated"
    # the requester was reminded to confirm their email address (once per request)
    REQUEST_CONFIRMATION_REMINDED = "requests.confirmation_reminded"
    # --- end of tracking ---
    # --- billing (billing engineer) ---
    # billing (billing.services, billing.webhooks); payment data never appears in changes
    BILLING_SUBSCRIPTION_CHANGED = "billing.subscription_changed"
    BILLING_INVOICE_PAID = "billing.invoice_paid"
    BILLING_INVOICE_PAYMENT_FAILED = "billing.invoice_payment_failed"
    BILLING_INVOICE_MARKED_PAID = "billing.invoice_marked_paid"
    BILLING_PURCHASE_ORDER_RECORDED = "billing.purchase_order_recorded"
    BILLING_PURCHASE_ORDER_UPLOADED = "billing.purchase_order_uploaded"
    BILLING_PURCHASE_ORDER_ATTACHED = "billing.purchase_order_attached"
    BILLING_CONTACT_CHANGED = "billing.contact_changed"
    BILLING_OVERDUE_ALERTED = "billing.overdue_alerted"
    BILLING_TERMINATION_PROPOSED = "billing.termination_proposed"
    BILLING_ORGANIZATION_TERMINATED = "billing.organization_terminated"
    # --- end of billing ---
    # --- retention (retention engineer) ---
    # retention (retention.services, retention.termination, retention.engine)
    RETENTION_RULE_CHANGED = "retention.rule_changed"
    LEGAL_HOLD_PLACED = "retention.legal_hold_placed"
    LEGAL_HOLD_RELEASED = "retention.legal_hold_released"
    ORGANIZATION_TERMINATED = "retention.organization_terminated"
    DELETION_REQUEST_RECORDED = "retention.deletion_request_recorded"
    RETENTION_RUN_STARTED = "retention.run_started"
    RETENTION_RUN_COMPLETED = "retention.run_completed"
    RETENTION_CERTIFICATE_ISSUED = "retention.certificate_issued"
    RETENTION_AGED_OUT = "retention.aged_out"  # retention.aging: rows due by age
    # --- end of retention ---
    # --- SIS sources (sources engineer) ---
    # sources.services, sources.importing: never a student's values in `changes`
    SIS_SOURCE_SAVED = "sources.source_saved"
    SIS_PACKAGE_IMPORTED = "sources.package_imported"
    SIS_PACKAGE_REFUSED = "sources.package_refused"
    SIS_SEARCHED = "sources.searched"
    SIS_STUDENT_LINKED = "sources.student_linked"
    SIS_DELETION_RECORDED = "sources.sis_deletion_recorded"
    SIS_RECORDS_FETCHED = "sources.records_fetched"
    SIS_IMPORTS_EXPIRED = "sources.imports_expired"
    # --- end of SIS sources ---
    # vendors and forwarding (vendors/; docs/vendors.md)
    VENDOR_ADDED = "vendors.added"
    VENDOR_CHANGED = "vendors.changed"
    VENDOR_POLICY_CHANGED = "vendors.policy_changed"
    VENDOR_TASK_FORWARDED = "vendors.task_forwarded"  # the district's chain
    VENDOR_TASK_RECEIVED = "vendors.task_received"  # the vendor's chain (the hand-off)
    VENDOR_TASK_ANSWERED = "vendors.task_answered"  # where the vendor answered
    VENDOR_TASK_ANSWER_RECEIVED = "vendors.task_answer_received"  # the district's chain
    VENDOR_TASK_SKIPPED = "vendors.task_skipped"
    VENDOR_TASK_LINK_SENT = "vendors.task_link_sent"
    VENDOR_TASK_LINK_OPENED = "vendors.task_link_opened"
    VENDOR_TASK_REMINDED = "vendors.task_reminded"
    VENDOR_TASK_ESCALATED = "vendors.task_escalated"
    VENDOR_FILE_DOWNLOADED = "vendors.file_downloaded"
    REQUEST_CLOSED_WITH_OPEN_VENDOR_TASKS = "vendors.request_closed_with_open_tasks"
    # --- backups (backups engineer): platform events, no organization (backups/) ---
    BACKUP_CREATED = "backups.created"
    BACKUP_FAILED = "backups.failed"
    BACKUPS_PRUNED = "backups.pruned"
    RESTORE_DRILL_PASSED = "backups.restore_drill_passed"
    RESTORE_DRILL_FAILED = "backups.restore_drill_failed"
    # --- end of backups ---
    # --- exports (exports/; docs/exports.md) ---
    ORGANIZATION_EXPORT_REQUESTED = "exports.requested"
    ORGANIZATION_EXPORT_COMPLETED = "exports.completed"
    ORGANIZATION_EXPORT_FAILED = "exports.failed"
    ORGANIZATION_EXPORT_DOWNLOADED = "exports.downloaded"
    ORGANIZATION_EXPORT_EXPIRED = "exports.expired"  # the file deleted when its link expired
    # --- end of exports ---
    # --- trust center (trust/; docs/trust-center.md) ---
    TRUST_DOCUMENT_PUBLISHED = "trust.document_published"  # platform event
    TRUST_DPA_ACCEPTED = "trust.dpa_accepted"  # the organization's chain
    TRUST_OBJECTION_RECORDED = "trust.objection_recorded"  # the organization's chain
    TRUST_MAINTENANCE_SCHEDULED = "trust.maintenance_scheduled"  # platform event
    TRUST_MAINTENANCE_CHANGED = "trust.maintenance_changed"  # moved or cancelled; platform
    # --- end of trust center ---
    # --- incidents (incidents/; docs/incidents.md) ---
    BREACH_RULE_SAVED = "incidents.breach_rule_saved"  # a platform event (ops staff)
    INCIDENT_RECORDED = "incidents.recorded"
    INCIDENT_STATUS_CHANGED = "incidents.status_changed"
    INCIDENT_REGIMES_CONFIRMED = "incidents.regimes_confirmed"
    INCIDENT_DELAY_RECORDED = "incidents.delay_recorded"
    INCIDENT_NOTICE_SENT_TO_DISTRICT = "incidents.sent_to_district"  # the vendor's chain
    INCIDENT_NOTICE_RECEIVED = "incidents.notice_received"  # the district's chain (hand-off)
    INCIDENT_ACKNOWLEDGED = "incidents.acknowledged"
    INCIDENT_RECIPIENTS_UPLOADED = "incidents.recipients_uploaded"
    INCIDENT_NOTICE_PREPARED = "incidents.notice_prepared"
    INCIDENT_NOTICE_SENDING = "incidents.notice_sending"
    INCIDENT_LEG_MET = "incidents.leg_met"
    INCIDENT_SUBMISSION_RECORDED = "incidents.submission_recorded"
    INCIDENT_LEG_ESCALATED = "incidents.leg_escalated"
    # --- end of incidents ---
