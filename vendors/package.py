"""The vendors' part of a request's access package, through the package's extension point
(privacy_requests.fulfilment.sections; named in settings.FULFILMENT_SECTION_PROVIDERS and
FULFILMENT_FILE_PROVIDERS): one section per vendor task, and the vendors' files as they sent
them, under vendors/<task reference>/.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from privacy_requests.fulfilment.sections import PackageFile, Section
from vendors.selectors import package_file_path, vendor_package_rows, vendor_package_sections

if TYPE_CHECKING:
    from accounts.models import Organization
    from privacy_requests.models import PrivacyRequest

VENDOR_COLUMNS = (
    "task",
    "status",
    "answer",
    "answered_at",
    "responder",
    "note",
    "file",
    "sha256",
    "size",
)


def vendor_sections(*, organization: Organization, request: PrivacyRequest) -> list[Section]:
    """One section per vendor the request was forwarded to: what it answered, and its files."""
    return [
        Section(
            f"vendor_{n}",
            _("From %(vendor)s") % {"vendor": part.vendor_name},
            VENDOR_COLUMNS,
            vendor_package_rows(part),
        )
        for n, part in enumerate(
            vendor_package_sections(
                organization=organization, privacy_request=request, with_content=False
            ),
            start=1,
        )
    ]


def vendor_files(*, organization: Organization, request: PrivacyRequest) -> list[PackageFile]:
    """The vendors' files of the request (decrypted), at their paths in the ZIP."""
    return [
        PackageFile(
            name=package_file_path(part, file),
            content=file.data,
            kind=file.content_type,
            description=str(_("From %(vendor)s") % {"vendor": part.vendor_name}),
        )
        for part in vendor_package_sections(organization=organization, privacy_request=request)
        for file in part.files
    ]
