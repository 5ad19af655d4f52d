"""Writes of the trust center: publish a version, schedule maintenance, accept the DPA.

Every write is one transaction with its audit event; the rules live in trust.rules and are
enforced here (the admin only calls these). Notices are written by trust.notices, which the
task `trust.send_notices` runs per organization after commit and every ten minutes (idempotent:
each notice has a dedupe key per recipient).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from audit.actions import Action
from audit.services import record
from trust.banners import (
    member_banners_forget,
    organization_banners_forget,
    platform_banners_refresh,
)
from trust.models import (
    BannerDismissal,
    DocumentKind,
    DocumentObjection,
    DocumentVersion,
    DpaAcceptance,
    MaintenanceKind,
    MaintenanceWindow,
)
from trust.rules import (
    MAINTENANCE_YEARLY_BUDGET,
    earliest_maintenance_start,
    earliest_material_effective_date,
    format_duration,
    overlap,
    utc_today,
    year_bounds,
)
from trust.selectors import planned_windows_in

logger = logging.getLogger(__name__)


class TrustActionRefused(ValidationError):
    """A rule refused the act; the message says why (and, for dates, what is allowed)."""


def _after_commit_notify() -> None:
    """Refresh the banners now and send the notices (a task per organization) after commit."""

    def run() -> None:
        platform_banners_refresh()
        if settings.NOTIFICATIONS_DELIVERY == "in_process":  # tests: no worker, send here
            from trust.notices import trust_notices_send_everywhere

            trust_notices_send_everywhere()
            return
        try:
            from trust.tasks import send_notices

            send_notices.delay()
        except Exception:  # the broker is down: the ten-minute sweep sends them
            logger.warning("trust: could not enqueue the notices; the sweep will send them")

    transaction.on_commit(run)


# --- documents --------------------------------------------------------------------------------


def document_version_check_editable(version: DocumentVersion) -> None:
    if version.pk is not None and version.is_published:
        raise TrustActionRefused(
            _("Version %(number)s is published: it cannot be changed, only superseded.")
            % {"number": version.number}
        )


def document_version_save(*, version: DocumentVersion) -> DocumentVersion:
    """Save a draft (ops staff, in the admin). A published version is refused."""
    if version.pk is not None:
        stored = DocumentVersion.objects.filter(pk=version.pk).first()
        if stored is not None:
            document_version_check_editable(stored)
    version.save()
    return version


def _publish_problems(version: DocumentVersion, now: datetime) -> dict[str, list[str]]:
    today = utc_today(now)
    problems: dict[str, list[str]] = {}
    if not version.body.strip():
        problems["body"] = [_("A version needs a body.")]
    if version.effective_on < today:
        problems["effective_on"] = [
            _("The effective date cannot be in the past (today is %(today)s, UTC).")
            % {"today": today.isoformat()}
        ]
    elif version.material:
        earliest = earliest_material_effective_date(now)
        if version.effective_on < earliest:
            problems["effective_on"] = [
                _(
                    "A material change needs at least 30 days' notice: the earliest allowed "
                    "effective date is %(earliest)s (UTC calendar days)."
                )
                % {"earliest": earliest.isoformat()}
            ]
    if version.material and not version.summary.strip():
        problems["summary"] = [_("A material change needs a summary of what changed.")]
    return problems


def document_version_publish(
    *, version_id: int, now: datetime | None = None
) -> tuple[DocumentVersion, bool]:
    """Publish a draft: number it, hash it, audit it, then notify (after commit).

    Returns (version, published_now). Publishing again (a retried click or task) publishes
    nothing and writes no second audit event; the notices' dedupe keys make a retried notice
    sweep write nothing twice either.
    """
    now = now or timezone.now()
    with transaction.atomic():
        version = DocumentVersion.objects.select_for_update().get(pk=version_id)
        if version.is_published:
            return version, False
        if version.document == DocumentKind.SUBPROCESSORS:
            # any change of the subprocessor list (an addition above all) is material
            version.material = True
        problems = _publish_problems(version, now)
        if problems:
            raise TrustActionRefused(problems)
        last = (
            DocumentVersion.objects.filter(document=version.document).aggregate(last=Max("number"))[
                "last"
            ]
            or 0
        )
        version.number = last + 1
        version.published_at = now
        version.content_hash = version.compute_hash()
        version.save(
            update_fields=["number", "published_at", "content_hash", "material", "updated_at"]
        )
        record(
            Action.TRUST_DOCUMENT_PUBLISHED,
            target=version,
            changes={
                "document": version.document,
                "number": version.number,
                "material": version.material,
                "effective_on": version.effective_on.isoformat(),
                "content_hash": version.content_hash,
            },
        )
        _after_commit_notify()
    return version, True


# --- maintenance ------------------------------------------------------------------------------


def planned_downtime_in_year(
    year: int, *, excluding: int | None = None
) -> tuple[datetime, datetime, float]:
    lower, upper = year_bounds(year)
    total = sum(
        (
            overlap(w.starts_at, w.ends_at, lower, upper)
            for w in planned_windows_in(lower, upper)
            if w.pk != excluding
        ),
        start=timedelta(0),
    )
    return lower, upper, total.total_seconds()


def maintenance_budget_remaining(year: int, *, excluding: int | None = None) -> timedelta:
    _lower, _upper, used = planned_downtime_in_year(year, excluding=excluding)
    return MAINTENANCE_YEARLY_BUDGET - timedelta(seconds=used)


def maintenance_window_problems(window: MaintenanceWindow, now: datetime) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if window.ends_at <= window.starts_at:
        problems["ends_at"] = [_("The window must end after it starts.")]
        return problems
    if not window.services:
        problems["services"] = [_("Name at least one service affected.")]
    if window.kind == MaintenanceKind.EMERGENCY:
        if not window.reason.strip():
            problems["reason"] = [_("Emergency maintenance needs a reason.")]
        return problems
    earliest = earliest_maintenance_start(now)
    if window.starts_at < earliest:
        problems["starts_at"] = [
            _(
                "Planned maintenance needs 7 days' notice: the earliest allowed start is "
                "%(earliest)s UTC."
            )
            % {"earliest": earliest.astimezone(UTC).strftime("%Y-%m-%d %H:%M")}
        ]
    for year in range(window.starts_at.year, window.ends_at.year + 1):
        lower, upper = year_bounds(year)
        here = overlap(window.starts_at, window.ends_at, lower, upper)
        if not here:
            continue
        remaining = maintenance_budget_remaining(year, excluding=window.pk)
        if here > remaining:
            problems.setdefault("ends_at", []).append(
                _(
                    "This window would bring planned downtime in %(year)s above 8 hours: "
                    "%(remaining)s remain, the window takes %(duration)s."
                )
                % {
                    "year": year,
                    "remaining": format_duration(max(remaining, timedelta(0))),
                    "duration": format_duration(here),
                }
            )
    return problems


def maintenance_window_schedule(
    *, window: MaintenanceWindow, now: datetime | None = None
) -> MaintenanceWindow:
    """Schedule a new window, or move a scheduled one (its notices go out again)."""
    now = now or timezone.now()
    with transaction.atomic():
        stored = (
            MaintenanceWindow.objects.select_for_update().filter(pk=window.pk).first()
            if window.pk
            else None
        )
        if stored is not None and stored.status == MaintenanceWindow.Status.CANCELLED:
            raise TrustActionRefused(_("A cancelled window cannot be changed."))
        if stored is not None and stored.ends_at <= now:
            raise TrustActionRefused(_("A window that has ended cannot be changed."))
        moved = stored is not None and (
            stored.starts_at != window.starts_at or stored.ends_at != window.ends_at
        )
        if stored is None or moved:
            problems = maintenance_window_problems(window, now)
            if problems:
                raise TrustActionRefused(problems)
        if moved:
            window.revision = stored.revision + 1  # type: ignore[union-attr]
        window.save()
        changes = {
            "kind": window.kind,
            "starts_at": window.starts_at.isoformat(),
            "ends_at": window.ends_at.isoformat(),
            "services": list(window.services),
            "revision": window.revision,
        }
        if stored is None:
            record(Action.TRUST_MAINTENANCE_SCHEDULED, target=window, changes=changes)
        else:
            record(Action.TRUST_MAINTENANCE_CHANGED, target=window, changes=changes)
        _after_commit_notify()
    return window


def maintenance_window_cancel(*, window_id: int, now: datetime | None = None) -> MaintenanceWindow:
    now = now or timezone.now()
    with transaction.atomic():
        window = MaintenanceWindow.objects.select_for_update().get(pk=window_id)
        if window.status == MaintenanceWindow.Status.CANCELLED:
            return window
        if window.ends_at <= now:
            raise TrustActionRefused(_("A window that has ended cannot be cancelled."))
        window.status = MaintenanceWindow.Status.CANCELLED
        window.cancelled_at = now
        window.save(update_fields=["status", "cancelled_at"])
        record(
            Action.TRUST_MAINTENANCE_CHANGED,
            target=window,
            changes={"status": window.status, "revision": window.revision},
        )
        _after_commit_notify()
    return window


# --- an organization's acts -------------------------------------------------------------------


@dataclass(frozen=True)
class AcceptanceResult:
    acceptance: DpaAcceptance
    created: bool


def dpa_accept(
    *,
    organization: Organization,
    actor: User,
    version_id: int,
    version_hash: str,
    ip_address: str | None,
    now: datetime | None = None,
) -> AcceptanceResult:
    """Accept a published DPA version for the organization (its admins, on the DPA page).

    `version_hash` is the hash the page showed: a version that changed since (it cannot, but
    the check costs nothing) or a stale page is refused rather than accepted unseen.
    """
    now = now or timezone.now()
    if organization.kind not in (Organization.Kind.DISTRICT, Organization.Kind.VENDOR):
        raise TrustActionRefused(_("Only districts and vendors accept the DPA."))
    version = DocumentVersion.objects.filter(
        pk=version_id, document=DocumentKind.DPA, published_at__isnull=False
    ).first()
    if version is None:
        raise TrustActionRefused({"version": [_("Choose a published DPA version.")]})
    if version.content_hash != version_hash:
        raise TrustActionRefused(
            {"version": [_("The version changed since you opened the page: read it again.")]}
        )
    existing = DpaAcceptance.objects.for_organization(organization).filter(version=version).first()
    if existing is not None:
        return AcceptanceResult(existing, False)
    try:
        with transaction.atomic():
            acceptance = DpaAcceptance.objects.create(
                organization=organization,
                version=version,
                user=actor,
                accepted_at=now,
                ip_address=ip_address,
                version_hash=version.content_hash,
            )
            record(
                Action.TRUST_DPA_ACCEPTED,
                organization=organization,
                target=acceptance,
                changes={
                    "version": version.number,
                    "version_hash": version.content_hash,
                    "effective_on": version.effective_on.isoformat(),
                },
            )
    except IntegrityError:  # a colleague accepted at the same moment
        existing = DpaAcceptance.objects.for_organization(organization).get(version=version)
        return AcceptanceResult(existing, False)
    organization_banners_forget(organization.pk)  # now, and again after commit
    transaction.on_commit(lambda: organization_banners_forget(organization.pk))
    return AcceptanceResult(acceptance, True)


def objection_record(
    *,
    organization: Organization,
    actor: User,
    version_id: int,
    text: str,
    now: datetime | None = None,
) -> DocumentObjection:
    """An admin objects to a version before it takes effect (ops staff see it in the admin)."""
    now = now or timezone.now()
    version = DocumentVersion.objects.filter(pk=version_id, published_at__isnull=False).first()
    if version is None:
        raise TrustActionRefused({"version": [_("Choose a published version.")]})
    if version.effective_on <= utc_today(now):
        raise TrustActionRefused(
            {"version": [_("This version is already in effect: objections close the day before.")]}
        )
    text = text.strip()
    if not text:
        raise TrustActionRefused({"text": [_("Say what you object to.")]})
    with transaction.atomic():
        objection = DocumentObjection.objects.create(
            organization=organization, version=version, user=actor, text=text, created_at=now
        )
        record(
            Action.TRUST_OBJECTION_RECORDED,
            organization=organization,
            target=objection,
            changes={"document": version.document, "version": version.number},
        )
    return objection


def banner_dismiss(*, organization: Organization, user: User, key: str) -> bool:
    """The member closes a banner here; True when it was not closed before."""
    key = key.strip()[:64]
    if not key.startswith(("version:", "maintenance:")):
        raise TrustActionRefused({"key": [_("Unknown banner.")]})
    _dismissal, created = BannerDismissal.objects.get_or_create(
        organization=organization, user=user, key=key
    )
    # now (this member's next page) and again after commit (a page read in between)
    member_banners_forget(organization.pk, user.pk)
    transaction.on_commit(lambda: member_banners_forget(organization.pk, user.pk))
    return created
