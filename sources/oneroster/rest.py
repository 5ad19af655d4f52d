"""A OneRoster 1.2 REST client (rostering and gradebook), and the live lookups built on it.

    OneRosterClient        OAuth 2.0 client credentials (roster-core, roster-demographics and
                           gradebook read-only scopes), limit/offset paging with X-Total-Count,
                           `filter=` expressions; a 401 refreshes the token once, a 429 waits
                           Retry-After (up to SIS_REST_MAX_RETRY_AFTER_SECONDS, at most 3 times)
    rest_student_search    candidates from a REST source (same criteria and rules as the CSV
                           search: never a name without a birth date)
    rest_student_fetch     one confirmed student's records, stored as an import of the source
                           (encrypted like a CSV import), so the package reads them the same way

Every failure of the SIS (401 after a refresh, 429 past the wait, 5xx, timeout, a connection
refused, a body that is not OneRoster JSON) is a `RestSourceError` with a message for staff,
never a 500. The messages name the source and the status, never a student's data.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import Action
from audit.services import record as audit_record
from k12cloud.encryption.keys import current_keys_pinned
from sources.importing import KIND_OF_FILE, PERSON_COLUMN, _user_keys, _Writer, identifier_index
from sources.models import DataSource, SisRecord, SourceImport

if TYPE_CHECKING:
    from accounts.models import Organization, User
    from sources.services import Candidate

ROSTERING = "/ims/oneroster/rostering/v1p2"
GRADEBOOK = "/ims/oneroster/gradebook/v1p2"
PAGE_SIZE = 100
MAX_PAGES = 1000
MAX_RETRIES_429 = 3


class RestSourceError(Exception):
    """The SIS did not answer usefully; the message is for staff."""


class OneRosterClient:
    def __init__(
        self,
        source: DataSource,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if source.kind != DataSource.Kind.ONEROSTER_REST:
            raise ValueError("Not a REST source.")
        self.source = source
        self.session = session or requests.Session()
        self.sleep = sleep
        self.timeout = settings.SIS_REST_TIMEOUT_SECONDS
        self.max_wait = settings.SIS_REST_MAX_RETRY_AFTER_SECONDS
        self._token: str | None = None

    # --- the token ---

    def _fail(self, what: str) -> RestSourceError:
        return RestSourceError(
            _("%(source)s: %(what)s") % {"source": self.source.name, "what": what}
        )

    def token(self, *, refresh: bool = False) -> str:
        if self._token and not refresh:
            return self._token
        try:
            response = self.session.post(
                self.source.token_url,
                data={"grant_type": "client_credentials", "scope": self.source.scopes},
                auth=(self.source.client_id, self.source.client_secret),
                timeout=self.timeout,
            )
        except requests.Timeout:
            raise self._fail(_("the token server did not answer in time.")) from None
        except requests.RequestException:
            raise self._fail(_("the token server cannot be reached.")) from None
        if response.status_code in (400, 401, 403):
            raise self._fail(
                _("the token server refused the client id and secret (HTTP %(status)s).")
                % {"status": response.status_code}
            )
        if response.status_code != 200:
            raise self._fail(
                _("the token server answered HTTP %(status)s.") % {"status": response.status_code}
            )
        try:
            token = response.json()["access_token"]
        except (ValueError, KeyError, TypeError):
            raise self._fail(_("the token server's answer has no access token.")) from None
        self._token = str(token)
        return self._token

    # --- requests ---

    def _retry_after(self, response: requests.Response) -> float:
        value = response.headers.get("Retry-After", "").strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return 1.0
        return max(0.0, (when - datetime.now(UTC)).total_seconds())

    def get(self, path: str, params: dict[str, Any] | None = None) -> requests.Response:
        """GET base + path. 401: refresh the token once. 429: wait Retry-After and retry."""
        url = self.source.base_url.rstrip("/") + path
        refreshed = False
        throttled = 0
        while True:
            try:
                response = self.session.get(
                    url,
                    params=params,
                    headers={
                        "Authorization": f"Bearer {self.token()}",
                        "Accept": "application/json",
                    },
                    timeout=self.timeout,
                )
            except requests.Timeout:
                raise self._fail(_("the SIS did not answer in time.")) from None
            except requests.RequestException:
                raise self._fail(_("the SIS cannot be reached.")) from None
            status = response.status_code
            if status == 401 and not refreshed:
                refreshed = True
                self.token(refresh=True)
                continue
            if status == 401:
                raise self._fail(
                    _("the SIS refused the access token even after a new one (HTTP 401).")
                )
            if status == 403:
                raise self._fail(_("the SIS refused access (HTTP 403): check the client's scopes."))
            if status == 429:
                wait = self._retry_after(response)
                throttled += 1
                if throttled > MAX_RETRIES_429 or wait > self.max_wait:
                    raise self._fail(
                        _("the SIS is limiting requests (HTTP 429); try again in %(seconds)s s.")
                        % {"seconds": int(wait) or 1}
                    )
                self.sleep(wait)
                continue
            if status == 404:
                return response
            if status >= 500:
                raise self._fail(_("the SIS had an error (HTTP %(status)s).") % {"status": status})
            if status != 200:
                raise self._fail(_("the SIS answered HTTP %(status)s.") % {"status": status})
            return response

    def _json(self, response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise self._fail(_("the SIS's answer is not JSON.")) from None
        if not isinstance(body, dict):
            raise self._fail(_("the SIS's answer is not a OneRoster object."))
        return body

    def one(self, path: str, key: str) -> dict[str, Any] | None:
        response = self.get(path)
        if response.status_code == 404:
            return None
        value = self._json(response).get(key)
        return value if isinstance(value, dict) else None

    def paged(self, path: str, key: str, *, filter: str = "") -> Iterator[dict[str, Any]]:
        """Every item of a collection, page by page (limit/offset, X-Total-Count)."""
        offset = 0
        for _page in range(MAX_PAGES):
            params: dict[str, Any] = {"limit": PAGE_SIZE, "offset": offset}
            if filter:
                params["filter"] = filter
            response = self.get(path, params)
            if response.status_code == 404:
                return
            items = self._json(response).get(key) or []
            if not isinstance(items, list):
                raise self._fail(_("the SIS's answer is not a OneRoster collection."))
            yield from (item for item in items if isinstance(item, dict))
            offset += len(items)
            total = response.headers.get("X-Total-Count", "")
            if not items or (total.isdigit() and offset >= int(total)):
                return
            if not total.isdigit() and len(items) < PAGE_SIZE:
                return
        raise self._fail(_("the SIS's collection has too many pages."))


# --- converting REST objects to the CSV binding's rows ----------------------------------------


def _ref(value: Any) -> str:
    return str(value.get("sourcedId", "")) if isinstance(value, dict) else ""


def _refs(value: Any) -> str:
    return ",".join(_ref(v) for v in value or [] if _ref(v))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def user_row(user: dict[str, Any]) -> dict[str, str]:
    row = {
        k: _text(user.get(k))
        for k in (
            "sourcedId",
            "status",
            "dateLastModified",
            "enabledUser",
            "username",
            "givenName",
            "familyName",
            "middleName",
            "preferredGivenName",
            "identifier",
            "email",
            "sms",
            "phone",
        )
    }
    row["userIds"] = ",".join(
        f"{{{u.get('type', '')}:{u.get('identifier', '')}}}"
        for u in user.get("userIds") or []
        if isinstance(u, dict)
    )
    row["agentSourcedIds"] = _refs(user.get("agents"))
    row["grades"] = ",".join(str(g) for g in user.get("grades") or [])
    roles = [r for r in user.get("roles") or [] if isinstance(r, dict)]
    primary = [r for r in roles if r.get("roleType") == "primary"] or roles
    row["_role"] = _text(primary[0].get("role")) if primary else ""
    row["_orgs"] = ",".join(_ref(r.get("org")) for r in primary if _ref(r.get("org")))
    if not row["_orgs"]:
        row["_orgs"] = _ref(user.get("primaryOrg"))
    return {k: v for k, v in row.items() if v}


def _row(
    obj: dict[str, Any], refs: dict[str, str], lists: dict[str, str] | None = None
) -> dict[str, str]:
    """A flat CSV-binding row: scalars as they are, {"sourcedId"} references under `refs`."""
    row = {k: _text(v) for k, v in obj.items() if not isinstance(v, dict | list) and _text(v)}
    for key, column in refs.items():
        if _ref(obj.get(key)):
            row[column] = _ref(obj.get(key))
    for key, column in (lists or {}).items():
        if obj.get(key):
            row[column] = _refs(obj.get(key))
    return row


# --- live lookups ------------------------------------------------------------------------------


def _quoted(value: str) -> str | None:
    """A filter value, or None when it cannot be expressed (OneRoster has no escaping)."""
    value = value.strip()
    return None if "'" in value or not value else value


def rest_student_search(
    *,
    organization: Organization,
    source: DataSource,
    identifier: str = "",
    email: str = "",
    given_name: str = "",
    family_name: str = "",
    birth_date: date | None = None,
    client: OneRosterClient | None = None,
) -> list[Candidate]:
    """Candidates from a REST source; the criteria were checked by `student_search` (which
    refuses a name without a birth date) and each candidate must match all of them."""
    from sources.services import Candidate

    client = client or OneRosterClient(source)
    clauses = []
    if identifier.strip() and (value := _quoted(identifier)):
        clauses.append(f"identifier='{value}'")
    elif email.strip() and (value := _quoted(email)):
        clauses.append(f"email='{value}'")
    elif family_name.strip() and (value := _quoted(family_name)):
        clauses.append(f"familyName='{value}'")
    if not clauses:
        return []
    users = list(client.paged(f"{ROSTERING}/users", "users", filter=" AND ".join(clauses)))
    if identifier.strip() and not users and (value := _quoted(identifier)):
        found = client.one(f"{ROSTERING}/users/{value}", "user")
        users = [found] if found else []
    candidates = []
    for user in users[:50]:
        row = user_row(user)
        if email.strip() and row.get("email", "").lower() != email.strip().lower():
            continue
        if given_name.strip() and {
            row.get("givenName", "").casefold(),
            row.get("preferredGivenName", "").casefold(),
        }.isdisjoint({given_name.strip().casefold()}):
            continue
        if (
            family_name.strip()
            and row.get("familyName", "").casefold() != family_name.strip().casefold()
        ):
            continue
        demographics = client.one(f"{ROSTERING}/demographics/{row['sourcedId']}", "demographics")
        birth = _text((demographics or {}).get("birthDate"))
        if birth_date is not None and birth != birth_date.isoformat():
            continue
        schools = []
        for org_id in [o for o in row.get("_orgs", "").split(",") if o]:
            org = client.one(f"{ROSTERING}/orgs/{org_id}", "org")
            schools.append(_text((org or {}).get("name")) or org_id)
        candidates.append(
            Candidate(
                source_id=source.pk,
                source_name=source.name,
                import_id=0,
                record_id=0,
                sourced_id=row["sourcedId"],
                given_name=row.get("givenName", ""),
                family_name=row.get("familyName", ""),
                birth_date=birth,
                role=row.get("_role", ""),
                grades=[g for g in row.get("grades", "").split(",") if g],
                schools=schools,
                identifier=row.get("identifier", ""),
                matched_by=["rest"],
            )
        )
    return candidates


def rest_student_fetch(
    *,
    organization: Organization,
    actor: User | None,
    source: DataSource,
    sourced_id: str,
    client: OneRosterClient | None = None,
) -> int:
    """Fetch one student's records from a REST source and store them as an import of the
    source; returns the id of the student's user row (to confirm with student_link_confirm).
    Audited (source, import, row counts)."""
    if source.organization_id != organization.pk or source.kind != DataSource.Kind.ONEROSTER_REST:
        raise ValueError("Not a REST source of the organization.")
    value = _quoted(sourced_id)
    if value is None:
        raise RestSourceError(_("No such student in %(source)s.") % {"source": source.name})
    client = client or OneRosterClient(source)
    user = client.one(f"{ROSTERING}/users/{value}", "user")
    if user is None:
        raise RestSourceError(_("No such student in %(source)s.") % {"source": source.name})
    rows: dict[str, list[dict[str, Any]]] = {stem: [] for stem in KIND_OF_FILE}
    urow = user_row(user)
    demographics = client.one(f"{ROSTERING}/demographics/{value}", "demographics")
    if demographics:
        rows["demographics"].append(_row(demographics, {}))
    enrollments = list(
        client.paged(f"{ROSTERING}/enrollments", "enrollments", filter=f"user.sourcedId='{value}'")
    )
    for enrollment in enrollments:
        rows["enrollments"].append(
            _row(
                enrollment,
                {"class": "classSourcedId", "school": "schoolSourcedId", "user": "userSourcedId"},
            )
        )
    class_ids = sorted({_ref(e.get("class")) for e in enrollments} - {""})
    term_ids: set[str] = set()
    for class_id in class_ids:
        klass = client.one(f"{ROSTERING}/classes/{class_id}", "class")
        if klass:
            rows["classes"].append(
                _row(
                    klass,
                    {"school": "schoolSourcedId", "course": "courseSourcedId"},
                    {"terms": "termSourcedIds"},
                )
            )
            term_ids |= {_ref(t) for t in klass.get("terms") or []} - {""}
    for term_id in sorted(term_ids):
        term = client.one(f"{ROSTERING}/academicSessions/{term_id}", "academicSession")
        if term:
            rows["academicSessions"].append(_row(term, {"parent": "parentSourcedId"}))
    org_ids = {o for o in urow.get("_orgs", "").split(",") if o} | {
        _ref(e.get("school")) for e in enrollments
    } - {""}
    for org_id in sorted(org_ids):
        org = client.one(f"{ROSTERING}/orgs/{org_id}", "org")
        if org:
            rows["orgs"].append(_row(org, {"parent": "parentSourcedId"}))
    results = list(
        client.paged(f"{GRADEBOOK}/results", "results", filter=f"student.sourcedId='{value}'")
    )
    for result in results:
        rows["results"].append(
            _row(result, {"lineItem": "lineItemSourcedId", "student": "studentSourcedId"})
        )
    for item_id in sorted({_ref(r.get("lineItem")) for r in results} - {""}):
        item = client.one(f"{GRADEBOOK}/lineItems/{item_id}", "lineItem")
        if item:
            rows["lineItems"].append(_row(item, {"class": "classSourcedId"}))
    return _store(organization, actor, source, urow, rows)


def _store(
    organization: Organization,
    actor: User | None,
    source: DataSource,
    urow: dict[str, str],
    rows: dict[str, list[dict[str, Any]]],
) -> int:
    role, orgs = urow.pop("_role", ""), urow.pop("_orgs", "")
    birth = rows["demographics"][0].get("birthDate", "") if rows["demographics"] else ""
    user: dict[str, Any] = {
        **urow,
        "derived": {
            "role": role,
            "orgSourcedIds": [o for o in orgs.split(",") if o],
            "birthDate": birth,
            "agentSourcedIds": [a for a in urow.get("agentSourcedIds", "").split(",") if a],
            "grades": [g for g in urow.get("grades", "").split(",") if g],
        },
    }
    rows["users"] = [user]
    with transaction.atomic(), current_keys_pinned(organization.pk):
        now = timezone.now()
        source_import = SourceImport.objects.create(
            organization=organization,
            source=source,
            started_by=actor,
            started_at=now,
            finished_at=now,
            file_name=f"REST {now:%Y-%m-%d %H:%M} UTC",
            oneroster_version="1.2",
            status=SourceImport.Status.SUCCEEDED,
            counts={f"{stem}.csv": len(items) for stem, items in rows.items() if items},
        )
        writer = _Writer(source_import, 500)
        for stem, items in rows.items():
            person_column = PERSON_COLUMN.get(stem)
            for row in items:
                if not row.get("sourcedId"):
                    continue
                person = row.get(person_column, "") if person_column else ""
                writer.add(
                    kind=KIND_OF_FILE[stem],
                    sourced_id_index=identifier_index(organization.pk, row["sourcedId"]),
                    person_index=identifier_index(organization.pk, person) if person else "",
                    data=json.dumps(row, separators=(",", ":"), ensure_ascii=False),
                    keys=_user_keys(organization.pk, row, birth) if stem == "users" else None,
                )
        writer.flush()
        audit_record(
            Action.SIS_RECORDS_FETCHED,
            organization=organization,
            target=source_import,
            changes={"source": source.name, "counts": source_import.counts},
        )
        user_record = SisRecord.objects.get(
            source_import=source_import,
            kind=SisRecord.Kind.USER,
            sourced_id_index=identifier_index(organization.pk, user["sourcedId"]),
        )
    return user_record.pk
