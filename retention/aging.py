"""Age-based de-identification inside ACTIVE organizations (issue #7's policy for customers).

The termination path (retention.engine) de-identifies everything of a terminated organization
and destroys its key. An active organization keeps its key; only the rows that are due by age
are de-identified, with the same per-model declarations (retention.declarations), set-based,
chunk by chunk, each chunk in its own transaction under the organization's tenant context.

What is due, per category (the organization's period: its RetentionRule, else the policy's):

    privacy_requests  requests closed longer ago than the period (Trigger.CLOSURE); with each
                      request, in the same chunk: its events' bodies, its messages, and its
                      requester tokens (deleted)
    uploaded_files    response packages of requests closed longer ago than the period
    notifications     sent-email records and in-app notifications created longer ago than the
                      period (Trigger.CREATION); emails still waiting to be sent are left alone
    account_records   members whose last meaningful activity is older than the period
                      (Trigger.INACTIVITY): the latest of the membership's creation, its
                      deactivation, and the user's last sign-in. For them, in this organization:
                      the invitations they accepted (address replaced) and the names of API
                      keys they created (removed); also invitations never accepted that expired
                      longer ago than the period. The platform-level User row only when the
                      person is not ops staff, has no active membership anywhere, every one of
                      their memberships (in any organization) is inactive for the policy's full
                      period (3 years: the longest any organization may keep it), and no
                      organization holds them.

A de-identified row is marked (`AgedRecord`, ids only), so a second run finds nothing due and
a killed run simply continues the next day. Statistics stay (request type, status, outcome,
channel, dates). Legal holds: an organization-wide hold stops everything; a category hold
skips that category; a request hold skips that request (and its files and emails about it); a
user hold skips that user's account records and notifications, and requests assigned to them
or with messages or events by them.

One audit event per run that changed something (`retention.aged_out`), with row counts per
category and model; no personal values.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from accounts.models import ApiKey, Invitation, Membership, Organization, User
from audit.actions import Action
from audit.context import Actor, acting_as
from audit.services import record
from k12cloud.notifications.models import Notification, OutboundEmail
from k12cloud.tenancy import tenant_context, unscoped_all_tenants
from privacy_requests.fulfilment.models import EvidenceFile, ResponsePackage
from privacy_requests.models import PrivacyRequest, RequesterToken, RequestEvent, RequestMessage
from retention.declarations import Declaration, declaration_for
from retention.engine import (
    DEIDENTIFIED_EMAIL_DOMAIN,
    _Chunks,
    declaration_updates,
    users_deidentify,
)
from retention.models import AgedRecord, LegalHold
from retention.policy import POLICY, Category
from retention.selectors import legal_holds_active, schedule_list

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = Actor.system("retention aging")
USERS = "accounts.User"
PRIVACY_REQUEST = "privacy_requests.PrivacyRequest"
RESPONSE_PACKAGE = "privacy_requests.ResponsePackage"
EVIDENCE_FILE = "privacy_requests.EvidenceFile"
OUTBOUND_EMAIL = "notifications.OutboundEmail"
NOTIFICATION = "notifications.Notification"
MEMBERSHIP = "accounts.Membership"
INVITATION = "accounts.Invitation"
API_KEY = "accounts.ApiKey"

# the labels that age, in the order a run does them, with their category
AGING: tuple[tuple[str, Category], ...] = (
    (PRIVACY_REQUEST, Category.PRIVACY_REQUESTS),
    (RESPONSE_PACKAGE, Category.UPLOADED_FILES),
    (EVIDENCE_FILE, Category.UPLOADED_FILES),
    (OUTBOUND_EMAIL, Category.NOTIFICATIONS),
    (NOTIFICATION, Category.NOTIFICATIONS),
    (MEMBERSHIP, Category.ACCOUNT_RECORDS),
    (INVITATION, Category.ACCOUNT_RECORDS),
    (API_KEY, Category.ACCOUNT_RECORDS),
    (USERS, Category.ACCOUNT_RECORDS),
)
MODELS: dict[str, type[models.Model]] = {
    PRIVACY_REQUEST: PrivacyRequest,
    RESPONSE_PACKAGE: ResponsePackage,
    EVIDENCE_FILE: EvidenceFile,
    OUTBOUND_EMAIL: OutboundEmail,
    NOTIFICATION: Notification,
    MEMBERSHIP: Membership,
    INVITATION: Invitation,
    API_KEY: ApiKey,
}
# done with each privacy request, in its chunk (covered by the request's marker)
REQUEST_CHILDREN: tuple[type[models.Model], ...] = (RequestEvent, RequestMessage, RequesterToken)


@dataclass(frozen=True)
class Holds:
    organization: bool = False
    categories: frozenset[str] = frozenset()
    users: frozenset[int] = frozenset()
    requests: frozenset[int] = frozenset()


@dataclass
class AgingPlan:
    """What an aging run would do for one active organization today."""

    held: bool  # an organization-wide hold: nothing at all
    counts: dict[str, int] = field(default_factory=dict)  # per model label

    @property
    def per_category(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for label, category in AGING:
            totals[category.value] += self.counts.get(label, 0)
        return dict(totals)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _holds(organization: Organization, today: date) -> Holds:
    rows = legal_holds_active(organization=organization, today=today).values_list(
        "scope", "category", "user_id", "request_id"
    )
    scopes = list(rows)
    return Holds(
        organization=any(s == LegalHold.Scope.ORGANIZATION for s, _c, _u, _r in scopes),
        categories=frozenset(c for s, c, _u, _r in scopes if s == LegalHold.Scope.CATEGORY),
        users=frozenset(u for s, _c, u, _r in scopes if s == LegalHold.Scope.USER and u),
        requests=frozenset(r for s, _c, _u, r in scopes if s == LegalHold.Scope.REQUEST and r),
    )


def _cutoffs(organization: Organization, now: datetime) -> dict[Category, datetime]:
    return {
        s.policy.category: now - timedelta(days=s.days)
        for s in schedule_list(organization=organization)
    }


def _rows(model: type[models.Model], organization_id: int) -> models.QuerySet[Any]:
    return model._base_manager.filter(organization_id=organization_id)


def _marked(label: str, organization_id: int) -> models.QuerySet[Any]:
    return _rows(AgedRecord, organization_id).filter(model=label).values("object_id")


def _last_activity() -> Any:
    """A membership's last meaningful activity: the latest of its creation, its deactivation
    and the user's last sign-in (anywhere: User is platform-level)."""
    return Greatest(
        "created_at",
        Coalesce("deactivated_at", "created_at"),
        Coalesce("user__last_login", "created_at"),
    )


class _Due:
    """The due querysets of one organization (call inside its tenant context)."""

    def __init__(self, organization: Organization, holds: Holds, now: datetime) -> None:
        self.org_id = organization.pk
        self.holds = holds
        self.cutoff = _cutoffs(organization, now)
        self.policy_cutoff = now - timedelta(days=POLICY[Category.ACCOUNT_RECORDS].days)

    def skipped(self, category: Category) -> bool:
        return self.holds.organization or category.value in self.holds.categories

    def _requests_not_held(self) -> models.QuerySet[Any]:
        requests = _rows(PrivacyRequest, self.org_id).exclude(pk__in=self.holds.requests)
        users = self.holds.users
        if users:
            requests = (
                requests.exclude(assignee_id__in=users)
                .exclude(
                    pk__in=_rows(RequestMessage, self.org_id)
                    .filter(author_id__in=users)
                    .values("request_id")
                )
                .exclude(
                    pk__in=_rows(RequestEvent, self.org_id)
                    .filter(actor_id__in=users)
                    .values("request_id")
                )
            )
        return requests

    def _members_aged(self) -> models.QuerySet[Any]:
        """User ids of the members whose account records here are due or done."""
        due = self.queryset(MEMBERSHIP)
        done = _rows(Membership, self.org_id).filter(pk__in=_marked(MEMBERSHIP, self.org_id))
        return (
            _rows(Membership, self.org_id)
            .filter(Q(pk__in=due.values("pk")) | Q(pk__in=done.values("pk")))
            .values("user_id")
        )

    def queryset(self, label: str) -> models.QuerySet[Any]:
        """Rows of `label` due now (not held, not yet done)."""
        org_id = self.org_id
        if label == PRIVACY_REQUEST:
            cutoff = self.cutoff[Category.PRIVACY_REQUESTS]
            rows = self._requests_not_held().filter(closed_at__lt=cutoff)
        elif label in (RESPONSE_PACKAGE, EVIDENCE_FILE):
            cutoff = self.cutoff[Category.UPLOADED_FILES]
            closed = self._requests_not_held().filter(closed_at__lt=cutoff).values("pk")
            rows = _rows(MODELS[label], org_id).filter(request_id__in=closed)
        elif label == OUTBOUND_EMAIL:
            rows = (
                _rows(OutboundEmail, org_id)
                .filter(created_at__lt=self.cutoff[Category.NOTIFICATIONS])
                .exclude(status=OutboundEmail.Status.PENDING)
                .exclude(
                    target_type=PrivacyRequest._meta.label_lower,
                    target_id__in=[str(pk) for pk in self.holds.requests],
                )
            )
        elif label == NOTIFICATION:
            rows = (
                _rows(Notification, org_id)
                .filter(created_at__lt=self.cutoff[Category.NOTIFICATIONS])
                .exclude(recipient_id__in=self.holds.users)
                .exclude(
                    target_type=PrivacyRequest._meta.label_lower,
                    target_id__in=[str(pk) for pk in self.holds.requests],
                )
            )
        elif label == MEMBERSHIP:
            rows = (
                _rows(Membership, org_id)
                .alias(last_activity=_last_activity())
                .filter(last_activity__lt=self.cutoff[Category.ACCOUNT_RECORDS])
                .exclude(user_id__in=self.holds.users)
            )
        elif label == INVITATION:
            rows = _rows(Invitation, org_id).filter(
                Q(accepted_by_id__in=self._members_aged())
                | Q(
                    accepted_by__isnull=True,
                    expires_at__lt=self.cutoff[Category.ACCOUNT_RECORDS],
                )
            )
        elif label == API_KEY:
            rows = _rows(ApiKey, org_id).filter(created_by_id__in=self._members_aged())
        else:
            raise ValueError(label)
        return rows.exclude(pk__in=_marked(label, org_id))

    def user_ids(self) -> list[int]:
        """Platform-level users due (see the module docstring): ids only."""
        members_here = [row["user_id"] for row in self._members_aged()]
        if not members_here:
            return []
        with unscoped_all_tenants(
            reason="retention aging: users inactive everywhere, not held anywhere (user ids only)"
        ):
            memberships = Membership._base_manager.all()
            still_active = memberships.filter(
                Q(is_active=True) | Q(deactivated_at__gte=self.policy_cutoff)
            ).values("user_id")
            held = LegalHold._base_manager.filter(
                scope=LegalHold.Scope.USER,
                released_at__isnull=True,
                ends_on__gte=timezone.localdate(),
            ).values("user_id")
            return list(
                User.objects.filter(pk__in=members_here, is_staff=False)
                .exclude(email__endswith=DEIDENTIFIED_EMAIL_DOMAIN)
                .exclude(pk__in=still_active)
                .exclude(pk__in=held)
                .alias(last_seen=Coalesce("last_login", "date_joined"))
                .filter(last_seen__lt=self.policy_cutoff)
                .order_by("pk")
                .values_list("pk", flat=True)
            )


def _category(label: str) -> Category:
    return dict(AGING)[label]


def aging_plan(
    *, organization: Organization, now: datetime | None = None, today: date | None = None
) -> AgingPlan:
    """Rows due by age per model (reads only: the dry run and the portal page)."""
    now = now or timezone.now()
    today = today or timezone.localdate()
    with tenant_context(organization):
        holds = _holds(organization, today)
        if holds.organization:
            return AgingPlan(held=True)
        due = _Due(organization, holds, now)
        counts: dict[str, int] = {}
        for label, category in AGING:
            if due.skipped(category):
                counts[label] = 0
            elif label == USERS:
                counts[label] = len(due.user_ids())
            else:
                counts[label] = due.queryset(label).count()
    return AgingPlan(held=False, counts=counts)


def _apply(declaration: Declaration, rows: models.QuerySet[Any], organization_id: int) -> None:
    if declaration.delete_rows:
        rows._raw_delete(rows.db)  # leaf rows: no cascades
        return
    updates = declaration_updates(declaration, rows.model, organization_id)
    if updates:
        rows.update(**updates)


def _chunk(label: str, ids: list[int], organization_id: int, now: datetime) -> None:
    """De-identify these rows of `label` (and a request's children) and mark them: one
    transaction, the caller's tenant context."""
    model = MODELS[label]
    if label == PRIVACY_REQUEST:
        for child in REQUEST_CHILDREN:
            declaration = declaration_for(child._meta.label)
            assert declaration is not None
            _apply(
                declaration,
                _rows(child, organization_id).filter(request_id__in=ids),
                organization_id,
            )
    declaration = declaration_for(label)
    assert declaration is not None
    _apply(declaration, _rows(model, organization_id).filter(pk__in=ids), organization_id)
    AgedRecord.objects.bulk_create(
        [
            AgedRecord(organization_id=organization_id, model=label, object_id=pk, aged_at=now)
            for pk in ids
        ]
    )


def organization_age_out(
    *,
    organization: Organization,
    now: datetime | None = None,
    today: date | None = None,
    chunk_size: int | None = None,
) -> AgingPlan:
    """De-identify what is due by age in an ACTIVE organization; returns the rows done.

    Idempotent (done rows are marked) and resumable (each chunk commits on its own). A
    terminated organization is left to the termination run (retention.engine).
    """
    now = now or timezone.now()
    today = today or timezone.localdate()
    chunk_size = chunk_size or settings.RETENTION_CHUNK_SIZE
    done: Counter[str] = Counter()
    if organization.status != Organization.Status.ACTIVE:
        return AgingPlan(held=False)
    with tenant_context(organization):
        holds = _holds(organization, today)
        due = _Due(organization, holds, now)  # the periods: read once per run
    if holds.organization:
        return AgingPlan(held=True)
    chunks = _Chunks()  # the engine's failure injection point (tests kill a run half way)
    for label, category in AGING:
        if due.skipped(category):
            continue
        while True:
            with tenant_context(organization):
                if label == USERS:
                    ids = due.user_ids()[:chunk_size]
                    if ids:
                        users_deidentify(ids)
                else:
                    ids = list(
                        due.queryset(label).order_by("pk").values_list("pk", flat=True)[:chunk_size]
                    )
                    if ids:
                        _chunk(label, ids, organization.pk, now)
            if not ids:
                break
            done[label] += len(ids)
            chunks.committed()
    plan = AgingPlan(held=False, counts={label: done[label] for label, _c in AGING})
    if plan.total:
        with tenant_context(organization), acting_as(SYSTEM_ACTOR):
            record(
                Action.RETENTION_AGED_OUT,
                organization=organization,
                target=organization,
                changes={"categories": plan.per_category, "rows": dict(sorted(done.items()))},
            )
        logger.info(
            "retention aging: %s rows de-identified in organization %s",
            plan.total,
            organization.pk,
        )
    return plan
