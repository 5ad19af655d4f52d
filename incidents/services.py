"""Writes of the incident register, its legs, the cascade across tenants and the notices.

Every service runs in one transaction and writes its audit event there, on the chain of the
organization where the step happened. The cross-tenant hand-off (`incident_notify_districts`)
follows `vendors.services.vendor_tasks_forward`: the vendor's writes run in the vendor's tenant
context, each district's in a nested `tenant_context(district)`, row-level security on
throughout, audited on both chains (INCIDENT_NOTICE_SENT_TO_DISTRICT on the vendor's,
INCIDENT_NOTICE_RECEIVED on the district's). Only the vendor's facts cross; the district's own
incident never crosses back, except its acknowledgement (time and name) to the vendor's row.

What the portal decides: the due time of each leg from the rules. What it does not decide:
whether something is a breach, which regimes apply (it proposes them; a person confirms), and
the content of notices (templates to edit; counsel reviews).
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization
from accounts.permissions import Role
from audit.actions import Action
from audit.context import acting_as, actor_for_user
from audit.services import record
from incidents.deadlines import Event, Facts, LegStatus, Party, compute, zone_for
from incidents.models import (
    DATA_CATEGORY_IDS,
    Incident,
    IncidentCascade,
    IncidentLeg,
    IncidentStatus,
    LawEnforcementDelay,
    Notice,
    Recipient,
    RecipientList,
    RegulatorSubmission,
)
from incidents.rules import legs_for_regimes, regime_jurisdictions
from k12cloud.notifications.services import notify
from k12cloud.tenancy import tenant_context

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

EU_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()  # noqa: SIM905
)
CANADIAN_PROVINCES = frozenset("AB BC MB NB NL NS NT NU ON PE QC SK YT".split())  # noqa: SIM905
MAX_RECIPIENTS_PER_LIST = 200_000
MAX_CSV_BYTES = 20 * 1024 * 1024
LANGUAGES = ("en", "es")


class IncidentActionRefused(ValidationError):
    """A refused incident action, keyed by the field it concerns (forms and the API name it)."""


def _refuse(message: str, code: str) -> IncidentActionRefused:
    return IncidentActionRefused({code: [message]}, code=code)


def _named(actor: User | None) -> AbstractContextManager[object]:
    return acting_as(actor_for_user(actor.pk)) if actor is not None else nullcontext()


def _save_with_reference(incident: Incident) -> None:
    alphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
    for attempt in range(5):
        body = "".join(secrets.choice(alphabet) for _ in range(8))
        incident.reference = f"IN-{body[:4]}-{body[4:]}"
        try:
            with transaction.atomic():
                incident.save()
            return
        except IntegrityError:
            if attempt == 4:
                raise
            incident.pk = None


def _privacy_people(organization: Organization) -> list[User]:
    return [
        m.user
        for m in Membership.objects.for_organization(organization)
        .filter(
            is_active=True,
            user__is_active=True,
            role__in=[Role.ORG_ADMIN, Role.PRIVACY_OFFICER],
        )
        .select_related("user")
        .order_by("user_id")
    ]


def incident_url(organization: Organization, incident: Incident) -> str:
    return reverse(
        "accounts:incident_detail",
        kwargs={"org_slug": organization.slug, "incident_id": incident.pk},
    )


# --- which regimes ----------------------------------------------------------------------------


def regimes_propose(*, organization: Organization, residents: dict[str, int]) -> list[str]:
    """Regimes whose jurisdiction is the organization's, or where affected people live.

    Only a proposal: a person confirms (or changes) it.
    """
    here = {organization.country, f"{organization.country}-{organization.subdivision}"}
    places = set(here)
    for code in residents:
        places.add(f"CA-{code}" if code in CANADIAN_PROVINCES else f"US-{code}")
        if code in CANADIAN_PROVINCES:
            places.add("CA")
    if organization.country in EU_COUNTRIES:
        places.add("EU")
    proposed = [
        regime for regime, where in sorted(regime_jurisdictions().items()) if where in places
    ]
    # Texas DIR: public bodies (districts) in Texas only
    if "tx-2054" in proposed and not (
        organization.kind == Organization.Kind.DISTRICT and "US-TX" in here
    ):
        proposed.remove("tx-2054")
    return proposed


def _party(organization: Organization) -> Party:
    return Party.DISTRICT if organization.kind == Organization.Kind.DISTRICT else Party.VENDOR


# --- the legs ---------------------------------------------------------------------------------


def _events(incident: Incident) -> dict[str, datetime]:
    events = {
        Event.DISCOVERY: incident.discovered_at,
        Event.DETERMINATION: incident.determined_at,
        Event.AWARENESS: incident.awareness_at,
        Event.NOTICE_RECEIVED: incident.notice_received_at,
        Event.INDIVIDUALS_NOTIFIED: incident.individuals_notified_at,
    }
    return {name.value: moment for name, moment in events.items() if moment is not None}


def incident_legs_recompute(*, organization: Organization, incident: Incident) -> list[IncidentLeg]:
    """Compute every leg of the incident's regimes (confirmed, else proposed) and store them.

    Legs already met keep their time; legs of regimes no longer chosen and never met go.
    Call inside the organization's context and the caller's transaction.
    """
    # a person's confirmation wins, even of no regime at all; until then, the proposal
    regimes = incident.regimes if incident.regimes_confirmed_at else incident.proposed_regimes
    party = _party(organization)
    rules = [rule for rule in legs_for_regimes(regimes) if rule.party in (party, Party.ANY)]
    delays = list(
        LawEnforcementDelay.objects.for_organization(organization).filter(incident=incident)
    )
    ended = [d.risk_ended_on for d in delays]
    facts = Facts(
        categories=frozenset(incident.data_categories) if incident.data_categories else None,
        affected=incident.affected_total,
        residents={k: int(v) for k, v in (incident.residents or {}).items()},
        delay_requested=bool(delays),
        # the delay lasts until every recorded request's risk has ended
        risk_ended_on=None if not delays or None in ended else max(d for d in ended if d),
    )
    results = compute(rules, _events(incident), organization.time_zone, facts)
    existing = {
        (leg.regime, leg.leg, leg.part): leg
        for leg in IncidentLeg.objects.for_organization(organization).filter(incident=incident)
    }
    kept: list[IncidentLeg] = []
    for result in results:
        rule = result.rule
        leg = existing.pop((rule.regime, rule.leg, rule.part), None) or IncidentLeg(
            organization=organization,
            incident=incident,
            regime=rule.regime,
            leg=rule.leg,
            part=rule.part,
        )
        status = result.status.value
        reason = result.reason
        if incident.status == IncidentStatus.NOT_A_BREACH and leg.met_at is None:
            status, reason = LegStatus.NOT_APPLICABLE.value, "recorded as not a breach"
        leg.rule_version = rule.version
        leg.recipient = rule.recipient
        leg.recipient_label = rule.recipient_label
        leg.start_event = result.start_event or ""
        leg.started_at = result.started_at
        leg.due_at = result.due_at
        leg.status = status
        leg.binding = result.binding
        leg.period = "" if rule.amount is None else f"{rule.amount} {rule.unit}"
        leg.unit = rule.unit.value if rule.unit else ""
        leg.wording = rule.wording
        leg.reason = reason[:300]
        leg.citation = rule.citation
        leg.confidence = rule.confidence
        leg.save()
        kept.append(leg)
    for leg in existing.values():
        if leg.met_at is None:
            leg.delete()
    return kept


# --- the register -----------------------------------------------------------------------------


@dataclass
class IncidentValues:
    title: str
    description: str
    discovered_at: datetime
    systems: str = ""
    data_categories: Sequence[str] = ()
    affected_total: int | None = None
    residents: dict[str, int] = field(default_factory=dict)


def _validate(values: IncidentValues) -> IncidentValues:
    errors: dict[str, list[str]] = {}
    if not values.title.strip():
        errors["title"] = [_("Give the incident a short title.")]
    if not values.description.strip():
        errors["description"] = [_("Say what happened.")]
    if values.discovered_at.tzinfo is None:
        errors["discovered_at"] = [_("Give the time with its time zone.")]
    elif values.discovered_at > timezone.now():
        errors["discovered_at"] = [_("The discovery cannot be in the future.")]
    unknown = [c for c in values.data_categories if c not in DATA_CATEGORY_IDS]
    if unknown:
        errors["data_categories"] = [_("Unknown data category: %s") % ", ".join(unknown)]
    for code, count in values.residents.items():
        if len(code) != 2 or not code.isalpha() or not isinstance(count, int) or count < 0:
            errors["residents"] = [
                _("Give residents as two-letter codes with a count, e.g. NY=120.")
            ]
    if errors:
        raise IncidentActionRefused(errors)
    values.residents = {k.upper(): v for k, v in values.residents.items()}
    return values


def incident_record(
    *, organization: Organization, actor: User | None, values: IncidentValues
) -> Incident:
    """Record an incident (suspected until someone confirms it or records it is not a breach),
    propose its regimes and compute its legs."""
    values = _validate(values)
    with _named(actor), transaction.atomic():
        incident = Incident(
            organization=organization,
            title=values.title.strip(),
            description=values.description.strip(),
            systems=values.systems.strip(),
            data_categories=list(dict.fromkeys(values.data_categories)),
            affected_total=values.affected_total,
            residents=values.residents,
            discovered_at=values.discovered_at,
            created_by=actor,
        )
        incident.proposed_regimes = regimes_propose(
            organization=organization, residents=values.residents
        )
        _save_with_reference(incident)
        incident_legs_recompute(organization=organization, incident=incident)
        record(
            Action.INCIDENT_RECORDED,
            organization=organization,
            target=incident,
            changes={
                "reference": incident.reference,
                "discovered_at": incident.discovered_at.isoformat(),
                "data_categories": incident.data_categories,
                "proposed_regimes": incident.proposed_regimes,
            },
        )
    return incident


_NEXT = {
    IncidentStatus.SUSPECTED: {IncidentStatus.CONFIRMED, IncidentStatus.NOT_A_BREACH},
    IncidentStatus.CONFIRMED: {IncidentStatus.CONTAINED, IncidentStatus.CLOSED},
    IncidentStatus.CONTAINED: {IncidentStatus.CLOSED},
    IncidentStatus.NOT_A_BREACH: {IncidentStatus.CONFIRMED},
    IncidentStatus.CLOSED: set(),
}


def _locked(organization: Organization, incident: Incident) -> Incident:
    return Incident.objects.for_organization(organization).select_for_update().get(pk=incident.pk)


def incident_status_set(
    *,
    organization: Organization,
    actor: User | None,
    incident: Incident,
    status: str,
    reasoning: str = "",
    at: datetime | None = None,
) -> Incident:
    """suspected → confirmed breach → contained → closed, or "not a breach" with the reasoning
    (kept: regulators ask for it). Confirming sets the determination (and GDPR awareness) time
    when not set yet; the legs are recomputed."""
    now = timezone.now()
    at = at or now
    if at.tzinfo is None or at > now:
        raise _refuse(_("Give a time with its time zone, not in the future."), "at")
    with _named(actor), transaction.atomic():
        incident = _locked(organization, incident)
        try:
            target = IncidentStatus(status)
        except ValueError:
            raise _refuse(_("Choose a status."), "status") from None
        if target not in _NEXT[IncidentStatus(incident.status)]:
            raise _refuse(
                _("An incident that is %(now)s cannot become %(next)s.")
                % {"now": incident.get_status_display(), "next": target.label},
                "status",
            )
        if target == IncidentStatus.NOT_A_BREACH and not reasoning.strip():
            raise _refuse(_("Say why this is not a breach: regulators ask for it."), "reasoning")
        previous = incident.status
        incident.status = target
        if target == IncidentStatus.NOT_A_BREACH:
            incident.not_breach_reasoning = reasoning.strip()
        if target == IncidentStatus.CONFIRMED:
            incident.determined_at = incident.determined_at or at
            incident.awareness_at = incident.awareness_at or at
        if target == IncidentStatus.CONTAINED:
            incident.contained_at = at
        if target == IncidentStatus.CLOSED:
            incident.closed_at = at
        incident.save()
        incident_legs_recompute(organization=organization, incident=incident)
        record(
            Action.INCIDENT_STATUS_CHANGED,
            organization=organization,
            target=incident,
            changes={"status": [previous, target.value], "at": at.isoformat()},
        )
    return incident


def incident_regimes_confirm(
    *, organization: Organization, actor: User | None, incident: Incident, regimes: Sequence[str]
) -> Incident:
    known = set(regime_jurisdictions())
    chosen = list(dict.fromkeys(regimes))
    unknown = [r for r in chosen if r not in known]
    if unknown:
        raise _refuse(_("Unknown regime: %s") % ", ".join(unknown), "regimes")
    with _named(actor), transaction.atomic():
        incident = _locked(organization, incident)
        incident.regimes = chosen
        incident.regimes_confirmed_at = timezone.now()
        incident.regimes_confirmed_by = actor
        incident.save()
        incident_legs_recompute(organization=organization, incident=incident)
        record(
            Action.INCIDENT_REGIMES_CONFIRMED,
            organization=organization,
            target=incident,
            changes={"regimes": chosen, "proposed": incident.proposed_regimes},
        )
    return incident


def incident_delay_record(
    *,
    organization: Organization,
    actor: User,
    incident: Incident,
    agency: str,
    requested_by: str,
    requested_at: datetime,
    risk_ended_on: date | None = None,
    delay: LawEnforcementDelay | None = None,
) -> LawEnforcementDelay:
    """Record a law-enforcement delay (who asked, when) or, given `delay`, the day its risk
    ended. The legs that allow a delay are suspended meanwhile, then recomputed."""
    if delay is None and (not agency.strip() or not requested_by.strip()):
        raise _refuse(_("Name the agency and the person who asked."), "agency")
    if requested_at.tzinfo is None or requested_at > timezone.now():
        raise _refuse(_("Give when they asked, not in the future."), "requested_at")
    with _named(actor), transaction.atomic():
        incident = _locked(organization, incident)
        if delay is None:
            delay = LawEnforcementDelay(
                organization=organization,
                incident=incident,
                agency=agency.strip(),
                requested_by=requested_by.strip(),
                requested_at=requested_at,
                recorded_by=actor,
            )
        else:
            delay = LawEnforcementDelay.objects.for_organization(organization).get(
                pk=delay.pk, incident=incident
            )
        delay.risk_ended_on = risk_ended_on
        delay.save()
        incident_legs_recompute(organization=organization, incident=incident)
        record(
            Action.INCIDENT_DELAY_RECORDED,
            organization=organization,
            target=incident,
            changes={
                "requested_at": delay.requested_at.isoformat(),
                "risk_ended_on": risk_ended_on.isoformat() if risk_ended_on else None,
            },
        )
    return delay


def incident_leg_met(
    *,
    organization: Organization,
    actor: User | None,
    leg: IncidentLeg,
    how: str,
    at: datetime | None = None,
) -> IncidentLeg:
    with _named(actor), transaction.atomic():
        leg = IncidentLeg.objects.for_organization(organization).select_for_update().get(pk=leg.pk)
        if leg.met_at is not None:
            return leg
        leg.met_at = at or timezone.now()
        leg.met_how = how[:200]
        leg.save(update_fields=["met_at", "met_how"])
        record(
            Action.INCIDENT_LEG_MET,
            organization=organization,
            target=leg.incident,
            changes={
                "leg": f"{leg.regime}/{leg.leg}",
                "met_at": leg.met_at.isoformat(),
                "due_at": leg.due_at.isoformat() if leg.due_at else None,
                "late": bool(leg.due_at and leg.met_at > leg.due_at),
                "how": leg.met_how,
            },
        )
    return leg


# --- the cascade across tenants ---------------------------------------------------------------


def districts_listing_vendor(*, vendor: Organization) -> list[Organization]:
    """Districts on the portal whose vendor registry names `vendor` as an organization here.

    Read one district at a time in its own tenant context (RLS on): a vendor can only notify
    districts that chose it as a vendor."""
    from vendors.models import Vendor

    found = []
    for district in Organization.objects.filter(
        kind=Organization.Kind.DISTRICT, status=Organization.Status.ACTIVE
    ).order_by("name"):
        with tenant_context(district):
            if (
                Vendor.objects.for_organization(district)
                .filter(portal_organization=vendor, is_active=True)
                .exists()
            ):
                found.append(district)
    return found


def _vendor_leg_for(
    vendor_legs: Sequence[IncidentLeg], district: Organization
) -> IncidentLeg | None:
    """The vendor's binding leg to this district under the district's own jurisdiction."""
    where = regime_jurisdictions()
    place = f"{district.country}-{district.subdivision}"
    candidates = [
        leg
        for leg in vendor_legs
        if leg.recipient == "district"
        and leg.due_at is not None
        and leg.status == LegStatus.DUE
        and where.get(leg.regime) in (place, district.country)
    ]
    return min(candidates, key=lambda leg: leg.due_at) if candidates else None  # type: ignore[arg-type,return-value]


def incident_notify_districts(
    *,
    organization: Organization,
    actor: User | None,
    incident: Incident,
    districts: Sequence[Organization],
) -> list[IncidentCascade]:
    """The vendor (or k-12.cloud for its own platform) tells each district of a confirmed
    breach through the portal: the one audited hand-off across tenants.

    In each district's tenant an incident is created with the vendor's facts; the time of
    receipt is its `notice_received` event and starts the district's legs. The vendor keeps an
    `IncidentCascade` row per district (acknowledgement status only). The vendor's own legs to
    the district are met at the time of sending. Call in the vendor's context.
    """
    if organization.kind == Organization.Kind.DISTRICT:
        raise _refuse(_("Only a vendor or the platform notifies districts."), "districts")
    if not districts:
        raise _refuse(_("Choose at least one district."), "districts")
    allowed = {d.pk for d in districts_listing_vendor(vendor=organization)}
    now = timezone.now()
    cascades: list[IncidentCascade] = []
    with _named(actor), transaction.atomic():
        incident = _locked(organization, incident)
        if incident.status not in (IncidentStatus.CONFIRMED, IncidentStatus.CONTAINED):
            raise _refuse(_("Confirm the breach before notifying districts."), "status")
        vendor_legs = list(
            IncidentLeg.objects.for_organization(organization).filter(incident=incident)
        )
        for district in sorted(districts, key=lambda d: d.pk):
            if district.pk not in allowed:
                raise _refuse(
                    _("%(district)s does not list you as a vendor here.")
                    % {"district": district.name},
                    "districts",
                )
            if (
                IncidentCascade.objects.for_organization(organization)
                .filter(incident=incident, district=district)
                .exists()
            ):
                raise _refuse(
                    _("%(district)s was already notified.") % {"district": district.name},
                    "districts",
                )
            vendor_leg = _vendor_leg_for(vendor_legs, district)
            received = _hand_off(
                vendor=organization,
                incident=incident,
                district=district,
                at=now,
                vendor_leg=vendor_leg,
            )
            cascade = IncidentCascade.objects.create(
                organization=organization,
                incident=incident,
                district=district,
                district_name=district.name,
                district_reference=received.reference,
                sent_at=now,
                sent_by=actor,
            )
            record(
                Action.INCIDENT_NOTICE_SENT_TO_DISTRICT,
                organization=organization,
                target=incident,
                changes={
                    "to_organization": district.slug,
                    "district_reference": received.reference,
                    "sent_at": now.isoformat(),
                    "leg_due_at": vendor_leg.due_at.isoformat()
                    if vendor_leg and vendor_leg.due_at
                    else None,
                },
            )
            cascades.append(cascade)
        # the vendor's legs to its districts are met when the notices go
        for leg in vendor_legs:
            if (
                leg.recipient == "district"
                and leg.met_at is None
                and leg.status in (LegStatus.DUE, LegStatus.NO_NUMERIC_DEADLINE)
            ):
                incident_leg_met(
                    organization=organization,
                    actor=actor,
                    leg=leg,
                    how="notified through the portal",
                    at=now,
                )
    return cascades


def _hand_off(
    *,
    vendor: Organization,
    incident: Incident,
    district: Organization,
    at: datetime,
    vendor_leg: IncidentLeg | None,
) -> Incident:
    """Create the district's incident in the district's own tenant: the vendor's facts only."""
    with tenant_context(district):
        received = Incident(
            organization=district,
            title=incident.title,
            description=incident.description,
            systems=incident.systems,
            data_categories=list(incident.data_categories),
            status=IncidentStatus.CONFIRMED,
            discovered_at=incident.discovered_at,
            notice_received_at=at,
            source_organization=vendor,
            source_organization_name=vendor.name,
            source_reference=incident.reference,
            source_leg_due_at=vendor_leg.due_at if vendor_leg else None,
            source_leg_citation=vendor_leg.citation if vendor_leg else "",
        )
        received.proposed_regimes = regimes_propose(organization=district, residents={})
        _save_with_reference(received)
        incident_legs_recompute(organization=district, incident=received)
        record(
            Action.INCIDENT_NOTICE_RECEIVED,
            organization=district,
            target=received,
            changes={
                "from_organization": vendor.slug,
                "source_reference": incident.reference,
                "notice_received_at": at.isoformat(),
                "proposed_regimes": received.proposed_regimes,
            },
        )
        people = _privacy_people(district)
        if people:
            notify(
                organization=district,
                recipients=people,
                kind="incident_received",
                title=_("%(vendor)s notified you of a security breach (%(reference)s)")
                % {"vendor": vendor.name, "reference": received.reference},
                url=incident_url(district, received),
                target=received,
                dedupe_key=f"incident-received:{received.pk}",
                urgent=True,
            )
    return received


def incident_acknowledge(
    *, organization: Organization, actor: User | None, incident: Incident
) -> Incident:
    """The district acknowledges a vendor's notice; the vendor's row shows when and by whom."""
    with _named(actor), transaction.atomic():
        incident = _locked(organization, incident)
        if incident.source_organization_id is None:
            raise _refuse(_("Only a notice from a vendor is acknowledged."), "incident")
        if incident.acknowledged_at is not None:
            return incident
        incident.acknowledged_at = timezone.now()
        incident.acknowledged_by = actor
        incident.save(update_fields=["acknowledged_at", "acknowledged_by", "updated_at"])
        record(
            Action.INCIDENT_ACKNOWLEDGED,
            organization=organization,
            target=incident,
            changes={
                "to_organization": incident.source_organization_name,
                "source_reference": incident.source_reference,
            },
        )
        vendor = Organization.objects.get(pk=incident.source_organization_id)
        with tenant_context(vendor):
            cascade = (
                IncidentCascade.objects.for_organization(vendor)
                .select_for_update()
                .get(district=organization, district_reference=incident.reference)
            )
            cascade.acknowledged_at = incident.acknowledged_at
            cascade.acknowledged_by_name = (
                (actor.full_name or actor.email) if actor is not None else _("an API key")
            )
            cascade.save(update_fields=["acknowledged_at", "acknowledged_by_name"])
    return incident


# --- recipients and notices -------------------------------------------------------------------


def recipients_upload(
    *,
    organization: Organization,
    actor: User,
    incident: Incident,
    kind: str,
    file_name: str,
    content: bytes,
) -> RecipientList:
    """Store a CSV list (name, email, language) of families or staff, encrypted.

    Refused whole (nothing stored) with the first bad line named: a notice must not silently
    skip a family. Repeated addresses are kept once."""
    if kind not in RecipientList.Kind.values:
        raise _refuse(_("Choose families or staff."), "kind")
    if len(content) > MAX_CSV_BYTES:
        raise _refuse(_("The file is larger than 20 MB."), "file")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse(_("The file is not UTF-8 text."), "file") from None
    reader = csv.reader(io.StringIO(text))
    rows: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for number, row in enumerate(reader, start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        if number == 1 and [c.strip().lower() for c in row[:3]] == ["name", "email", "language"]:
            continue
        if len(row) < 2:
            raise _refuse(_("Line %d: expected name, email, language.") % number, "file")
        name, email = row[0].strip(), row[1].strip().lower()
        language = (row[2].strip().lower() if len(row) > 2 else "") or "en"
        try:
            validate_email(email)
        except ValidationError:
            raise _refuse(_("Line %d: not an email address.") % number, "file") from None
        if language not in LANGUAGES:
            raise _refuse(_("Line %d: language must be en or es.") % number, "file")
        if email in seen:
            continue
        seen.add(email)
        rows.append((name, email, language))
        if len(rows) > MAX_RECIPIENTS_PER_LIST:
            raise _refuse(_("At most 200,000 recipients per list."), "file")
    if not rows:
        raise _refuse(_("The file holds no recipients."), "file")
    with _named(actor), transaction.atomic():
        incident = _locked(organization, incident)
        recipient_list = RecipientList.objects.create(
            organization=organization,
            incident=incident,
            kind=kind,
            file_name=file_name[:200],
            row_count=len(rows),
            uploaded_by=actor,
        )
        for start in range(0, len(rows), 2000):
            Recipient.objects.bulk_create(
                Recipient(
                    organization=organization,
                    recipient_list=recipient_list,
                    name=name,
                    email=email,
                    language=language,
                )
                for name, email, language in rows[start : start + 2000]
            )
        record(
            Action.INCIDENT_RECIPIENTS_UPLOADED,
            organization=organization,
            target=incident,
            changes={"kind": kind, "recipients": len(rows)},
        )
    return recipient_list


def notice_prepare(
    *,
    organization: Organization,
    actor: User,
    leg: IncidentLeg,
    subject_en: str,
    body_en: str,
    subject_es: str,
    body_es: str,
    recipient_lists: Sequence[RecipientList],
    include_members: bool = False,
) -> Notice:
    errors: dict[str, list[str]] = {}
    for name, value in (
        ("subject_en", subject_en),
        ("body_en", body_en),
        ("subject_es", subject_es),
        ("body_es", body_es),
    ):
        if not value.strip():
            errors[name] = [_("This is required.")]
    if not recipient_lists and not include_members:
        errors["recipient_lists"] = [_("Choose who receives the notice.")]
    if errors:
        raise IncidentActionRefused(errors)
    with _named(actor), transaction.atomic():
        leg = IncidentLeg.objects.for_organization(organization).get(pk=leg.pk)
        for recipient_list in recipient_lists:
            if recipient_list.incident_id != leg.incident_id:
                raise _refuse(_("Choose lists uploaded for this incident."), "recipient_lists")
        notice = Notice.objects.create(
            organization=organization,
            incident_id=leg.incident_id,
            leg=leg,
            subject_en=subject_en.strip(),
            body_en=body_en.strip(),
            subject_es=subject_es.strip(),
            body_es=body_es.strip(),
            include_members=include_members,
            recipient_lists=[r.pk for r in recipient_lists],
            prepared_by=actor,
        )
        record(
            Action.INCIDENT_NOTICE_PREPARED,
            organization=organization,
            target=leg.incident,
            changes={"notice": notice.pk, "leg": f"{leg.regime}/{leg.leg}"},
        )
    return notice


def notice_send(
    *, organization: Organization, actor: User, notice: Notice, queue: str | None = None
) -> Notice:
    """Start sending: the batches run in tasks (incidents.tasks.send_notice_batches), which
    queue one outbox email per recipient, each recorded once. The leg is met when the last
    batch is queued. `queue` names the Celery queue of the batches' task (tests' own workers);
    by default it is the default queue, or in process under NOTIFICATIONS_DELIVERY=in_process."""
    from incidents.sending import notice_recipient_count

    with _named(actor), transaction.atomic():
        notice = Notice.objects.for_organization(organization).select_for_update().get(pk=notice.pk)
        if notice.status != Notice.Status.DRAFT:
            raise _refuse(_("This notice is already being sent."), "notice")
        notice.status = Notice.Status.SENDING
        notice.sending_started_at = timezone.now()
        notice.total = notice_recipient_count(organization=organization, notice=notice)
        notice.save(update_fields=["status", "sending_started_at", "total"])
        record(
            Action.INCIDENT_NOTICE_SENDING,
            organization=organization,
            target=notice.incident,
            changes={"notice": notice.pk, "recipients": notice.total},
        )
        organization_id, notice_id = organization.pk, notice.pk
        transaction.on_commit(lambda: _start_sending(organization_id, notice_id, queue))
    return notice


def _start_sending(organization_id: int, notice_id: int, queue: str | None) -> None:
    from django.conf import settings

    if queue is None and getattr(settings, "NOTIFICATIONS_DELIVERY", "celery") == "in_process":
        from incidents.sending import notice_send_batches

        notice_send_batches(organization_id=organization_id, notice_id=notice_id)
        return
    from incidents.tasks import send_notice_batches

    try:
        if queue:
            send_notice_batches.apply_async(args=(organization_id, notice_id), queue=queue)
        else:
            send_notice_batches.delay(organization_id, notice_id)
    except Exception:  # the broker is down: the sweep resumes notices left sending
        logger.warning("notice %s: could not enqueue; the sweep will resume it", notice_id)


def regulator_submission_record(
    *, organization: Organization, actor: User, leg: IncidentLeg, confirmation: str = ""
) -> RegulatorSubmission:
    """The organization submitted the letter (portal, email, form): recorded, and the leg met."""
    with _named(actor), transaction.atomic():
        leg = IncidentLeg.objects.for_organization(organization).get(pk=leg.pk)
        submission = RegulatorSubmission.objects.create(
            organization=organization,
            incident_id=leg.incident_id,
            leg=leg,
            submitted_at=timezone.now(),
            submitted_by=actor,
            confirmation=confirmation.strip(),
        )
        record(
            Action.INCIDENT_SUBMISSION_RECORDED,
            organization=organization,
            target=leg.incident,
            changes={"leg": f"{leg.regime}/{leg.leg}", "recipient": leg.recipient_label},
        )
        incident_leg_met(
            organization=organization,
            actor=actor,
            leg=leg,
            how="letter submitted",
            at=submission.submitted_at,
        )
    return submission


def local_time(organization: Organization, moment: datetime | None) -> Any:
    return None if moment is None else moment.astimezone(zone_for(organization.time_zone))
