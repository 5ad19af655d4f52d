"""Roles and the permission matrix: the one place that says which role may do what.

The portal's and the API's base classes consult `role_allows`; a table-driven test checks
every role against every page and API action.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ORG_ADMIN = "org_admin", _("Organization admin")
    PRIVACY_OFFICER = "privacy_officer", _("Privacy officer")
    PRIVACY_STAFF = "privacy_staff", _("Privacy staff")
    BILLING_CONTACT = "billing_contact", _("Billing contact")
    VIEWER = "viewer", _("Viewer")


class Permission(StrEnum):
    DASHBOARD_VIEW = "dashboard.view"
    ORGANIZATION_VIEW = "organization.view"
    MEMBERS_VIEW = "members.view"
    # invite, change roles, deactivate and reactivate members, unlock locked-out members
    MEMBERS_MANAGE = "members.manage"
    # MFA policy, IP allowlist, session timeouts, single sign-on
    SECURITY_MANAGE = "security.manage"
    API_KEYS_MANAGE = "api_keys.manage"
    # the organization's audit log: read it, filter it, export it
    AUDIT_VIEW = "audit.view"
    # privacy requests: read them; work them (intake, verify, acknowledge, extend, close);
    # assign them to a colleague
    REQUESTS_VIEW = "requests.view"
    REQUESTS_WORK = "requests.work"
    REQUESTS_ASSIGN = "requests.assign"
    # take an unassigned request (assign it to oneself) and give one's own request back;
    # assigning to anyone else, or taking a colleague's request, needs REQUESTS_ASSIGN
    REQUESTS_ASSIGN_SELF = "requests.assign_self"
    # --- fulfilment (fulfilment engineer) ---
    # carry out a deletion request: de-identify the person's data (docs/fulfilment.md)
    REQUESTS_ERASE = "requests.erase"
    # --- end of fulfilment ---
    # --- routing (routing engineer) ---
    DEADLINE_RULES_MANAGE = "deadline_rules.manage"
    # --- end of routing ---
    # --- notifications (notifications engineer) ---
    # the member's own notifications (the bell) and how they want to be emailed
    NOTIFICATIONS_VIEW = "notifications.view"
    # the organization's privacy contact: the Reply-To of every email to a requester
    PRIVACY_CONTACT_MANAGE = "privacy_contact.manage"
    # --- end of notifications ---
    # --- tracking (deadline-tracking engineer) ---
    # the organization's privacy metrics (11 CCR § 7102 figures): page and CSV export
    METRICS_VIEW = "metrics.view"
    # --- end of tracking ---
    # --- billing (billing engineer) ---
    # invoices, plan, purchase orders, billing contacts: see them; change them and pay
    BILLING_VIEW = "billing.view"
    BILLING_MANAGE = "billing.manage"
    # --- end of billing ---
    # --- retention (retention engineer) ---
    # retention schedules, legal holds, de-identification runs and certificates
    RETENTION_MANAGE = "retention.manage"
    # --- end of retention ---
    # --- SIS sources (sources engineer) ---
    # the organization's SIS data sources: configure them, upload OneRoster packages
    SOURCES_MANAGE = "sources.manage"
    # search the SIS for a request's student, confirm it, read its records (personal data)
    SOURCES_READ = "sources.read"
    # --- end of SIS sources ---
    # --- vendors (vendors/) ---
    # the vendor registry, its DPA terms and the margin before the district's deadline
    VENDORS_MANAGE = "vendors.manage"
    # tasks other organizations forwarded to this one (a vendor's queue): read and answer them
    VENDOR_TASKS_ANSWER = "vendor_tasks.answer"
    # --- end of vendors ---
    # --- exports (exports/) ---
    # a full export of every row and file of the organization, and downloading it
    ORGANIZATION_EXPORT = "organization.export"
    # --- end of exports ---
    # --- trust center (trust/) ---
    # accept k-12.cloud's DPA for the organization, download receipts, object to a new version
    TRUST_MANAGE = "trust.manage"
    # --- end of trust center ---
    # --- incidents (incidents/) ---
    # the incident register, its legs and deadlines, notices and letters sent (read)
    INCIDENTS_VIEW = "incidents.view"
    # record incidents, confirm breaches and regimes, notify districts, send notices
    INCIDENTS_MANAGE = "incidents.manage"
    # --- end of incidents ---


EVERY_ROLE = frozenset(Role)

PERMISSION_MATRIX: dict[Permission, frozenset[Role]] = {
    Permission.DASHBOARD_VIEW: EVERY_ROLE,
    Permission.ORGANIZATION_VIEW: EVERY_ROLE,
    # who works here is an admin's business, and privacy officers assign requests to people
    Permission.MEMBERS_VIEW: frozenset({Role.ORG_ADMIN, Role.PRIVACY_OFFICER}),
    Permission.MEMBERS_MANAGE: frozenset({Role.ORG_ADMIN}),
    Permission.SECURITY_MANAGE: frozenset({Role.ORG_ADMIN}),
    Permission.API_KEYS_MANAGE: frozenset({Role.ORG_ADMIN}),
    # Accountability is the admins' and the privacy officer's job. Not viewers: the log shows
    # colleagues' activity, IP addresses and browsers (personal data about staff) and the
    # organization's security set-up, which a read-only role does not need to do its work.
    Permission.AUDIT_VIEW: frozenset({Role.ORG_ADMIN, Role.PRIVACY_OFFICER}),
    Permission.REQUESTS_VIEW: frozenset(
        {Role.ORG_ADMIN, Role.PRIVACY_OFFICER, Role.PRIVACY_STAFF, Role.VIEWER}
    ),
    Permission.REQUESTS_WORK: frozenset({Role.ORG_ADMIN, Role.PRIVACY_OFFICER, Role.PRIVACY_STAFF}),
    Permission.REQUESTS_ASSIGN: frozenset({Role.ORG_ADMIN, Role.PRIVACY_OFFICER}),
    # privacy staff pick up work from the queue themselves; officers and admins share it out
    Permission.REQUESTS_ASSIGN_SELF: frozenset(
        {Role.ORG_ADMIN, Role.PRIVACY_OFFICER, Role.PRIVACY_STAFF}
    ),
    # --- fulfilment (fulfilment engineer) ---
    Permission.REQUESTS_ERASE: frozenset({Role.ORG_ADMIN, Role.PRIVACY_OFFICER}),
    # --- end of fulfilment ---
    # --- routing (routing engineer) ---
    Permission.DEADLINE_RULES_MANAGE: frozenset({Role.ORG_ADMIN, Role.PRIVACY_OFFICER}),
    # --- end of routing ---
    # --- notifications (notifications engineer) ---
    Permission.NOTIFICATIONS_VIEW: EVERY_ROLE,
    Permission.PRIVACY_CONTACT_MANAGE: frozenset({Role.ORG_ADMIN, Role.PRIVACY_OFFICER}),
    # --- end of notifications ---
    # --- tracking (deadline-tracking engineer) ---
    Permission.METRICS_VIEW: frozenset({Role.ORG_ADMIN, Role.PRIVACY_OFFICER, Role.PRIVACY_STAFF}),
    # --- end of tracking ---
    # --- billing (billing engineer) ---
    # the bill is the admins' and the billing contact's business, nobody else's
    Permission.BILLING_VIEW: frozenset({Role.ORG_ADMIN, Role.BILLING_CONTACT}),
    Permission.BILLING_MANAGE: frozenset({Role.ORG_ADMIN, Role.BILLING_CONTACT}),
    # --- end of billing ---
    # --- retention (retention engineer) ---
    Permission.RETENTION_MANAGE: frozenset({Role.ORG_ADMIN}),
    # --- end of retention ---
    # --- SIS sources (sources engineer) ---
    # SIS rows are children's personal data: only the roles that read requesters' personal
    # data, never viewers or billing contacts
    Permission.SOURCES_MANAGE: frozenset({Role.ORG_ADMIN, Role.PRIVACY_OFFICER}),
    Permission.SOURCES_READ: frozenset({Role.ORG_ADMIN, Role.PRIVACY_OFFICER, Role.PRIVACY_STAFF}),
    # --- end of SIS sources ---
    # --- vendors (vendors/) ---
    # contracts are the admins' and the privacy officer's business; forwarding a request to a
    # vendor is request work (REQUESTS_WORK)
    Permission.VENDORS_MANAGE: frozenset({Role.ORG_ADMIN, Role.PRIVACY_OFFICER}),
    Permission.VENDOR_TASKS_ANSWER: frozenset(
        {Role.ORG_ADMIN, Role.PRIVACY_OFFICER, Role.PRIVACY_STAFF}
    ),
    # --- end of vendors ---
    # --- exports (exports/) ---
    # everything the organization holds, in one file: its admins only
    Permission.ORGANIZATION_EXPORT: frozenset({Role.ORG_ADMIN}),
    # --- end of exports ---
    # --- trust center (trust/) ---
    # the agreement with k-12.cloud is the organization admins' business
    Permission.TRUST_MANAGE: frozenset({Role.ORG_ADMIN}),
    # --- end of trust center ---
    # --- incidents (incidents/) ---
    # an incident's facts and notices are confidential: privacy roles only; deciding (a breach,
    # the regimes, who is notified) is the admins' and the privacy officer's
    Permission.INCIDENTS_VIEW: frozenset(
        {Role.ORG_ADMIN, Role.PRIVACY_OFFICER, Role.PRIVACY_STAFF}
    ),
    Permission.INCIDENTS_MANAGE: frozenset({Role.ORG_ADMIN, Role.PRIVACY_OFFICER}),
    # --- end of incidents ---
}

# Roles that handle personal data or administer the organization: the default MFA policy
# ("admins and privacy roles") requires a second factor of these.
PRIVILEGED_ROLES = frozenset({Role.ORG_ADMIN, Role.PRIVACY_OFFICER, Role.PRIVACY_STAFF})


def role_allows(role: str, permission: Permission) -> bool:
    return Role(role) in PERMISSION_MATRIX[permission]


def assignment_allowed(
    *, role: str, actor_id: int | None, current_assignee_id: int | None, assignee_id: int | None
) -> bool:
    """May a caller of `role` (the user `actor_id`; None for an API key) set a request's
    assignee from `current_assignee_id` to `assignee_id` (None: nobody)?

    REQUESTS_ASSIGN: any change. REQUESTS_ASSIGN_SELF alone: take an unassigned request (or
    keep one's own), or give one's own request back; never a colleague's, never to a
    colleague. An API key has no self: with REQUESTS_ASSIGN_SELF alone it may assign nothing.
    """
    if role_allows(role, Permission.REQUESTS_ASSIGN):
        return True
    if actor_id is None or not role_allows(role, Permission.REQUESTS_ASSIGN_SELF):
        return False
    if assignee_id == current_assignee_id:
        return True  # no change
    if assignee_id == actor_id:
        return current_assignee_id in (None, actor_id)
    return assignee_id is None and current_assignee_id == actor_id


# The accounts attackers phish: when the organization requires a phishing-resistant factor,
# these roles must sign in with a passkey or security key (an authenticator code is not enough).
PHISHING_RESISTANT_ROLES = frozenset({Role.ORG_ADMIN, Role.PRIVACY_OFFICER})
