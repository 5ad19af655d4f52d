"""Writes for retention rules and legal holds (termination: retention.termination;
de-identification: retention.engine)."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization, User
from audit.actions import Action
from audit.services import record
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from retention.models import LegalHold, RetentionRule
from retention.policy import POLICY, Category


def rule_set(
    *, organization: Organization, actor: User | None, category: str, days: int | None
) -> RetentionRule | None:
    """Shorten (or, with `days=None`, reset to the policy) the period of one category.

    Raises ValidationError naming the field: `category` unknown; `days` not positive, longer
    than the policy, or for a category the policy keeps for its full period.
    """
    if category not in Category.values:
        raise ValidationError({"category": _("Unknown data category.")})
    policy = POLICY[Category(category)]
    if days is not None:
        if days < 1:
            raise ValidationError({"days": _("The period must be at least one day.")})
        if days > policy.days:
            raise ValidationError(
                {
                    "days": _(
                        "The policy keeps this category at most %(max)s days; an organization "
                        "may shorten the period, never lengthen it."
                    )
                    % {"max": policy.days}
                }
            )
        if not policy.shortenable and days != policy.days:
            raise ValidationError(
                {"days": _("This category is kept for the full policy period by law.")}
            )
    with tenant_context(organization):
        existing = RetentionRule.objects.filter(category=category).select_for_update().first()
        previous = existing.days if existing else policy.days
        if days is None or days == policy.days:
            if existing:
                existing.delete()
            rule = None
        elif existing:
            existing.days, existing.updated_by = days, actor
            existing.save(update_fields=["days", "updated_by", "updated_at"])
            rule = existing
        else:
            rule = RetentionRule.objects.create(
                organization=organization, category=category, days=days, updated_by=actor
            )
        current = days if days is not None else policy.days
        if current != previous:
            record(
                Action.RETENTION_RULE_CHANGED,
                organization=organization,
                target=("retention.category", category),
                changes={"category": category, "days": [previous, current]},
            )
    return rule


def legal_hold_place(
    *,
    organization: Organization,
    actor: User | None,
    scope: str,
    reason: str,
    ends_on: date,
    user: User | None = None,
    request: PrivacyRequest | None = None,
    category: str = "",
) -> LegalHold:
    """Place a legal hold (ops staff or an organization admin). Audited; the reason is
    encrypted and never copied into the audit event."""
    errors: dict[str, str] = {}
    if scope not in LegalHold.Scope.values:
        errors["scope"] = _("Choose what the hold covers.")
    if not reason.strip():
        errors["reason"] = _("Give the reason for the hold.")
    if ends_on <= timezone.localdate():
        errors["ends_on"] = _("The end date must be in the future.")
    if scope == LegalHold.Scope.USER and user is None:
        errors["user"] = _("Choose the user the hold covers.")
    if scope == LegalHold.Scope.REQUEST and request is None:
        errors["request"] = _("Choose the request the hold covers.")
    if scope == LegalHold.Scope.CATEGORY and category not in Category.values:
        errors["category"] = _("Choose the data category the hold covers.")
    if errors:
        raise ValidationError(errors)
    with tenant_context(organization):
        if user is not None and not Membership.objects.filter(user=user).exists():
            raise ValidationError({"user": _("That user is not a member of this organization.")})
        if request is not None and request.organization_id != organization.pk:
            raise ValidationError({"request": _("No such request.")})
        hold = LegalHold.objects.create(
            organization=organization,
            scope=scope,
            user=user if scope == LegalHold.Scope.USER else None,
            request=request if scope == LegalHold.Scope.REQUEST else None,
            category=category if scope == LegalHold.Scope.CATEGORY else "",
            reason=reason.strip(),
            ends_on=ends_on,
            placed_by=actor,
        )
        record(
            Action.LEGAL_HOLD_PLACED,
            organization=organization,
            target=hold,
            changes={"scope": scope, "ends_on": ends_on.isoformat(), "category": hold.category},
        )
    return hold


def legal_hold_release(
    *, organization: Organization, actor: User | None, hold_id: int
) -> LegalHold:
    """Release a hold before its end date. Releasing twice changes nothing the second time."""
    with tenant_context(organization), transaction.atomic():
        hold = LegalHold.objects.select_for_update().filter(pk=hold_id).first()
        if hold is None:
            raise ValidationError({"hold": _("No such legal hold.")})
        if hold.released_at is None:
            hold.released_at, hold.released_by = timezone.now(), actor
            hold.save(update_fields=["released_at", "released_by"])
            record(
                Action.LEGAL_HOLD_RELEASED,
                organization=organization,
                target=hold,
                changes={"scope": hold.scope},
            )
    return hold
