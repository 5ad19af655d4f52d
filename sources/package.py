"""The SIS section of a request's access package (a fulfilment section provider).

Registered in `settings.FULFILMENT_SECTION_PROVIDERS` (privacy_requests/fulfilment/sections.py).
For each student confirmed for the request (sources.services.student_link_confirm), the
records the source holds: the profile and demographics as field/value rows, the enrollments
with classes and terms, the results with their line items; every row names its source and the
time the records were retrieved. No confirmed student: no SIS section.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from privacy_requests.fulfilment.sections import Section
from sources.services import student_records_for_request

if TYPE_CHECKING:
    from accounts.models import Organization
    from privacy_requests.models import PrivacyRequest

PROVENANCE = ("source", "retrieved_at")
ENROLLMENT_COLUMNS = (
    *PROVENANCE,
    "class",
    "class_code",
    "school",
    "terms",
    "role",
    "begin_date",
    "end_date",
    "status",
)
RESULT_COLUMNS = (
    *PROVENANCE,
    "line_item",
    "class",
    "score",
    "score_status",
    "score_date",
    "comment",
)


def _flat(value: Any) -> Any:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else value


def sis_sections(*, organization: Organization, request: PrivacyRequest) -> list[Section]:
    students = student_records_for_request(organization=organization, request=request)
    if not students:
        return []
    profile = Section(
        "sis_student",
        _("Student information system: student record"),
        (*PROVENANCE, "record", "field", "value"),
        note=_("The student information system holds no record for this student any more."),
    )
    enrollments = Section(
        "sis_enrollments",
        _("Student information system: enrollments"),
        ENROLLMENT_COLUMNS,
        note=_("No enrollments."),
    )
    results = Section(
        "sis_results",
        _("Student information system: results"),
        RESULT_COLUMNS,
        note=_("No results."),
    )
    for student in students:
        provenance = {"source": student["source"], "retrieved_at": student["retrieved_at"]}
        for record, values in (
            ("profile", student["profile"]),
            ("demographics", student["demographics"]),
        ):
            for name, value in values.items():
                profile.rows.append(
                    {**provenance, "record": record, "field": name, "value": _flat(value)}
                )
        for row in student["enrollments"]:
            enrollments.rows.append({**provenance, **{k: _flat(v) for k, v in row.items()}})
        for row in student["results"]:
            results.rows.append({**provenance, **row})
    return [profile, enrollments, results]
