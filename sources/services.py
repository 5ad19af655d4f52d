"""Every write of the SIS sources, and the lookups that find a request's student.

    data_source_save             create or change a data source (REST secret encrypted)
    student_search               find SIS users by identifier, email, or name + birth date
                                 (never a name alone); audited, without the values searched
    student_link_confirm         the person staff confirmed as the request's subject, with the
                                 guardianship check through the SIS's agent links
    sis_deletion_record          a deletion request: the district deleted it in its SIS
    student_records_for_request  the confirmed student's records, as a package section

The import of CSV packages is `sources.importing.oneroster_package_import`; the REST client
is `sources.oneroster.rest`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import Action
from audit.services import record as audit_record
from k12cloud.encryption.envelope import NO_MATCH, blind_index
from k12cloud.encryption.keys import data_keys_preloaded
from sources.importing import import_rows_delete, name_birth_date_key
from sources.models import DataSource, SisLookupKey, SisRecord, SourceImport, StudentLink
from sources.selectors import current_imports, records_by_sourced_id, student_links_for_request

if TYPE_CHECKING:
    from accounts.models import Organization, User
    from privacy_requests.models import PrivacyRequest

Kind = SisRecord.Kind
# never shown, never exported: OneRoster allows a password column in users.csv
HIDDEN_USER_FIELDS = frozenset({"password", "derived"})


# --- data sources -----------------------------------------------------------------------------


def data_source_save(
    *,
    organization: Organization,
    actor: User | None,
    source: DataSource | None = None,
    kind: str,
    name: str,
    base_url: str = "",
    token_url: str = "",
    client_id: str = "",
    client_secret: str = "",
    scopes: str = "",
) -> DataSource:
    """Create (source None) or change a data source. A REST source needs its base URL, token
    URL and client id; an empty `client_secret` on a change keeps the stored one."""
    if kind not in DataSource.Kind.values:
        raise ValidationError({"kind": _("Choose a CSV package or a REST connection.")})
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Name the source, e.g. the SIS's name.")})
    if kind == DataSource.Kind.ONEROSTER_REST:
        missing = {
            field_name: _("A REST connection needs this.")
            for field_name, value in (
                ("base_url", base_url),
                ("token_url", token_url),
                ("client_id", client_id),
            )
            if not value.strip()
        }
        if not client_secret and (source is None or not source.client_secret):
            missing["client_secret"] = _("A REST connection needs this.")
        if missing:
            raise ValidationError(missing)
    with transaction.atomic():
        duplicate = DataSource.objects.for_organization(organization).filter(name__iexact=name)
        if source is not None:
            duplicate = duplicate.exclude(pk=source.pk)
        if duplicate.exists():
            raise ValidationError({"name": _("Another source has this name.")})
        created = source is None
        if source is None:
            source = DataSource(organization=organization, created_by=actor)
        source.kind, source.name = kind, name
        source.base_url, source.token_url = base_url.strip(), token_url.strip()
        source.client_id = client_id.strip()
        if client_secret:
            source.client_secret = client_secret
        elif created:
            source.client_secret = ""
        if scopes.strip():
            source.scopes = " ".join(scopes.split())
        source.save()
        audit_record(
            Action.SIS_SOURCE_SAVED,
            organization=organization,
            target=source,
            changes={
                "created": created,
                "kind": kind,
                "name": name,
                "base_url": source.base_url,
                "secret_changed": bool(client_secret),
            },
        )
    return source


# --- finding the student ----------------------------------------------------------------------


@dataclass
class Candidate:
    """A SIS user that matched a search, with what a person needs to confirm it."""

    source_id: int
    source_name: str
    import_id: int
    record_id: int
    sourced_id: str
    given_name: str
    family_name: str
    birth_date: str
    role: str
    grades: list[str]
    schools: list[str]
    identifier: str
    matched_by: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "source": self.source_name,
            "record_id": self.record_id,
            "sourced_id": self.sourced_id,
            "name": self.name,
            "birth_date": self.birth_date,
            "role": self.role,
            "grades": self.grades,
            "schools": self.schools,
            "identifier": self.identifier,
            "matched_by": self.matched_by,
        }


def _search_keys(
    organization_id: int,
    *,
    identifier: str,
    email: str,
    given_name: str,
    family_name: str,
    birth_date: date | None,
) -> list[tuple[list[str], str]]:
    """[(lookup kinds, blind index)] for what was given; refuses a name without birth date."""
    identifier, email = identifier.strip(), email.strip()
    given_name, family_name = given_name.strip(), family_name.strip()
    wanted: list[tuple[list[str], str]] = []
    if identifier:
        value = blind_index(organization_id, identifier, kind="identifier")
        wanted.append(
            (
                [
                    SisLookupKey.Kind.SOURCED_ID,
                    SisLookupKey.Kind.IDENTIFIER,
                    SisLookupKey.Kind.USER_ID,
                ],
                value,
            )
        )
    if email:
        wanted.append(
            ([SisLookupKey.Kind.EMAIL], blind_index(organization_id, email, kind="email"))
        )
    if given_name or family_name:
        if birth_date is None:
            raise ValidationError(
                {
                    "birth_date": _(
                        "A name alone is not enough: other children share names. Add the "
                        "birth date, or search by student number or email."
                    )
                }
            )
        if not (given_name and family_name):
            raise ValidationError(
                {"family_name": _("Give both the first and the last name with the birth date.")}
            )
        value = name_birth_date_key(given_name, family_name, birth_date.isoformat())
        wanted.append(
            ([SisLookupKey.Kind.NAME_BIRTH_DATE], blind_index(organization_id, value, kind="name"))
        )
    elif birth_date is not None and not (identifier or email):
        raise ValidationError(
            {"given_name": _("A birth date alone is not enough: add the first and last name.")}
        )
    if not wanted:
        raise ValidationError(
            _("Search by student number or SIS id, by email, or by name and birth date.")
        )
    return wanted


def student_search(
    *,
    organization: Organization,
    actor: User | None,
    request: PrivacyRequest | None = None,
    identifier: str = "",
    email: str = "",
    given_name: str = "",
    family_name: str = "",
    birth_date: date | None = None,
) -> list[Candidate]:
    """SIS users of the organization's current imports matching every criterion given.

    Raises ValidationError (naming the field) for a name without a birth date. Audited: who
    searched, for which request, by which kinds of criteria and how many matched (never the
    values). REST sources are searched live by `sources.oneroster.rest.rest_student_search`.
    """
    wanted = _search_keys(
        organization.pk,
        identifier=identifier,
        email=email,
        given_name=given_name,
        family_name=family_name,
        birth_date=birth_date,
    )
    imports = current_imports(organization=organization)
    candidates: list[Candidate] = []
    with transaction.atomic():
        if imports and all(value != NO_MATCH for _kinds, value in wanted):
            matched: dict[int, list[str]] | None = None
            for kinds, value in wanted:  # every criterion must match the same user
                rows = SisLookupKey.objects.for_organization(organization).filter(
                    source_import_id__in=[i.pk for i in imports.values()],
                    kind__in=kinds,
                    value_index=value,
                )
                found: dict[int, list[str]] = {}
                for record_id, kind in rows.values_list("record_id", "kind"):
                    found.setdefault(record_id, []).append(kind)
                if matched is None:
                    matched = found
                else:
                    matched = {
                        rid: matched[rid] + kinds_found
                        for rid, kinds_found in found.items()
                        if rid in matched
                    }
            candidates = _candidates(organization, imports, matched or {})
        audit_record(
            Action.SIS_SEARCHED,
            organization=organization,
            target=request,
            changes={
                "by": [
                    name
                    for name, given in (
                        ("identifier", identifier.strip()),
                        ("email", email.strip()),
                        ("name_and_birth_date", given_name.strip()),
                    )
                    if given
                ],
                "candidates": len(candidates),
            },
        )
    return candidates


def _candidates(
    organization: Organization,
    imports: dict[int, SourceImport],
    matched: dict[int, list[str]],
) -> list[Candidate]:
    if not matched:
        return []
    by_import = {i.pk: i for i in imports.values()}
    with data_keys_preloaded(organization.pk):
        records = list(
            SisRecord.objects.for_organization(organization)
            .filter(pk__in=list(matched), kind=Kind.USER)
            .order_by("pk")
        )
        rows = [(r, r.fields) for r in records]
        schools = _org_names(
            organization,
            {
                r.source_import_id: {o for _r, f in rows for o in f["derived"]["orgSourcedIds"]}
                for r, _f in rows
            },
        )
    candidates = []
    for record, row in rows:
        source_import = by_import[record.source_import_id]
        derived = row["derived"]
        names = schools.get(record.source_import_id, {})
        candidates.append(
            Candidate(
                source_id=source_import.source_id,
                source_name=source_import.source.name,
                import_id=source_import.pk,
                record_id=record.pk,
                sourced_id=row["sourcedId"],
                given_name=row.get("givenName", ""),
                family_name=row.get("familyName", ""),
                birth_date=derived.get("birthDate", ""),
                role=derived.get("role", ""),
                grades=derived.get("grades", []),
                schools=[names.get(o, o) for o in derived.get("orgSourcedIds", [])],
                identifier=row.get("identifier", ""),
                matched_by=sorted(set(matched[record.pk])),
            )
        )
    return candidates


def _org_names(
    organization: Organization, wanted: dict[int, set[str]]
) -> dict[int, dict[str, str]]:
    """{import id: {org sourcedId: name}} (one query per import; decrypts the orgs wanted)."""
    names: dict[int, dict[str, str]] = {}
    for import_id, sourced_ids in wanted.items():
        indexes = [blind_index(organization.pk, s, kind="identifier") for s in sourced_ids]
        for org in records_by_sourced_id(
            organization=organization, source_import_id=import_id, kind=Kind.ORG, indexes=indexes
        ):
            data = org.fields
            names.setdefault(import_id, {})[data["sourcedId"]] = data.get("name", "")
    return names


def _guardianship(
    organization: Organization, request: PrivacyRequest, record: SisRecord, row: dict[str, Any]
) -> str:
    """Is the requester's email a guardian (agent) of this student in the SIS?"""
    agents = row["derived"].get("agentSourcedIds") or []
    if not agents:
        return StudentLink.Guardianship.NO_AGENTS
    email = (request.requester_email or "").strip()
    if not email:
        return StudentLink.Guardianship.NOT_FOUND
    email_index = blind_index(organization.pk, email, kind="email")
    agent_indexes = [blind_index(organization.pk, a, kind="identifier") for a in agents]
    found = (
        SisLookupKey.objects.for_organization(organization)
        .filter(
            source_import_id=record.source_import_id,
            kind=SisLookupKey.Kind.EMAIL,
            value_index=email_index,
            record__kind=Kind.USER,
            record__sourced_id_index__in=agent_indexes,
        )
        .exists()
    )
    return StudentLink.Guardianship.CONFIRMED if found else StudentLink.Guardianship.NOT_FOUND


def student_link_confirm(
    *, organization: Organization, actor: User | None, request: PrivacyRequest, record_id: int
) -> StudentLink:
    """Record that SIS user `record_id` is the request's subject (one per source; confirming
    another person of the same source replaces the link). Checks guardianship through the
    SIS's agent links against the requester's email and records the result."""
    with transaction.atomic():
        record = (
            SisRecord.objects.for_organization(organization)
            .filter(pk=record_id, kind=Kind.USER)
            .first()
        )
        # the source's current CSV import, or a REST fetch (one student each)
        source_import = (
            SourceImport.objects.for_organization(organization)
            .select_related("source")
            .filter(pk=record.source_import_id if record else None)
            .first()
        )
        if (
            record is None
            or source_import is None
            or source_import.status != SourceImport.Status.SUCCEEDED
        ):
            raise ValidationError({"record": _("That person is not in a current SIS import.")})
        row = record.fields
        schools = _org_names(
            organization, {record.source_import_id: set(row["derived"]["orgSourcedIds"])}
        )
        summary = {
            "name": f"{row.get('givenName', '')} {row.get('familyName', '')}".strip(),
            "birth_date": row["derived"].get("birthDate", ""),
            "grades": row["derived"].get("grades", []),
            "schools": [
                schools.get(record.source_import_id, {}).get(o, o)
                for o in row["derived"]["orgSourcedIds"]
            ],
            "role": row["derived"].get("role", ""),
        }
        guardianship = _guardianship(organization, request, record, row)
        link = (
            StudentLink.objects.for_organization(organization)
            .select_for_update()
            .filter(request=request, source_id=source_import.source_id)
            .first()
        ) or StudentLink(organization=organization, request=request, source=source_import.source)
        replaced = link.pk is not None
        if (
            replaced
            and link.source.kind == DataSource.Kind.ONEROSTER_REST
            and link.source_import_id not in (None, source_import.pk)
        ):  # the earlier REST fetch for this request is not needed any more
            earlier = link.source_import_id
            import_rows_delete(organization_id=organization.pk, import_ids=[earlier])
            SourceImport.objects.filter(pk=earlier).update(status=SourceImport.Status.REPLACED)
        link.source_import, link.record = source_import, record
        link.sourced_id = row["sourcedId"]
        link.summary = json.dumps(summary)
        link.guardianship = guardianship
        link.confirmed_by, link.confirmed_at = actor, timezone.now()
        link.sis_deletion_recorded_at = link.sis_deletion_recorded_by = None
        link.sis_deletion_note = ""
        link.save()
        audit_record(
            Action.SIS_STUDENT_LINKED,
            organization=organization,
            target=request,
            changes={
                "source": source_import.source.name,
                "link": link.pk,
                "replaced": replaced,
                "guardianship": guardianship,
            },
        )
    return link


def sis_deletion_record(
    *, organization: Organization, actor: User | None, link: StudentLink, note: str = ""
) -> StudentLink:
    """A deletion request: the district deleted (or de-identified) the student's records in
    its SIS. The portal never writes to the SIS; this records that the district did."""
    if link.organization_id != organization.pk:
        raise ValidationError(_("No such link."))
    with transaction.atomic():
        link = (
            StudentLink.objects.for_organization(organization).select_for_update().get(pk=link.pk)
        )
        if link.sis_deletion_recorded_at is not None:
            raise ValidationError(_("The SIS deletion is already recorded."))
        link.sis_deletion_recorded_at = timezone.now()
        link.sis_deletion_recorded_by = actor
        link.sis_deletion_note = note.strip()
        link.save(
            update_fields=[
                "sis_deletion_recorded_at",
                "sis_deletion_recorded_by",
                "sis_deletion_note",
            ]
        )
        audit_record(
            Action.SIS_DELETION_RECORDED,
            organization=organization,
            target=link.request,
            changes={
                "source": link.source.name,
                "link": link.pk,
                "with_note": bool(link.sis_deletion_note),
            },
        )
    return link


# --- the student's records ---------------------------------------------------------------------


def _visible(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in HIDDEN_USER_FIELDS}


def student_records(
    *, organization: Organization, link: StudentLink, now: datetime | None = None
) -> dict[str, Any]:
    """One linked student's records in the source's current import, as plain data:
    {"source", "source_kind", "retrieved_at", "import", "found", "profile", "demographics",
    "roles", "enrollments": [...with class and terms], "results": [...with line item]}."""
    if link.source.kind == DataSource.Kind.ONEROSTER_REST:  # the fetch made at confirmation
        source_import = link.source_import
    else:
        source_import = current_imports(organization=organization).get(link.source_id)
    base: dict[str, Any] = {
        "source": link.source.name,
        "source_kind": link.source.kind,
        "retrieved_at": (
            (source_import.finished_at or source_import.started_at).isoformat()
            if source_import
            else ""
        ),
        "import_file": source_import.file_name if source_import else "",
        "found": False,
        "profile": {},
        "demographics": {},
        "roles": [],
        "enrollments": [],
        "results": [],
    }
    if source_import is None:
        return base
    person = link.sourced_id_index
    rows = SisRecord.objects.for_organization(organization).filter(source_import=source_import)
    user = rows.filter(kind=Kind.USER, sourced_id_index=person).first()
    if user is None:
        return base
    base["found"] = True
    base["profile"] = _visible(user.fields)
    about = list(rows.filter(person_index=person).order_by("kind", "pk"))
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for row in about:
        by_kind.setdefault(row.kind, []).append(row.fields)
    demographics = by_kind.get(Kind.DEMOGRAPHICS, [])
    base["demographics"] = demographics[0] if demographics else {}
    base["roles"] = by_kind.get(Kind.ROLE, [])

    def index(values: set[str]) -> list[str]:
        return [blind_index(organization.pk, v, kind="identifier") for v in sorted(values)]

    enrollments = by_kind.get(Kind.ENROLLMENT, [])
    results = by_kind.get(Kind.RESULT, [])
    line_items = {
        r["sourcedId"]: r
        for r in (
            x.fields
            for x in records_by_sourced_id(
                organization=organization,
                source_import_id=source_import.pk,
                kind=Kind.LINE_ITEM,
                indexes=index({r.get("lineItemSourcedId", "") for r in results} - {""}),
            )
        )
    }
    class_ids = {e.get("classSourcedId", "") for e in enrollments} | {
        li.get("classSourcedId", "") for li in line_items.values()
    }
    classes = {
        c["sourcedId"]: c
        for c in (
            x.fields
            for x in records_by_sourced_id(
                organization=organization,
                source_import_id=source_import.pk,
                kind=Kind.CLASS,
                indexes=index(class_ids - {""}),
            )
        )
    }
    term_ids = {t for c in classes.values() for t in _ids(c.get("termSourcedIds", ""))}
    terms = {
        t["sourcedId"]: t
        for t in (
            x.fields
            for x in records_by_sourced_id(
                organization=organization,
                source_import_id=source_import.pk,
                kind=Kind.ACADEMIC_SESSION,
                indexes=index(term_ids),
            )
        )
    }
    school_ids = {e.get("schoolSourcedId", "") for e in enrollments} | set(
        user.fields["derived"].get("orgSourcedIds", [])
    )
    schools = _org_names(organization, {source_import.pk: school_ids - {""}}).get(
        source_import.pk, {}
    )
    base["profile"]["schools"] = [
        schools.get(o, o) for o in user.fields["derived"].get("orgSourcedIds", [])
    ]
    for enrollment in sorted(enrollments, key=lambda e: e.get("classSourcedId", "")):
        klass = classes.get(enrollment.get("classSourcedId", ""), {})
        base["enrollments"].append(
            {
                "class": klass.get("title", enrollment.get("classSourcedId", "")),
                "class_code": klass.get("classCode", ""),
                "school": schools.get(enrollment.get("schoolSourcedId", ""), ""),
                "terms": [
                    terms.get(t, {}).get("title", t) for t in _ids(klass.get("termSourcedIds", ""))
                ],
                "role": enrollment.get("role", ""),
                "begin_date": enrollment.get("beginDate", ""),
                "end_date": enrollment.get("endDate", ""),
                "status": enrollment.get("status", ""),
            }
        )
    for result in sorted(results, key=lambda r: r.get("lineItemSourcedId", "")):
        item = line_items.get(result.get("lineItemSourcedId", ""), {})
        klass = classes.get(item.get("classSourcedId", ""), {})
        base["results"].append(
            {
                "line_item": item.get("title", result.get("lineItemSourcedId", "")),
                "class": klass.get("title", ""),
                "score": result.get("score", ""),
                "score_status": result.get("scoreStatus", ""),
                "score_date": result.get("scoreDate", ""),
                "comment": result.get("comment", ""),
            }
        )
    return base


def _ids(value: str | list[str]) -> list[str]:
    if isinstance(value, list):
        return value
    return [v.strip() for v in value.split(",") if v.strip()]


def student_records_for_request(
    *, organization: Organization, request: PrivacyRequest
) -> list[dict[str, Any]]:
    """The records of every student confirmed for the request, one dict per source (see
    `student_records`). Read inside the organization's tenant context."""
    with data_keys_preloaded(organization.pk):
        return [
            student_records(organization=organization, link=link)
            for link in student_links_for_request(organization=organization, request=request)
        ]
