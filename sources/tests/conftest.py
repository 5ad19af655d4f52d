"""A district with an imported OneRoster package, and a request about one of its students."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from privacy_requests.tests.factories import stored_request
from sources.importing import oneroster_package_import
from sources.models import DataSource, SourceImport
from sources.services import data_source_save
from sources.tests.fixtures import GeneratedPackage, Student, oneroster_package


@dataclass
class District:
    org: Organization
    admin: User
    source: DataSource
    package: GeneratedPackage
    source_import: SourceImport

    def request_about(self, student: Student, **fields: object) -> PrivacyRequest:
        values: dict[str, object] = {
            "relationship": "parent",
            "requester_name": "A Parent",
            "requester_email": student.guardian_email,
            "subject_name": f"{student.given_name} {student.family_name}",
            "subject_birth_date": student.birth_date,
            **fields,
        }
        return stored_request(self.org, **values)


def import_package(
    org: Organization, admin: User, source: DataSource, package: GeneratedPackage
) -> SourceImport:
    with tenant_context(org):
        return oneroster_package_import(
            organization=org,
            actor=admin,
            source=source,
            stream=io.BytesIO(package.content),
            file_name="lincoln-oneroster.zip",
        )


@pytest.fixture
def district(db: None) -> District:
    org = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    admin = member(org, Role.ORG_ADMIN, email="admin@lincoln.example")
    with tenant_context(org):
        source = data_source_save(
            organization=org, actor=admin, kind=DataSource.Kind.ONEROSTER_CSV, name="PowerSIS"
        )
    package = oneroster_package(schools=3, students_per_school=10)
    done = import_package(org, admin, source, package)
    assert done.status == SourceImport.Status.SUCCEEDED, done.errors
    return District(org, admin, source, package, done)
