"""Finding a request's student in the SIS, confirming it, and reading the student's records."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from accounts.tests.factories import OrganizationFactory, member
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context
from sources.models import DataSource, StudentLink
from sources.services import (
    data_source_save,
    sis_deletion_record,
    student_link_confirm,
    student_records_for_request,
    student_search,
)
from sources.tests.conftest import District

pytestmark = pytest.mark.django_db


def search(district: District, **criteria: object):
    with tenant_context(district.org):
        return student_search(organization=district.org, actor=district.admin, **criteria)


def test_search_by_identifier_sourced_id_user_id_and_email(district: District) -> None:
    student = district.package.student(5)
    for criteria in (
        {"identifier": student.identifier},
        {"identifier": f"  {student.sourced_id} "},
        {"email": student.email.upper()},
    ):
        found = search(district, **criteria)
        assert [c.sourced_id for c in found] == [student.sourced_id], criteria
    candidate = search(district, identifier=student.identifier)[0]
    assert candidate.birth_date == student.birth_date
    assert candidate.grades == [student.grade]
    assert candidate.role == "student"
    assert candidate.schools == ["Jefferson Elementary School 1"]
    assert candidate.source_name == "PowerSIS"


def test_name_and_birth_date_tell_two_students_of_the_same_name_apart(
    district: District,
) -> None:
    assert district.package.twins is not None
    first, second = district.package.twins
    assert (first.given_name, first.family_name) == (second.given_name, second.family_name)
    assert first.birth_date != second.birth_date
    found = search(
        district,
        given_name="maria",
        family_name=" GARCIA",
        birth_date=date.fromisoformat(second.birth_date),
    )
    assert [c.sourced_id for c in found] == [second.sourced_id]
    assert found[0].matched_by == ["name_birth_date"]


def test_a_name_alone_is_refused(district: District) -> None:
    with pytest.raises(ValidationError) as refused:
        search(district, given_name="Maria", family_name="Garcia")
    assert "birth_date" in refused.value.message_dict
    with pytest.raises(ValidationError):
        search(district)


def test_every_criterion_must_match(district: District) -> None:
    student, other = district.package.student(1), district.package.student(2)
    assert search(district, identifier=student.identifier, email=other.email) == []


def test_searches_are_audited_without_the_values(district: District) -> None:
    student = district.package.student(1)
    search(district, identifier=student.identifier)
    with tenant_context(district.org):
        event = AuditEvent.objects.get(action=Action.SIS_SEARCHED.value)
    assert event.changes == {"by": ["identifier"], "candidates": 1}
    assert student.identifier not in str(event.changes)


def test_another_organization_finds_nothing(district: District) -> None:
    other = OrganizationFactory(slug="hudson-csd")
    admin = member(other)
    student = district.package.student(1)
    with tenant_context(other):
        assert student_search(organization=other, actor=admin, identifier=student.identifier) == []


def confirm(district: District, request, student) -> StudentLink:
    candidate = search(district, identifier=student.identifier)[0]
    with tenant_context(district.org):
        return student_link_confirm(
            organization=district.org,
            actor=district.admin,
            request=request,
            record_id=candidate.record_id,
        )


def test_confirming_checks_guardianship_through_agents(district: District) -> None:
    student = district.package.student(4)
    request = district.request_about(student)
    link = confirm(district, request, student)
    assert link.guardianship == StudentLink.Guardianship.CONFIRMED
    stranger = district.request_about(student, requester_email="someone@example.org")
    assert confirm(district, stranger, student).guardianship == StudentLink.Guardianship.NOT_FOUND
    with tenant_context(district.org):
        events = AuditEvent.objects.filter(action=Action.SIS_STUDENT_LINKED.value)
        assert events.count() == 2
        first = events.order_by("id").first()
        assert first is not None and first.target_id == str(request.pk)


def test_the_confirmed_students_records(district: District) -> None:
    student = district.package.student(12)  # school 2
    request = district.request_about(student)
    confirm(district, request, student)
    with tenant_context(district.org):
        (records,) = student_records_for_request(organization=district.org, request=request)
    assert records["found"] is True
    assert records["source"] == "PowerSIS"
    assert records["retrieved_at"]
    assert records["profile"]["sourcedId"] == student.sourced_id
    assert "password" not in records["profile"] and "derived" not in records["profile"]
    assert records["demographics"]["birthDate"] == student.birth_date
    assert [e["class"] for e in records["enrollments"]] == ["Mathematics 2", "Reading 2"]
    assert records["enrollments"][0]["terms"] == ["2026-2027 School Year"]
    assert records["enrollments"][0]["school"] == "Roosevelt Middle School 2"
    assert [r["line_item"] for r in records["results"]] == [
        "Mathematics unit test",
        "Reading unit test",
    ]
    assert records["results"][0]["class"] == "Mathematics 2"


def test_sis_deletion_is_recorded_once(district: District) -> None:
    student = district.package.student(3)
    request = district.request_about(student, request_type="delete")
    link = confirm(district, request, student)
    with tenant_context(district.org):
        done = sis_deletion_record(
            organization=district.org, actor=district.admin, link=link, note="Deleted in PowerSIS"
        )
        assert done.sis_deletion_recorded_at is not None
        with pytest.raises(ValidationError):
            sis_deletion_record(organization=district.org, actor=district.admin, link=link)
        assert AuditEvent.objects.filter(action=Action.SIS_DELETION_RECORDED.value).count() == 1


def test_a_rest_source_needs_its_connection_and_keeps_the_secret_encrypted(
    district: District,
) -> None:
    with tenant_context(district.org):
        with pytest.raises(ValidationError) as refused:
            data_source_save(
                organization=district.org,
                actor=district.admin,
                kind=DataSource.Kind.ONEROSTER_REST,
                name="Live SIS",
            )
        assert set(refused.value.message_dict) == {
            "base_url",
            "token_url",
            "client_id",
            "client_secret",
        }
        source = data_source_save(
            organization=district.org,
            actor=district.admin,
            kind=DataSource.Kind.ONEROSTER_REST,
            name="Live SIS",
            base_url="https://sis.example",
            token_url="https://sis.example/oauth/token",
            client_id="portal",
            client_secret="s3cret-value",
        )
        stored = DataSource.objects.filter(pk=source.pk).values_list("client_secret", flat=True)
        assert "s3cret" not in str(stored[0].envelope)
        assert DataSource.objects.get(pk=source.pk).client_secret == "s3cret-value"
        with pytest.raises(ValidationError):
            data_source_save(
                organization=district.org,
                actor=district.admin,
                kind=DataSource.Kind.ONEROSTER_CSV,
                name="live sis",
            )
        events = AuditEvent.objects.filter(action=Action.SIS_SOURCE_SAVED.value)
        assert events.count() == 2  # the CSV source of the fixture and this one
        assert "s3cret" not in str(list(events.values_list("changes", flat=True)))
