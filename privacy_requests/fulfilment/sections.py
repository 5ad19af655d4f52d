"""The parts of the access package, and its extension point: other apps add sections to it.

`Section` is one table of the package (a key of data.json, a CSV file, a table of the summary);
`PackageFile` is a file attached as it is (an evidence file).

`settings.FULFILMENT_FILE_PROVIDERS` lists callables
`provider(*, organization, request) -> list[PackageFile]`: files other apps attach as they are
(a vendor's export or certificate), listed with their SHA-256 in the package's index.

`settings.FULFILMENT_SECTION_PROVIDERS` lists dotted paths of callables
`provider(*, organization, request) -> list[Section]`; `package_sections()` (builders.py)
appends what each returns, in order, after the portal's own sections. A provider reads inside
the request's tenant context and must return only the request's person's data (each section
becomes a key of data.json, a CSV file and a table of summary.html, EN/ES).

Providers are looked up by name, so fulfilment does not import the apps that extend it
(e.g. `sources.package.sis_sections`: the student's SIS records).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from accounts.models import Organization
    from privacy_requests.models import PrivacyRequest


# How the portal's own columns read to the requester in summary.html, in the request's
# language; data.json and the CSV files keep the column names as keys. A provider's section
# may name its columns in `Section.column_labels`; a column named nowhere reads as words.
COLUMN_LABELS: dict[str, Any] = {
    "email": _("Email address"),
    "full_name": _("Full name"),
    "is_active": _("Active"),
    "date_joined": _("Joined"),
    "last_login": _("Last sign-in"),
    "organization": _("Organization"),
    "role": _("Role"),
    "created_at": _("Created"),
    "deactivated_at": _("Deactivated"),
    "occurred_at": _("When"),
    "action": _("Action"),
    "actor_kind": _("Done by"),
    "changes": _("Changes"),
    "reference": _("Reference"),
    "request_type": _("Request type"),
    "status": _("Status"),
    "channel": _("Received by"),
    "received_at": _("Received"),
    "closed_at": _("Closed"),
    "outcome": _("Outcome"),
    "relationship": _("Relationship to the person"),
    "requester_name": _("Requester's name"),
    "requester_email": _("Requester's email address"),
    "requester_phone": _("Requester's phone number"),
    "requester_address": _("Requester's postal address"),
    "subject_name": _("Name of the person the data is about"),
    "subject_school": _("School"),
    "subject_birth_date": _("Date of birth"),
    "details": _("Details"),
    "request_reference": _("Request reference"),
    "direction": _("Kind"),
    "body": _("Text"),
}


@dataclass
class Section:
    """One section of the package: a CSV file, a key of data.json, a table in the summary."""

    key: str
    title: Any
    columns: Sequence[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: Any = ""
    # column -> its label for people (lazy texts resolve in the request's language)
    column_labels: Mapping[str, Any] = field(default_factory=dict)

    @property
    def file_name(self) -> str:
        return f"{self.key}.csv"

    def column_label(self, column: str) -> str:
        label = self.column_labels.get(column, COLUMN_LABELS.get(column))
        return str(label) if label is not None else column.replace("_", " ").capitalize()


@dataclass
class PackageFile:
    """A file attached to the package as it is (evidence), with where it came from."""

    name: str
    content: bytes
    kind: str
    evidence_id: int | None = None
    description: str = ""
    added_by: str = ""
    added_at: datetime | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def extra_sections(*, organization: Organization, request: PrivacyRequest) -> list[Section]:
    sections: list[Section] = []
    for path in getattr(settings, "FULFILMENT_SECTION_PROVIDERS", ()):
        provider: Any = import_string(path)
        sections.extend(provider(organization=organization, request=request))
    return sections


def extra_files(*, organization: Organization, request: PrivacyRequest) -> list[PackageFile]:
    files: list[PackageFile] = []
    for path in getattr(settings, "FULFILMENT_FILE_PROVIDERS", ()):
        provider: Any = import_string(path)
        files.extend(provider(organization=organization, request=request))
    return files
