"""Reads for retention: effective periods, holds, runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Organization
from retention.models import LegalHold, RetentionRule, RetentionRun
from retention.policy import POLICY, Category, PolicyPeriod


@dataclass(frozen=True)
class Schedule:
    policy: PolicyPeriod
    days: int  # the organization's period (its rule, else the policy's)

    @property
    def shortened(self) -> bool:
        return self.days < self.policy.days


def schedule_list(*, organization: Organization) -> list[Schedule]:
    """Every category with the organization's effective period (one query)."""
    rules = dict(
        RetentionRule.objects.for_organization(organization).values_list("category", "days")
    )
    return [Schedule(POLICY[c], rules.get(c.value, POLICY[c].days)) for c in Category]


def legal_hold_list(*, organization: Organization) -> QuerySet[LegalHold]:
    return LegalHold.objects.for_organization(organization).order_by("-placed_at", "-pk")


def legal_holds_active(
    *, organization: Organization, today: date | None = None
) -> QuerySet[LegalHold]:
    today = today or timezone.localdate()
    return LegalHold.objects.for_organization(organization).filter(
        released_at__isnull=True, ends_on__gte=today
    )


def organization_hold_active(*, organization: Organization, today: date | None = None) -> bool:
    """Is any of the organization's data held?

    A terminated organization's de-identification ends with destroying its data key, which
    makes every encrypted value unreadable, held or not: so any active hold (organization,
    user, request or category) stops the whole run until it ends or is released.
    """
    return legal_holds_active(organization=organization, today=today).exists()


def retention_run_list(*, organization: Organization) -> QuerySet[RetentionRun]:
    return RetentionRun.objects.for_organization(organization).order_by("-started_at", "-pk")
