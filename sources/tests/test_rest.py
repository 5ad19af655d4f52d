"""The OneRoster REST client against a SIS faked at the HTTP boundary (`responses`): paging,
429 with Retry-After, a 401 after token expiry (refresh once, then report), 5xx, timeouts;
and a live search + fetch whose records reach the package like a CSV import's."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import requests
import responses
from django.test import Client
from django.urls import reverse
from responses import matchers

from accounts.permissions import Role
from accounts.tests.factories import member, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context
from sources.models import DataSource, StudentLink
from sources.oneroster.rest import (
    GRADEBOOK,
    ROSTERING,
    OneRosterClient,
    RestSourceError,
    rest_student_fetch,
    rest_student_search,
)
from sources.services import data_source_save, student_link_confirm, student_records_for_request
from sources.tests.conftest import District

pytestmark = pytest.mark.django_db

BASE = "https://sis.lincoln.example"
TOKEN_URL = "https://sis.lincoln.example/oauth/token"
USERS = f"{BASE}{ROSTERING}/users"


@pytest.fixture
def rest_source(district: District) -> DataSource:
    with tenant_context(district.org):
        return data_source_save(
            organization=district.org,
            actor=district.admin,
            kind=DataSource.Kind.ONEROSTER_REST,
            name="Live SIS",
            base_url=BASE,
            token_url=TOKEN_URL,
            client_id="k12cloud",
            client_secret="client-secret-value",
        )


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(source: DataSource, sleeps: Sleeps | None = None) -> OneRosterClient:
    return OneRosterClient(source, sleep=sleeps if sleeps is not None else Sleeps())


def token(rsps: responses.RequestsMock, value: str = "token-1", status: int = 200) -> None:
    rsps.post(TOKEN_URL, json={"access_token": value, "token_type": "bearer"}, status=status)


def user(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "sourcedId": f"stu-{n}",
        "status": "active",
        "givenName": "Ana",
        "familyName": "Reyes",
        "identifier": f"S{n}",
        "email": f"stu-{n}@students.example",
        "roles": [{"roleType": "primary", "role": "student", "org": {"sourcedId": "sch-1"}}],
        "agents": [{"sourcedId": f"grd-{n}", "type": "user"}],
        "grades": ["04"],
        **extra,
    }


def test_paging_across_three_pages_with_x_total_count(rest_source: DataSource) -> None:
    with responses.RequestsMock() as rsps:
        token(rsps)
        for offset, count in ((0, 100), (100, 100), (200, 37)):
            rsps.get(
                USERS,
                json={"users": [user(offset + i) for i in range(count)]},
                headers={"X-Total-Count": "237"},
                match=[
                    matchers.query_param_matcher(
                        {"limit": "100", "offset": str(offset), "filter": "familyName='Reyes'"}
                    ),
                    matchers.header_matcher({"Authorization": "Bearer token-1"}),
                ],
            )
        found = list(
            client_for(rest_source).paged(
                f"{ROSTERING}/users", "users", filter="familyName='Reyes'"
            )
        )
        token_call = rsps.calls[0].request
    assert len(found) == 237
    assert found[-1]["sourcedId"] == "stu-236"
    # the token request: client credentials with the three read-only scopes
    assert "grant_type=client_credentials" in str(token_call.body)
    for scope in ("roster-core.readonly", "roster-demographics.readonly", "gradebook.readonly"):
        assert scope in str(token_call.body)


def test_a_429_waits_retry_after_then_succeeds(rest_source: DataSource) -> None:
    sleeps = Sleeps()
    with responses.RequestsMock() as rsps:
        token(rsps)
        rsps.get(f"{USERS}/stu-1", status=429, headers={"Retry-After": "3"})
        rsps.get(f"{USERS}/stu-1", json={"user": user(1)})
        found = client_for(rest_source, sleeps).one(f"{ROSTERING}/users/stu-1", "user")
    assert found is not None and found["sourcedId"] == "stu-1"
    assert sleeps == [3.0]


def test_a_429_asking_too_long_a_wait_is_reported(rest_source: DataSource) -> None:
    with responses.RequestsMock() as rsps:
        token(rsps)
        rsps.get(f"{USERS}/stu-1", status=429, headers={"Retry-After": "600"})
        with pytest.raises(RestSourceError, match=r"limiting requests.*600 s"):
            client_for(rest_source).one(f"{ROSTERING}/users/stu-1", "user")


def test_a_401_after_token_expiry_refreshes_once(rest_source: DataSource) -> None:
    with responses.RequestsMock() as rsps:
        token(rsps, "expired")
        token(rsps, "fresh")
        rsps.get(
            f"{USERS}/stu-1",
            status=401,
            match=[matchers.header_matcher({"Authorization": "Bearer expired"})],
        )
        rsps.get(
            f"{USERS}/stu-1",
            json={"user": user(1)},
            match=[matchers.header_matcher({"Authorization": "Bearer fresh"})],
        )
        found = client_for(rest_source).one(f"{ROSTERING}/users/stu-1", "user")
        assert len([c for c in rsps.calls if c.request.url == TOKEN_URL]) == 2
    assert found is not None


def test_a_second_401_is_reported_not_retried(rest_source: DataSource) -> None:
    with responses.RequestsMock() as rsps:
        token(rsps, "a")
        token(rsps, "b")
        rsps.get(f"{USERS}/stu-1", status=401)
        with pytest.raises(RestSourceError, match=r"Live SIS: .*even after a new one"):
            client_for(rest_source).one(f"{ROSTERING}/users/stu-1", "user")
        assert len(rsps.calls) == 4  # token, 401, token, 401: then it stops


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"status": 503}, "had an error \\(HTTP 503\\)"),
        ({"body": requests.ConnectTimeout()}, "did not answer in time"),
        ({"body": requests.ConnectionError()}, "cannot be reached"),
        ({"body": "<html>not json</html>"}, "not JSON"),
    ],
)
def test_sis_failures_are_reported_clearly(
    rest_source: DataSource, answer: dict[str, Any], message: str
) -> None:
    with responses.RequestsMock() as rsps:
        token(rsps)
        rsps.get(f"{USERS}/stu-1", **answer)
        with pytest.raises(RestSourceError, match=message):
            client_for(rest_source).one(f"{ROSTERING}/users/stu-1", "user")


def test_the_token_server_refusing_the_secret_is_reported(rest_source: DataSource) -> None:
    with responses.RequestsMock() as rsps:
        rsps.post(TOKEN_URL, status=401, json={"error": "invalid_client"})
        with pytest.raises(RestSourceError, match="refused the client id and secret"):
            client_for(rest_source).one(f"{ROSTERING}/users/stu-1", "user")


def fake_student(rsps: responses.RequestsMock) -> None:
    """stu-7 with demographics, two enrollments (over two pages), classes, a term, a school,
    a result with its line item."""
    rsps.get(f"{USERS}/stu-7", json={"user": user(7)})
    rsps.get(
        f"{BASE}{ROSTERING}/demographics/stu-7",
        json={"demographics": {"sourcedId": "stu-7", "birthDate": "2016-04-09", "sex": "female"}},
    )
    enrollment = {
        "status": "active",
        "role": "student",
        "user": {"sourcedId": "stu-7"},
        "school": {"sourcedId": "sch-1"},
        "beginDate": "2026-08-20",
    }
    for offset, class_id in ((0, "cls-1"), (1, "cls-2")):
        rsps.get(
            f"{BASE}{ROSTERING}/enrollments",
            json={
                "enrollments": [
                    {**enrollment, "sourcedId": f"enr-{class_id}", "class": {"sourcedId": class_id}}
                ]
            },
            headers={"X-Total-Count": "2"},
            match=[
                matchers.query_param_matcher(
                    {"limit": "100", "offset": str(offset), "filter": "user.sourcedId='stu-7'"}
                )
            ],
        )
    for class_id, title in (("cls-1", "Science 4"), ("cls-2", "Art 4")):
        rsps.get(
            f"{BASE}{ROSTERING}/classes/{class_id}",
            json={
                "class": {
                    "sourcedId": class_id,
                    "title": title,
                    "terms": [{"sourcedId": "term-1"}],
                    "school": {"sourcedId": "sch-1"},
                }
            },
        )
    rsps.get(
        f"{BASE}{ROSTERING}/academicSessions/term-1",
        json={"academicSession": {"sourcedId": "term-1", "title": "Fall 2026", "type": "term"}},
    )
    rsps.get(
        f"{BASE}{ROSTERING}/orgs/sch-1",
        json={"org": {"sourcedId": "sch-1", "name": "Lincoln Elementary", "type": "school"}},
    )
    rsps.get(
        f"{BASE}{GRADEBOOK}/results",
        json={
            "results": [
                {
                    "sourcedId": "res-1",
                    "score": 88,
                    "scoreStatus": "fully graded",
                    "scoreDate": "2026-10-01",
                    "lineItem": {"sourcedId": "li-1"},
                    "student": {"sourcedId": "stu-7"},
                }
            ]
        },
        headers={"X-Total-Count": "1"},
    )
    rsps.get(
        f"{BASE}{GRADEBOOK}/lineItems/li-1",
        json={
            "lineItem": {
                "sourcedId": "li-1",
                "title": "Volcano project",
                "class": {"sourcedId": "cls-1"},
            }
        },
    )


def test_search_then_fetch_a_student_whose_records_reach_the_package(
    district: District, rest_source: DataSource
) -> None:
    request = district.request_about(district.package.student(0))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        token(rsps)
        rsps.get(USERS, json={"users": [user(7), user(8)]}, headers={"X-Total-Count": "2"})
        rsps.get(
            f"{BASE}{ROSTERING}/demographics/stu-8",
            json={"demographics": {"sourcedId": "stu-8", "birthDate": "2015-01-01"}},
        )
        fake_student(rsps)
        with tenant_context(district.org):
            candidates = rest_student_search(
                organization=district.org,
                source=rest_source,
                given_name="Ana",
                family_name="Reyes",
                birth_date=date(2016, 4, 9),
            )
            assert [(c.sourced_id, c.schools, c.birth_date) for c in candidates] == [
                ("stu-7", ["Lincoln Elementary"], "2016-04-09")
            ]
            record_id = rest_student_fetch(
                organization=district.org,
                actor=district.admin,
                source=rest_source,
                sourced_id="stu-7",
            )
            link = student_link_confirm(
                organization=district.org,
                actor=district.admin,
                request=request,
                record_id=record_id,
            )
            (records,) = student_records_for_request(organization=district.org, request=request)
            fetched = AuditEvent.objects.get(action=Action.SIS_RECORDS_FETCHED.value)
    assert link.guardianship == StudentLink.Guardianship.NOT_FOUND  # the guardian is not fetched
    assert records["source"] == "Live SIS" and records["found"]
    assert records["demographics"]["birthDate"] == "2016-04-09"
    assert [(e["class"], e["terms"], e["school"]) for e in records["enrollments"]] == [
        ("Science 4", ["Fall 2026"], "Lincoln Elementary"),
        ("Art 4", ["Fall 2026"], "Lincoln Elementary"),
    ]
    assert records["results"] == [
        {
            "line_item": "Volcano project",
            "class": "Science 4",
            "score": "88",
            "score_status": "fully graded",
            "score_date": "2026-10-01",
            "comment": "",
        }
    ]
    assert fetched.changes["counts"]["enrollments.csv"] == 2


def test_a_failing_rest_source_is_reported_on_the_request_page(
    district: District, rest_source: DataSource
) -> None:
    staff = sign_in(Client(), member(district.org, Role.PRIVACY_STAFF))
    request = district.request_about(district.package.student(0))
    page = reverse(
        "accounts:request_sis", kwargs={"org_slug": district.org.slug, "request_id": request.pk}
    )
    student = district.package.student(0)
    with responses.RequestsMock() as rsps:
        token(rsps)
        rsps.get(USERS, status=502)
        response = staff.post(page, {"identifier": student.identifier})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Live SIS: the SIS had an error (HTTP 502)." in html
    assert student.birth_date in html  # the CSV source still answered
