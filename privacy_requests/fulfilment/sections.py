"""The extension point of the access package: other apps add sections to it.

`settings.FULFILMENT_SECTION_PROVIDERS` lists dotted paths of callables
`provider(*, organization, request) -> list[Section]`; `package_sections()` (builders.py)
appends what each returns, in order, after the portal's own sections. A provider reads inside
the request's tenant context and must return only the request's person's data (each section
becomes a key of data.json, a CSV file and a table of summary.html, EN/ES).

Providers are looked up by name, so fulfilment does not import the apps that extend it
(e.g. `sources.package.sis_sections`: the student's SIS records).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from accounts.models import Organization
    from privacy_requests.fulfilment.builders import Section
    from privacy_requests.models import PrivacyRequest


def extra_sections(*, organization: Organization, request: PrivacyRequest) -> list[Section]:
    sections: list[Section] = []
    for path in getattr(settings, "FULFILMENT_SECTION_PROVIDERS", ()):
        provider: Any = import_string(path)
        sections.extend(provider(organization=organization, request=request))
    return sections
