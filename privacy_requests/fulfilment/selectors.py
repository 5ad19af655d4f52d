"""Reads of fulfilment: evidence files, the request's packages, the deletion plan, a deletion
already done."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from accounts.models import Membership
from privacy_requests.deadlines import RequestType
from privacy_requests.fulfilment.builders import matching_requests, matching_user
from privacy_requests.fulfilment.models import EvidenceFile, ResponsePackage
from privacy_requests.models import PrivacyRequest, RequestEvent

if TYPE_CHECKING:
    from accounts.models import Organization

PACKAGE_TYPES = frozenset({RequestType.ACCESS, RequestType.PORTABILITY, RequestType.FERPA_INSPECT})
DELETION_TYPES = frozenset({RequestType.DELETE})
CORRECTION_TYPES = frozenset({RequestType.CORRECT, RequestType.FERPA_AMEND})


def fulfilment_kind(request: PrivacyRequest) -> str:
    """ "package", "deletion", "correction" or "" (closed with the request page's Close)."""
    if request.request_type in PACKAGE_TYPES:
        return "package"
    if request.request_type in DELETION_TYPES:
        return "deletion"
    if request.request_type in CORRECTION_TYPES:
        return "correction"
    return ""


def evidence_list(*, organization: Organization, request: PrivacyRequest) -> list[EvidenceFile]:
    """The request's evidence files in the order they were added, with who added them; the
    sealed bytes are not read."""
    return list(
        EvidenceFile.objects.for_organization(organization)
        .filter(request=request)
        .defer("content")
        .select_related("added_by")
        .order_by("added_at", "pk")
    )


def evidence_for_package(
    *, organization: Organization, request: PrivacyRequest
) -> list[EvidenceFile]:
    """The request's evidence files with their bytes, in the order they were added."""
    return list(
        EvidenceFile.objects.for_organization(organization)
        .filter(request=request)
        .select_related("added_by")
        .order_by("added_at", "pk")
    )


def evidence_get(
    *, organization: Organization, request: PrivacyRequest, evidence_id: int
) -> EvidenceFile:
    """One evidence file of the request, with its bytes; `EvidenceFile.DoesNotExist` else."""
    return EvidenceFile.objects.for_organization(organization).get(request=request, pk=evidence_id)


def package_is_outdated(*, package: ResponsePackage, evidence: list[EvidenceFile]) -> bool:
    """Whether the request's evidence files are not the ones the package holds (one was added
    or removed after it was prepared). No query: the package lists the files it sealed."""
    sealed = {entry["evidence_id"] for entry in package.contents if entry.get("evidence_id")}
    return sealed != {e.pk for e in evidence}


def package_list(*, organization: Organization, request: PrivacyRequest) -> list[ResponsePackage]:
    """The request's packages, newest first, with who made them; the sealed ZIP is not read."""
    return list(
        ResponsePackage.objects.for_organization(organization)
        .filter(request=request)
        .defer("content")
        .select_related("created_by")
        .order_by("-created_at", "-pk")
    )


def package_current(
    *, organization: Organization, request: PrivacyRequest
) -> ResponsePackage | None:
    """The newest package of the request (expired or not), without its content; else None."""
    return (
        ResponsePackage.objects.for_organization(organization)
        .filter(request=request)
        .defer("content")
        .order_by("-created_at", "-pk")
        .first()
    )


def package_get(
    *, organization: Organization, request: PrivacyRequest, package_id: int
) -> ResponsePackage:
    """One package of the request; raises ResponsePackage.DoesNotExist."""
    return (
        ResponsePackage.objects.for_organization(organization)
        .defer("content")
        .get(request=request, pk=package_id)
    )


# --- deletion -------------------------------------------------------------------------------

# What a deletion keeps, and why: code -> (what, why). The codes are stored on the timeline
# event; the texts are shown to staff and, in the request's language, to the requester.
KEPT: dict[str, tuple[Any, Any]] = {
    "this_request": (
        _("This request"),
        _(
            "its reference, type, dates, outcome and your name and email address stay in the "
            "register of privacy requests, to show that the request was answered"
        ),
    ),
    "open_requests": (
        _("Your other requests that are still open"),
        _("they are still being answered; ask again once they are closed"),
    ),
    "subject_requests": (
        _("Requests other people made about the same person"),
        _("they belong to the people who made them"),
    ),
    "account_active_member": (
        _("Your portal account"),
        _(
            "you are still an active member of the organization; an administrator removes the "
            "membership first"
        ),
    ),
    "account_elsewhere": (
        _("Your portal account"),
        _("another organization that uses the portal still needs it"),
    ),
    "audit_log": (
        _("The audit log"),
        _(
            "it is an append-only record of who did what and when; it holds record numbers "
            "and field names, not your personal details"
        ),
    ),
    "financial_records": (
        _("Financial records"),
        _(
            "invoices, payment records and billing contacts are kept for 7 years, as tax law "
            "requires"
        ),
    ),
    "legal_holds": (
        _("Data under a legal hold"),
        _("none: no legal hold is recorded, so nothing was kept for one"),
    ),
}


@dataclass(frozen=True)
class KeptItem:
    code: str

    @property
    def what(self) -> Any:
        return KEPT[self.code][0]

    @property
    def why(self) -> Any:
        return KEPT[self.code][1]


@dataclass
class DeletionPlan:
    """What a deletion will de-identify (counts) and what it keeps (with reasons)."""

    request_ids: list[int] = field(default_factory=list)  # other closed requests, same email
    account_id: int | None = None  # the portal account to deactivate and scrub
    kept: list[KeptItem] = field(default_factory=list)

    @property
    def removed(self) -> list[tuple[Any, int]]:
        return [
            (_("Your other closed requests: every personal detail"), len(self.request_ids)),
            (
                _("This request: details, phone, postal address, school and birth date"),
                1,
            ),
            (
                _("Your portal account: deactivated; name, email and password removed"),
                1 if self.account_id is not None else 0,
            ),
        ]


def deletion_plan(*, organization: Organization, request: PrivacyRequest) -> DeletionPlan:
    """What `services.deletion_perform` would do now, for staff to review before confirming.

    Conservative: only this organization's rows; only requests with the same requester
    email (a subject matched by name and birth date is someone else's request, kept); a
    portal account only when it is a member of no other organization and not active here.
    """
    plan = DeletionPlan(kept=[KeptItem("this_request")])
    by_email, by_subject = matching_requests(organization=organization, request=request)
    others = [pr for pr in by_email if pr.pk != request.pk]
    plan.request_ids = [pr.pk for pr in others if pr.closed_at is not None]
    if any(pr.closed_at is None for pr in others):
        plan.kept.append(KeptItem("open_requests"))
    if by_subject:
        plan.kept.append(KeptItem("subject_requests"))
    user = matching_user(organization=organization, email=request.requester_email or "")
    if user is not None:
        active_here = (
            Membership.objects.for_organization(organization)
            .filter(user=user, is_active=True)
            .exists()
        )
        if active_here:
            plan.kept.append(KeptItem("account_active_member"))
        elif user.is_staff or _member_elsewhere(organization, user.pk):
            plan.kept.append(KeptItem("account_elsewhere"))
        else:
            plan.account_id = user.pk
    plan.kept += [KeptItem("audit_log"), KeptItem("financial_records"), KeptItem("legal_holds")]
    return plan


def _member_elsewhere(organization: Organization, user_id: int) -> bool:
    from k12cloud.tenancy import unscoped_all_tenants

    with unscoped_all_tenants(reason="deletion plan: does another organization need the account"):
        return (
            Membership._base_manager.filter(user_id=user_id)
            .exclude(organization_id=organization.pk)
            .exists()
        )


@dataclass(frozen=True)
class DeletionDone:
    event: RequestEvent
    kept: list[KeptItem]

    @property
    def counts(self) -> dict[str, Any]:
        return {k: v for k, v in self.event.data.items() if k != "kept"}


def deletion_record(*, organization: Organization, request: PrivacyRequest) -> DeletionDone | None:
    """The deletion performed for the request (its timeline event), or None."""
    event = (
        RequestEvent.objects.for_organization(organization)
        .filter(request=request, kind="deletion_performed")
        .order_by("pk")
        .first()
    )
    if event is None:
        return None
    kept = [KeptItem(code) for code in event.data.get("kept", []) if code in KEPT]
    return DeletionDone(event=event, kept=kept)
