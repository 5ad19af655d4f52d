"""Finding what is due and running the engine for it (the daily sweep and `retention_run`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

from accounts.models import Organization
from k12cloud.tenancy import tenant_context
from retention.declarations import declaration_for
from retention.engine import USERS, due_counts, organization_deidentify
from retention.models import RetentionRun
from retention.policy import TERMINATED_CUSTOMER_DAYS, WRITTEN_REQUEST_DAYS, Category
from retention.selectors import organization_hold_active
from retention.termination import deidentification_due_on


class Outcome:
    DUE = "due"
    NOT_DUE = "not due"
    HELD = "held"
    DONE = "done"
    ACTIVE = "active"


@dataclass
class Plan:
    organization: Organization
    outcome: str
    due_on: date | None
    rule: str
    counts: dict[str, int] = field(default_factory=dict)  # per category

    @property
    def runnable(self) -> bool:
        return self.outcome == Outcome.DUE


def _rule(organization: Organization) -> str:
    if organization.deletion_requested_at is not None:
        return (
            f"terminated customer data: {WRITTEN_REQUEST_DAYS} days after the written "
            f"deletion request (at most {TERMINATED_CUSTOMER_DAYS} days after termination)"
        )
    return f"terminated customer data: {TERMINATED_CUSTOMER_DAYS} days after termination"


def _per_category(counts: dict[str, int]) -> dict[str, int]:
    totals: Counter[str] = Counter({c.value: 0 for c in Category})
    for label, rows in counts.items():
        declaration = declaration_for(label)
        category = Category.ACCOUNT_RECORDS if label == USERS else declaration.category  # type: ignore[union-attr]
        totals[category] += rows
    return dict(totals)


def plan_for(organization: Organization, *, today: date | None = None) -> Plan:
    """What a run would do for the organization today (reads only)."""
    today = today or timezone.localdate()
    due_on = deidentification_due_on(organization)
    rule = _rule(organization)
    if due_on is None:
        return Plan(organization, Outcome.ACTIVE, None, "")
    with tenant_context(organization):
        run = RetentionRun.objects.filter(kind=RetentionRun.Kind.TERMINATION).first()
        if run is not None and run.status == RetentionRun.Status.COMPLETED:
            return Plan(organization, Outcome.DONE, due_on, run.rule)
        held = organization_hold_active(organization=organization, today=today)
    counts = _per_category(due_counts(organization.pk))
    if due_on > today:
        return Plan(organization, Outcome.NOT_DUE, due_on, rule, counts)
    if held:
        return Plan(organization, Outcome.HELD, due_on, rule, counts)
    return Plan(organization, Outcome.DUE, due_on, rule, counts)


def terminated_organizations() -> list[Organization]:
    # Organization is not tenant-owned: listing them reads no tenant data
    return list(Organization.objects.filter(status=Organization.Status.TERMINATED).order_by("pk"))


def organization_retention_run(*, organization_id: int, today: date | None = None) -> str:
    """Run the engine for one organization if it is due and nothing of it is held.

    Returns the outcome; safe to call any number of times (the engine resumes or no-ops).
    """
    organization = Organization.objects.get(pk=organization_id)
    plan = plan_for(organization, today=today)
    if plan.runnable:
        assert plan.due_on is not None
        organization_deidentify(organization=organization, due_on=plan.due_on, rule=plan.rule)
        return Outcome.DONE
    return plan.outcome
