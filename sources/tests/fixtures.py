"""A OneRoster CSV bulk package generated from the specification's shapes (tests, benchmark).

`oneroster_package()` writes a zip with manifest.csv, orgs, academicSessions, classes, users,
roles, demographics, enrollments, lineItems and results: a district with several schools,
`students_per_school` students each (one guardian each, linked through `agentSourcedIds`),
one teacher per school, two classes per school, a term, a line item per class and a result
per student and line item. Two students share a name ("Maria Garcia", different schools and
birth dates) so that a lookup by name alone would be ambiguous.

Deterministic: the same arguments give the same bytes. `breaks` spoils the package on purpose
(missing manifest, a manifest naming a missing file, a users.csv without sourcedId, a bad
birth date) for the refusal tests.
"""

from __future__ import annotations

import csv
import io
import random
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta

ORG_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "name",
    "type",
    "identifier",
    "parentSourcedId",
]
SESSION_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "type",
    "startDate",
    "endDate",
    "parentSourcedId",
    "schoolYear",
]
CLASS_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "grades",
    "courseSourcedId",
    "classCode",
    "classType",
    "location",
    "schoolSourcedId",
    "termSourcedIds",
    "subjects",
    "subjectCodes",
    "periods",
]
USER_HEADER_1_2 = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
    "userMasterIdentifier",
    "resourceSourcedIds",
    "preferredGivenName",
    "preferredMiddleName",
    "preferredFamilyName",
    "primaryOrgSourcedId",
    "pronouns",
]
USER_HEADER_1_1 = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "orgSourcedIds",
    "role",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
]
ROLE_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "userSourcedId",
    "roleType",
    "role",
    "beginDate",
    "endDate",
    "orgSourcedId",
    "userProfileSourcedId",
]
DEMOGRAPHICS_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "birthDate",
    "sex",
    "americanIndianOrAlaskaNative",
    "asian",
    "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander",
    "white",
    "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity",
    "countryOfBirthCode",
    "stateOfBirthAbbreviation",
    "cityOfBirth",
    "publicSchoolResidenceStatus",
]
ENROLLMENT_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "classSourcedId",
    "schoolSourcedId",
    "userSourcedId",
    "role",
    "primary",
    "beginDate",
    "endDate",
]
LINE_ITEM_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "description",
    "assignDate",
    "dueDate",
    "classSourcedId",
    "categorySourcedId",
    "gradingPeriodSourcedId",
    "resultValueMin",
    "resultValueMax",
]
RESULT_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "lineItemSourcedId",
    "studentSourcedId",
    "scoreStatus",
    "score",
    "scoreDate",
    "comment",
]

GIVEN = [
    "Ava",
    "Liam",
    "Noah",
    "Emma",
    "Olivia",
    "Mateo",
    "Sofia",
    "Ethan",
    "Mia",
    "Lucas",
    "Aiden",
    "Chloe",
    "Diego",
    "Zoe",
    "Jayden",
    "Layla",
    "Omar",
    "Priya",
    "Kai",
    "Nora",
]
FAMILY = [
    "Smith",
    "Johnson",
    "Nguyen",
    "Lopez",
    "Brown",
    "Patel",
    "Kim",
    "Martinez",
    "Davis",
    "Wilson",
    "Chen",
    "Hernandez",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
    "Allen",
    "Khan",
]
MODIFIED = "2026-08-15T12:00:00Z"
TERM = "term-2026"


@dataclass(frozen=True)
class Student:
    sourced_id: str
    identifier: str
    given_name: str
    family_name: str
    birth_date: str
    email: str
    school: str
    grade: str
    guardian_sourced_id: str
    guardian_email: str


@dataclass
class GeneratedPackage:
    content: bytes
    students: list[Student] = field(default_factory=list)
    twins: tuple[Student, Student] | None = None  # the two students with the same name

    def student(self, index: int = 0) -> Student:
        return self.students[index]


def _csv(header: list[str], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def oneroster_package(
    *,
    schools: int = 3,
    students_per_school: int = 100,
    version: str = "1.2",
    results: bool = True,
    breaks: frozenset[str] = frozenset(),
    seed: int = 15,
) -> GeneratedPackage:
    """A spec-shaped package; `breaks` ⊆ {"no_manifest", "missing_file", "users_no_sourcedid",
    "bad_birth_date"}."""
    rng = random.Random(seed)
    orgs = [
        {
            "sourcedId": "district-1",
            "status": "active",
            "dateLastModified": MODIFIED,
            "name": "Lincoln Unified School District",
            "type": "district",
            "identifier": "LUSD",
        }
    ]
    sessions = [
        {
            "sourcedId": TERM,
            "status": "active",
            "dateLastModified": MODIFIED,
            "title": "2026-2027 School Year",
            "type": "schoolYear",
            "startDate": "2026-08-20",
            "endDate": "2027-06-10",
            "schoolYear": "2027",
        }
    ]
    classes: list[dict[str, str]] = []
    users: list[dict[str, str]] = []
    roles: list[dict[str, str]] = []
    demographics: list[dict[str, str]] = []
    enrollments: list[dict[str, str]] = []
    line_items: list[dict[str, str]] = []
    result_rows: list[dict[str, str]] = []
    generated = GeneratedPackage(b"")
    legacy = version == "1.1"
    twins: list[Student] = []

    def add_user(row: dict[str, str], role: str, org: str) -> None:
        row.update(status="active", dateLastModified=MODIFIED, enabledUser="true")
        if legacy:
            row.update(role=role, orgSourcedIds=org)
        else:
            row.update(primaryOrgSourcedId=org)
            roles.append(
                {
                    "sourcedId": f"role-{row['sourcedId']}",
                    "status": "active",
                    "dateLastModified": MODIFIED,
                    "userSourcedId": row["sourcedId"],
                    "roleType": "primary",
                    "role": role,
                    "orgSourcedId": org,
                    "beginDate": "2026-08-20",
                }
            )
        users.append(row)

    number = 0
    for s in range(1, schools + 1):
        school = f"school-{s}"
        orgs.append(
            {
                "sourcedId": school,
                "status": "active",
                "dateLastModified": MODIFIED,
                "name": f"{['Jefferson', 'Roosevelt', 'Madison', 'Adams', 'Monroe'][(s - 1) % 5]}"
                f" {'Elementary' if s % 2 else 'Middle'} School {s}",
                "type": "school",
                "identifier": f"SCH{s:03d}",
                "parentSourcedId": "district-1",
            }
        )
        teacher = f"teacher-{s}"
        add_user(
            {
                "sourcedId": teacher,
                "username": f"teacher{s}",
                "givenName": "Terry",
                "familyName": f"Teacher{s}",
                "email": f"teacher{s}@lincoln.example",
                "identifier": f"T{s:04d}",
            },
            "teacher",
            school,
        )
        school_classes = []
        for c, subject in enumerate(("Mathematics", "Reading"), start=1):
            class_id = f"class-{s}-{c}"
            school_classes.append(class_id)
            classes.append(
                {
                    "sourcedId": class_id,
                    "status": "active",
                    "dateLastModified": MODIFIED,
                    "title": f"{subject} {s}",
                    "grades": "05",
                    "classCode": f"{subject[:4].upper()}-{s}",
                    "classType": "scheduled",
                    "schoolSourcedId": school,
                    "termSourcedIds": TERM,
                    "subjects": subject,
                }
            )
            enrollments.append(
                {
                    "sourcedId": f"enr-{class_id}-{teacher}",
                    "status": "active",
                    "dateLastModified": MODIFIED,
                    "classSourcedId": class_id,
                    "schoolSourcedId": school,
                    "userSourcedId": teacher,
                    "role": "teacher",
                    "primary": "true",
                }
            )
            line_items.append(
                {
                    "sourcedId": f"li-{class_id}",
                    "status": "active",
                    "dateLastModified": MODIFIED,
                    "title": f"{subject} unit test",
                    "assignDate": "2026-09-01",
                    "dueDate": "2026-09-15",
                    "classSourcedId": class_id,
                    "resultValueMin": "0",
                    "resultValueMax": "100",
                }
            )
        for _ in range(students_per_school):
            number += 1
            sid = f"stu-{number:06d}"
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            if number == 1 or (s == min(2, schools) and len(twins) == 1):
                given, family = "Maria", "Garcia"
            birth = date(2013, 1, 1) + timedelta(days=rng.randrange(0, 5 * 365))
            grade = f"{rng.randrange(0, 9):02d}"
            guardian = f"grd-{number:06d}"
            student = Student(
                sid,
                f"S{number:06d}",
                given,
                family,
                birth.isoformat(),
                f"{sid}@students.lincoln.example",
                school,
                grade,
                guardian,
                f"parent.{number}@example.org",
            )
            if given == "Maria" and family == "Garcia" and len(twins) < 2:
                twins.append(student)
            generated.students.append(student)
            add_user(
                {
                    "sourcedId": sid,
                    "username": sid,
                    "userIds": f"{{SIS:{student.identifier}}}",
                    "givenName": given,
                    "familyName": family,
                    "identifier": student.identifier,
                    "email": student.email,
                    "agentSourcedIds": guardian,
                    "grades": grade,
                },
                "student",
                school,
            )
            add_user(
                {
                    "sourcedId": guardian,
                    "username": guardian,
                    "givenName": rng.choice(GIVEN),
                    "familyName": family,
                    "email": student.guardian_email,
                    "agentSourcedIds": sid,
                },
                "guardian",
                school,
            )
            demographics.append(
                {
                    "sourcedId": sid,
                    "status": "active",
                    "dateLastModified": MODIFIED,
                    "birthDate": birth.isoformat(),
                    "sex": rng.choice(["female", "male", "other"]),
                    "hispanicOrLatinoEthnicity": rng.choice(["true", "false"]),
                }
            )
            for class_id in school_classes:
                enrollments.append(
                    {
                        "sourcedId": f"enr-{class_id}-{sid}",
                        "status": "active",
                        "dateLastModified": MODIFIED,
                        "classSourcedId": class_id,
                        "schoolSourcedId": school,
                        "userSourcedId": sid,
                        "role": "student",
                        "primary": "false",
                        "beginDate": "2026-08-20",
                    }
                )
                if results:
                    result_rows.append(
                        {
                            "sourcedId": f"res-{class_id}-{sid}",
                            "status": "active",
                            "dateLastModified": MODIFIED,
                            "lineItemSourcedId": f"li-{class_id}",
                            "studentSourcedId": sid,
                            "scoreStatus": "fully graded",
                            "score": str(rng.randrange(50, 101)),
                            "scoreDate": "2026-09-16",
                        }
                    )
    if len(twins) == 2:
        generated.twins = (twins[0], twins[1])

    if "bad_birth_date" in breaks:
        demographics[min(4, len(demographics) - 1)]["birthDate"] = "2014-02-30"
    user_header = USER_HEADER_1_1 if legacy else USER_HEADER_1_2
    if "users_no_sourcedid" in breaks:
        user_header = [h for h in user_header if h != "sourcedId"]
    files = {
        "orgs": _csv(ORG_HEADER, orgs),
        "academicSessions": _csv(SESSION_HEADER, sessions),
        "classes": _csv(CLASS_HEADER, classes),
        "users": _csv(user_header, users),
        "demographics": _csv(DEMOGRAPHICS_HEADER, demographics),
        "enrollments": _csv(ENROLLMENT_HEADER, enrollments),
        "lineItems": _csv(LINE_ITEM_HEADER, line_items),
    }
    if not legacy:
        files["roles"] = _csv(ROLE_HEADER, roles)
    if results:
        files["results"] = _csv(RESULT_HEADER, result_rows)
    manifest_files = [
        "academicSessions",
        "categories",
        "classes",
        "classResources",
        "courses",
        "courseResources",
        "demographics",
        "enrollments",
        "lineItems",
        "orgs",
        "resources",
        "results",
        "users",
        "roles",
        "userProfiles",
    ]
    manifest = [
        ["propertyName", "value"],
        ["manifest.version", "1.0"],
        ["oneroster.version", version],
    ]
    for name in manifest_files:
        manifest.append([f"file.{name}", "bulk" if name in files else "absent"])
    manifest += [["source.systemName", "Test SIS"], ["source.systemCode", "test-sis"]]
    if "missing_file" in breaks:
        del files["enrollments"]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(manifest)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if "no_manifest" not in breaks:
            archive.writestr("manifest.csv", out.getvalue())
        for name, content in files.items():
            archive.writestr(f"{name}.csv", content)
    generated.content = buffer.getvalue()
    return generated
