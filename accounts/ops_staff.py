"""The "Ops staff" group: what k-12.cloud's operations staff may do in the Django admin.

One table, synced by `manage.py ops_group` (run on each deploy, and by `seed_demo`). Ops staff
are users with `is_staff` in this group, never superusers; the admin asks them for their
second factor (k12cloud.admin_site). docs/ops-admin.md explains each grant.

Records are read-only: audit events and checkpoints, outbound emails, notifications, task runs,
retention runs, Stripe's invoices. Changes that matter go through services that audit them
(admin actions: mark an invoice paid, terminate an organization, release a legal hold...).
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

OPS_GROUP = "Ops staff"

# app label -> codenames; "*" is every permission of the app
OPS_PERMISSIONS: dict[str, tuple[str, ...]] = {
    # tenants, members, users, passkeys (removal audited by accounts.admin)
    "accounts": ("*",),
    # plans and Stripe customers; invoices, subscriptions and events are read-only admins
    "billing": ("*",),
    # the deadline rules table: edited here through privacy_requests.rules.services (audited,
    # versioned); rows are disabled, never deleted
    "privacy_requests": (
        "view_jurisdictionrule",
        "add_jurisdictionrule",
        "change_jurisdictionrule",
    ),
    # records: read-only
    "audit": ("view_auditevent", "view_auditcheckpoint"),
    "notifications": ("view_outboundemail", "view_notification", "view_taskrun"),
    "retention": (
        "view_organizationretention",
        "view_retentionrun",
        "view_legalhold",
        "view_retentionrule",
        "view_deidentificationcertificate",
    ),
    # backups and restore drills: records, read-only (backups.admin)
    "backups": ("view_backup", "view_restoredrill"),
    # the breach-notification rules table: edited here (versioned, audited), never deleted
    "incidents": ("view_breachrule", "add_breachrule", "change_breachrule"),
    # the trust center: documents and maintenance are drafted, published and scheduled here
    # (published versions refuse edits, trust.admin and a trigger); the organizations'
    # acceptances and objections, and the health checks, are records: read-only
    "trust": (
        "view_documentversion",
        "add_documentversion",
        "change_documentversion",
        "view_maintenancewindow",
        "add_maintenancewindow",
        "change_maintenancewindow",
        "view_dpaacceptance",
        "view_documentobjection",
        "view_healthcheck",
    ),
    # people's sign-in records, read-only (a change here would bypass the audited services)
    "auth": ("view_group",),
    "account": ("view_emailaddress",),
    "socialaccount": ("view_socialaccount",),
    "otp_totp": ("view_totpdevice",),
}


def ops_permissions() -> list[Permission]:
    query = Q(pk__in=[])
    for app_label, codenames in OPS_PERMISSIONS.items():
        if codenames == ("*",):
            query |= Q(content_type__app_label=app_label)
        else:
            query |= Q(content_type__app_label=app_label, codename__in=codenames)
    return list(Permission.objects.filter(query).order_by("pk"))


def ops_group_sync() -> Group:
    """Create the group if needed and give it exactly OPS_PERMISSIONS (idempotent)."""
    group, _ = Group.objects.get_or_create(name=OPS_GROUP)
    group.permissions.set(ops_permissions())
    return group
