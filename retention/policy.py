"""The retention policy: data categories and the periods the privacy policy promises.

These are the platform's maximums. An organization may shorten a period (a `RetentionRule`
row, where the law allows it) but never lengthen one past the policy: the policy is what the
security page and the privacy policy promise every customer.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    ACCOUNT_RECORDS = "account_records", _("Account records (members, invitations, keys)")
    PRIVACY_REQUESTS = "privacy_requests", _("Privacy requests, their messages and files")
    AUDIT_EVENTS = "audit_events", _("Audit events")
    BILLING_RECORDS = "billing_records", _("Billing and financial records")
    UPLOADED_FILES = "uploaded_files", _("Uploaded files and response packages")
    NOTIFICATIONS = "notifications", _("Notifications and sent email")
    # --- SIS sources (sources engineer) ---
    SIS_RECORDS = "sis_records", _("Student records imported from the SIS (OneRoster)")
    # --- end of SIS sources ---


class Trigger(models.TextChoices):
    """What the period counts from."""

    TERMINATION = "termination", _("after the organization is terminated")
    INACTIVITY = "inactivity", _("after the last meaningful activity")
    CLOSURE = "closure", _("after the request is closed")
    CREATION = "creation", _("after the record is created")


@dataclass(frozen=True)
class PolicyPeriod:
    category: Category
    days: int
    trigger: Trigger
    # may an organization choose a shorter period? (audit and financial records: no, the law
    # and our own accountability need them for the full period)
    shortenable: bool = True


YEAR = 365

# After termination every category except the kept ones (audit, financial) is de-identified
# TERMINATED_CUSTOMER_DAYS after `terminated_at`, or WRITTEN_REQUEST_DAYS after a written request.
TERMINATED_CUSTOMER_DAYS = 90
WRITTEN_REQUEST_DAYS = 30

POLICY: dict[Category, PolicyPeriod] = {
    Category.ACCOUNT_RECORDS: PolicyPeriod(Category.ACCOUNT_RECORDS, 3 * YEAR, Trigger.INACTIVITY),
    Category.PRIVACY_REQUESTS: PolicyPeriod(Category.PRIVACY_REQUESTS, 3 * YEAR, Trigger.CLOSURE),
    Category.AUDIT_EVENTS: PolicyPeriod(
        Category.AUDIT_EVENTS, 7 * YEAR, Trigger.CREATION, shortenable=False
    ),
    Category.BILLING_RECORDS: PolicyPeriod(
        Category.BILLING_RECORDS, 7 * YEAR, Trigger.CREATION, shortenable=False
    ),
    Category.UPLOADED_FILES: PolicyPeriod(Category.UPLOADED_FILES, 3 * YEAR, Trigger.CLOSURE),
    Category.NOTIFICATIONS: PolicyPeriod(Category.NOTIFICATIONS, 3 * YEAR, Trigger.CREATION),
    # --- SIS sources (sources engineer) ---
    # a working copy of the district's SIS, for answering requests: the SIS stays the record;
    # an import is kept a school year, then removed (sources.retention)
    Category.SIS_RECORDS: PolicyPeriod(Category.SIS_RECORDS, YEAR, Trigger.CREATION),
    # --- end of SIS sources ---
}

# Categories whose records outlive a terminated customer (kept for their own period).
KEPT_AFTER_TERMINATION = frozenset({Category.AUDIT_EVENTS, Category.BILLING_RECORDS})
