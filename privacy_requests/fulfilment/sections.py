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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from accounts.models import Organization
    from privacy_requests.models import PrivacyRequest


@dataclass
class Section:
    """One section of the package: a CSV file, a key of data.json, a table in the summary."""

    key: str
    title: Any
    columns: Sequence[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: Any = ""

    @property
    def file_name(self) -> str:
        return f"{self.key}.csv"


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
