"""The API's input serializers validate through fields bound once per process
(`privacy_requests.api.serializers.input_fields`), not DRF's fields built per instance: the
validated data and the errors must be exactly what DRF's own machinery gives, in English and
Spanish; threads validating different inputs at once must each get their own result
(production runs gunicorn gthread); and fields not vetted for sharing are refused.

The reference ("stock") is DRF unmodified: the same declared fields and validate methods on a
plain `serializers.Serializer`, whose fields DRF builds for each instance."""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest
from django.http import QueryDict
from django.utils import translation
from rest_framework import serializers

from privacy_requests.api import serializers as s
from tests.threads import run_at_once

INTAKES: list[dict[str, Any]] = [
    {"request_type": "access", "relationship": "parent", "requester_name": "Rosa Parent"},
    {
        "request_type": "delete",
        "relationship": "student",
        "requester_name": "Sam",
        "requester_email": "sam@example.org",
        "subject_birth_date": "2012-05-01",
        "received_at": "2026-03-02T10:00:00-08:00",
        "language": "es",
        "verification_method": "in_person_id",
        "verification_evidence": "Licence ending 4411",
    },
    {},  # every required field missing
    {"request_type": "nonsense", "relationship": "parent", "requester_name": "x" * 5000},
    {
        "request_type": "access",
        "relationship": "parent",
        "requester_name": "Rosa",
        "requester_email": "not an address",
        "subject_birth_date": "yesterday",
        "received_at": "1970-01-01T00:00:00Z",
        "language": "english",
    },
    {
        "request_type": "access",
        "relationship": "parent",
        "requester_name": "Rosa",
        "verification_evidence": "a utility bill",
    },
    {"request_type": "access", "relationship": "parent", "requester_name": "", "details": None},
]
QUERIES = [
    "",
    "status=closed&type=access&assignee=unassigned&overdue=true&page_size=10",
    "status=bogus&assignee=someone&due_within_days=-1&page_size=500&requester_email=nope",
    "due_within_days=30&cursor=abc&requester_email=rosa%40example.org",
]


def stock(serializer_class: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The same declared fields and validate methods, validated by DRF unmodified."""
    attrs: dict[str, Any] = {
        name: copy.deepcopy(field) for name, field in serializer_class._declared_fields.items()
    }
    attrs.update(
        {
            name: value
            for name, value in vars(serializer_class).items()
            if name.startswith("validate")
        }
    )
    return type(f"Stock{serializer_class.__name__}", (serializers.Serializer,), attrs)


def outcome(serializer: serializers.Serializer) -> tuple[bool, Any, Any]:
    valid = serializer.is_valid()
    errors = {name: [(str(e), e.code) for e in found] for name, found in serializer.errors.items()}
    return valid, dict(serializer.validated_data) if valid else None, errors


@pytest.mark.parametrize("language", ["en", "es"])
def test_intake_validation_is_what_drf_gives(language: str) -> None:
    reference = stock(s.RequestIntakeSerializer)
    with translation.override(language):
        for data in INTAKES:
            ours = outcome(s.RequestIntakeSerializer(data=data))
            assert ours == outcome(reference(data=data)), data
    assert any(outcome(s.RequestIntakeSerializer(data=d))[0] for d in INTAKES)  # some valid
    assert not all(outcome(s.RequestIntakeSerializer(data=d))[0] for d in INTAKES)


@pytest.mark.parametrize("language", ["en", "es"])
def test_list_query_validation_is_what_drf_gives(language: str) -> None:
    reference = stock(s.RequestListQuerySerializer)
    with translation.override(language):
        for query in QUERIES:
            data = QueryDict(query)
            ours = outcome(s.RequestListQuerySerializer(data=data))
            assert ours == outcome(reference(data=data)), query


def test_the_fields_are_built_once_and_shared() -> None:
    first = s.RequestIntakeSerializer(data={})
    second = s.RequestIntakeSerializer(data={"request_type": "access"})
    assert first.fields is second.fields is s.input_fields(s.RequestIntakeSerializer)
    assert list(first.fields) == list(s.RequestIntakeSerializer._declared_fields)


def test_a_partial_serializer_is_refused() -> None:
    with pytest.raises(TypeError, match="never partial"):
        s.RequestIntakeSerializer(data={}, partial=True)


def test_a_field_not_vetted_for_sharing_is_refused() -> None:
    class WithList(s.SharedInputFieldsMixin, serializers.Serializer):
        tags = serializers.ListField(child=serializers.CharField())

    with pytest.raises(TypeError, match="tags: ListField is not vetted"):
        WithList(data={}).is_valid()

    class WithCallableDefault(s.SharedInputFieldsMixin, serializers.Serializer):
        name = serializers.CharField(default=lambda: "x")

    with pytest.raises(TypeError, match="name: a callable default"):
        WithCallableDefault(data={}).is_valid()


def test_threads_validating_at_once_each_get_their_own_result() -> None:
    jobs = [(data, language) for data in INTAKES for language in ("en", "es")]
    reference = stock(s.RequestIntakeSerializer)
    expected = []
    for data, language in jobs:
        with translation.override(language):
            expected.append(outcome(reference(data=data)))
    barrier = threading.Barrier(len(jobs))
    wrong: list[int] = []
    failed: list[BaseException] = []

    def validate(index: int) -> None:
        data, language = jobs[index]
        try:
            with translation.override(language):
                barrier.wait(timeout=30)
                for _ in range(200):
                    if outcome(s.RequestIntakeSerializer(data=data)) != expected[index]:
                        wrong.append(index)
        except BaseException as error:  # reported below, not lost in the thread
            failed.append(error)

    run_at_once(validate, len(jobs))
    assert not failed, failed
    assert not wrong, wrong[:5]
