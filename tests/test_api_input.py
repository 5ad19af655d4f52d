"""What every API endpoint shares (k12cloud.api_common): bounded JSON bodies, the JSON 404 of
unmatched /api/ URLs, and an OpenAPI schema that says what the API does (issue #14, items 4
and 7). The schemathesis run over the whole schema is tests/test_api_fuzz.py."""

from __future__ import annotations

import importlib
import json
import re
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from accounts.api_keys import api_key_create
from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from billing.tests.factories import WEBHOOK_URL, sign
from k12cloud.api_common import (
    JSON_MAX_BYTES,
    JSON_MAX_DEPTH,
    JsonInputError,
    json_loads_bounded,
    json_nesting_depth,
)
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from privacy_requests.rules.models import JurisdictionRule
from privacy_requests.services import request_receive
from tests.conftest import Tenant, signed_in

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000  # a RecursionError in json.loads before the fix


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


@pytest.fixture
def key_client(org: Organization) -> Client:
    token = api_key_create(
        organization=org, user=member(org), name="SIS", role=Role.ORG_ADMIN, expires_at=None
    ).token
    return Client(headers={"Authorization": f"Bearer {token}"})


def api_schema(client: Client) -> dict[str, Any]:
    response = client.get(reverse("api_schema"), {"format": "json"})
    assert response.status_code == 200
    return dict(response.json())


@pytest.fixture
def privacy_request(org: Organization) -> PrivacyRequest:
    if not JurisdictionRule.objects.exists():  # flushed by a transactional test
        importlib.import_module("privacy_requests.migrations.0003_load_reference_rules").load(
            apps, None
        )
    with tenant_context(org):
        return request_receive(
            organization=org,
            request_type="access",
            channel=PrivacyRequest.Channel.WEB,
            relationship=PrivacyRequest.Relationship.PARENT,
            requester_name="Rosa Requester",
        )


def post_urls(schema: dict[str, Any], org: Organization, request_id: int) -> list[tuple[str, str]]:
    """Every POST operation of the API with the kind of body it takes ("json", "multipart" for
    an upload, "" for none), for the organization and one of its requests (actions look the
    request up first: another tenant's id is a 404)."""

    def body(operation: dict[str, Any]) -> str:
        media = operation.get("requestBody", {}).get("content", {})
        if not media:
            return ""
        return "json" if "application/json" in media else "multipart"

    # paths naming other objects (a SIS source, an import) answer 404 for a made-up id before
    # reading the body; the parser they share is the one tested here
    known = {"org_slug", "request_id"}
    return [
        (path.format(org_slug=org.slug, request_id=request_id), body(methods["post"]))
        for path, methods in schema["paths"].items()
        if "post" in methods and set(re.findall(r"{(\w+)}", path)) <= known
    ]


# --- bounded JSON bodies (item 4) -------------------------------------------------------------


def test_json_nesting_depth_ignores_brackets_inside_strings() -> None:
    assert json_nesting_depth('{"a": [1, {"b": "[[[{{{"}]}') == 3
    assert json_nesting_depth('"\\"[[["') == 0
    assert json_nesting_depth("1") == 0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (DEEP, f"deeper than {JSON_MAX_DEPTH}"),
        ("[" * (JSON_MAX_DEPTH + 1) + "]" * (JSON_MAX_DEPTH + 1), f"deeper than {JSON_MAX_DEPTH}"),
        ('"' + "x" * JSON_MAX_BYTES + '"', f"larger than {JSON_MAX_BYTES} bytes"),
        ("{'a': 1}", "not valid JSON"),
        (b"\xff\xfe", "not valid UTF-8"),
    ],
    ids=["100000-deep", "one-too-deep", "too-large", "malformed", "not-utf8"],
)
def test_json_loads_bounded_names_the_problem(text: str | bytes, problem: str) -> None:
    with pytest.raises(JsonInputError, match=problem):
        json_loads_bounded(text)


def test_json_loads_bounded_parses_json_at_the_depth_limit() -> None:
    text = "[" * JSON_MAX_DEPTH + "]" * JSON_MAX_DEPTH
    assert json_loads_bounded(text) == json.loads(text)


def test_a_100000_deep_body_is_a_400_naming_the_nesting_on_every_post_endpoint(
    org: Organization, key_client: Client, privacy_request: PrivacyRequest
) -> None:
    urls = post_urls(api_schema(key_client), org, privacy_request.pk)
    assert sum(kind == "json" for _url, kind in urls) >= 10  # intake, search, actions
    for url, kind in urls:
        response = key_client.post(url, DEEP, content_type="application/json")
        if not kind:  # never parsed (deletion/perform, package): no 500 either
            assert response.status_code < 500, url
            continue
        if kind == "multipart":  # an upload takes no JSON at all
            assert response.status_code == 415, url
            continue
        assert response.status_code == 400, url
        assert response.json() == {
            "detail": f"The JSON body nests arrays or objects deeper than {JSON_MAX_DEPTH}."
        }, url


def test_a_body_over_the_size_limit_is_a_400_naming_the_limit(
    org: Organization, key_client: Client
) -> None:
    body = json.dumps({"requester_name": "x" * JSON_MAX_BYTES})
    url = reverse("accounts_api:request_intake", kwargs={"org_slug": org.slug})
    response = key_client.post(url, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": f"The JSON body is larger than {JSON_MAX_BYTES} bytes."}


def test_api_bodies_are_json_only(org: Organization, key_client: Client) -> None:
    url = reverse("accounts_api:request_search", kwargs={"org_slug": org.slug})
    response = key_client.post(url, {"status": "all"})  # multipart form data
    assert response.status_code == 415
    assert key_client.post(url, "{}", content_type="application/json").status_code == 200


def test_a_signed_stripe_webhook_nested_100000_deep_is_a_400(client: Client) -> None:
    response = client.post(
        WEBHOOK_URL, DEEP, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(DEEP)
    )
    assert response.status_code == 400
    assert (
        f"The JSON body nests arrays or objects deeper than {JSON_MAX_DEPTH}."
        in response.content.decode()
    )


# --- the schema says what the API does (item 7) -----------------------------------------------


def test_the_schema_endpoint_accepts_an_api_key(key_client: Client) -> None:
    schema = api_schema(key_client)
    assert "apiKey" in schema["components"]["securitySchemes"]


def test_the_organizations_list_does_not_advertise_api_keys_and_refuses_them_clearly(
    key_client: Client,
) -> None:
    schema = api_schema(key_client)
    operation = schema["paths"]["/api/v1/orgs/"]["get"]
    assert operation["security"] == [{"cookieAuth": []}]
    assert "403" in operation["responses"]
    response = key_client.get(reverse("accounts_api:my_organizations"))
    assert response.status_code == 403
    assert "API key acts only on its own organization" in response.json()["detail"]


def test_the_organizations_list_still_answers_a_signed_in_member(tenant_a: Tenant) -> None:
    response = signed_in(tenant_a.admin).get(reverse("accounts_api:my_organizations"))
    assert response.status_code == 200
    assert [row["organization"]["slug"] for row in response.json()] == ["lincoln-usd"]


def test_the_request_list_is_documented_as_the_page_object_it_returns(
    key_client: Client,
) -> None:
    schema = api_schema(key_client)
    ok = schema["paths"]["/api/v1/orgs/{org_slug}/requests/"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RequestPage"
    }


def test_undocumented_answers_are_documented(key_client: Client) -> None:
    paths = api_schema(key_client)["paths"]
    intake = paths["/api/v1/orgs/{org_slug}/requests/intake/"]["post"]
    assert "429" in intake["responses"]
    members = paths["/api/v1/orgs/{org_slug}/members/"]["get"]  # 404: a bad cursor
    assert {"401", "403", "404"} <= set(members["responses"])
    for methods in paths.values():
        for operation in methods.values():
            assert {"401", "403", "404"} <= set(operation["responses"]), operation["operationId"]


def test_a_bad_cursor_is_the_documented_404(org: Organization, key_client: Client) -> None:
    url = reverse("accounts_api:membership_list", kwargs={"org_slug": org.slug})
    response = key_client.get(url, {"cursor": "not-a-cursor"})
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid cursor"}


@pytest.mark.parametrize("method", ["", "email", "nonsense"])
def test_intake_accepts_exactly_the_documented_verification_methods(
    org: Organization, key_client: Client, method: str
) -> None:
    schema = api_schema(key_client)
    documented = schema["components"]["schemas"]["StaffVerificationMethodEnum"]["enum"]
    assert method not in documented
    url = reverse("accounts_api:request_intake", kwargs={"org_slug": org.slug})
    body = {
        "request_type": "access",
        "relationship": "parent",
        "requester_name": "Rosa Requester",
        "verification_method": method,
        "verification_evidence": "Checked a photo ID.",
    }
    response = key_client.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()) == ["verification_method"]


def test_no_input_enum_documents_the_empty_string(key_client: Client) -> None:
    """Empty strings are not silent members of an input's choices: nothing a request body or
    a query parameter refers to (transitively) is BlankEnum."""
    schema = api_schema(key_client)
    components = schema["components"]["schemas"]

    def referenced(node: Any) -> set[str]:
        found: set[str] = set()
        todo = re.findall(r"#/components/schemas/(\w+)", json.dumps(node))
        while todo:
            name = todo.pop()
            if name not in found:
                found.add(name)
                todo += re.findall(r"#/components/schemas/(\w+)", json.dumps(components[name]))
        return found

    inputs: set[str] = set()
    for methods in schema["paths"].values():
        for operation in methods.values():
            inputs |= referenced([operation.get("requestBody"), operation.get("parameters")])
    assert "RequestIntake" in inputs
    assert "BlankEnum" not in inputs


@pytest.mark.parametrize("path", ["/api/nope/", "/api/v1/orgs/lincoln-usd/nope/", "/api/v2/"])
def test_unmatched_api_urls_answer_json_404(key_client: Client, path: str) -> None:
    response = key_client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "No API endpoint has this URL."}


def test_unmatched_portal_urls_keep_the_html_404() -> None:
    response = Client().get("/nope/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
