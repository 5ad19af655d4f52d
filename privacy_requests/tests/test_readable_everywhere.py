"""Readable everywhere: request types, statuses, timeline events and rules by their labels in
the queue, its filters, the request page, the register and the package (EN and ES); the audit
Action filter without duplicates; the status menu with legal moves only; the date-of-birth
field as its hint says. Each of these read as codes, or disagreed, before (issue 16, item 5)."""

from __future__ import annotations

import csv
import io
import re
import secrets
import zipfile
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from audit.labels import action_choices, action_label
from k12cloud.tenancy import tenant_context
from privacy_requests.fulfilment.services import package_download, package_prepare
from privacy_requests.intake.forms import IntakeForm as PublicIntakeForm
from privacy_requests.labels import EVENT_LABELS, event_label
from privacy_requests.rules.models import OrganizationRuleSelection
from privacy_requests.services import (
    RequestActionRefused,
    request_acknowledge,
    request_transition,
    request_verify,
)
from privacy_requests.status import Status
from privacy_requests.tests.factories import received_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

LA = ZoneInfo("America/Los_Angeles")
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=LA)
CCPA = "California Consumer Privacy Act — 45 days, one 45-day extension"
CODES = ("ferpa_inspect", "awaiting_verification", "package_prepared", "k12cloud-policy")


@pytest.fixture(autouse=True)
def pinned_time() -> Any:
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def org() -> Organization:
    organization = OrganizationFactory.create(
        slug="lincoln-usd", name="Lincoln USD", subdivision="CA"
    )
    with tenant_context(organization):
        OrganizationRuleSelection.objects.bulk_create(
            OrganizationRuleSelection(organization=organization, rule_id=r)
            for r in ("ccpa", "ferpa")
        )
    return organization


@pytest.fixture
def officer(org: Organization) -> User:
    return member(org, Role.PRIVACY_OFFICER, full_name="Olive Officer")


def org_url(org: Organization, name: str, **kwargs: Any) -> str:
    return reverse(f"accounts:{name}", kwargs={"org_slug": org.slug, **kwargs})


def visible_text(html: str) -> str:
    """The page's text, without tags and attribute values (where codes legitimately are)."""
    return re.sub(r"<[^>]*>", " ", html)


def test_the_queue_and_its_filters_name_types_statuses_and_rules(
    org: Organization, officer: User
) -> None:
    received_request(org, request_type="ferpa_inspect", received_at=MONDAY)
    response = sign_in(Client(), officer).get(org_url(org, "request_queue"))
    html = response.content.decode()
    text = visible_text(html)
    assert "Inspect education records (FERPA)" in text
    assert "Received" in text
    for code in ("ferpa_inspect", "ccpa"):
        assert code not in text
    form = response.context["form"]
    assert ("ccpa", "California Consumer Privacy Act") in form.fields["rule"].choices
    assert ("ferpa_inspect", "Inspect education records (FERPA)") in [
        (value, str(label)) for value, label in form.fields["request_type"].choices
    ]


def test_the_request_page_names_type_rule_and_timeline_events(
    org: Organization, officer: User
) -> None:
    request = received_request(org, actor=officer, received_at=MONDAY)
    html = sign_in(Client(), officer).get(org_url(org, "request_detail", request_id=request.pk))
    text = visible_text(html.content.decode())
    assert "Access (a copy of the data)" in text
    assert CCPA in text
    assert "Request received" in text
    for code in CODES:
        assert code not in text


def test_every_timeline_event_the_code_writes_has_a_label() -> None:
    kinds = set()
    for path in ("privacy_requests", "vendors", "sources", "retention"):
        for file in __import__("pathlib").Path(path).rglob("*.py"):
            if "tests" in file.parts or "migrations" in file.parts:
                continue
            source = file.read_text()
            kinds |= set(re.findall(r"_event\(\s*\w+,\s*\"([a-z_]+)\"", source))
            kinds |= set(
                re.findall(r"RequestEvent\.objects\.create\([^)]*kind=\"([a-z_]+)\"", source, re.S)
            )
    assert "package_prepared" in kinds
    assert kinds - set(EVENT_LABELS) == set()
    assert event_label("package_prepared") == "Package prepared"
    assert event_label("some_new_kind") == "Some new kind"  # never the bare code


def test_the_register_gives_labels_and_the_rule_by_name(org: Organization, officer: User) -> None:
    received_request(org, actor=officer, received_at=MONDAY)
    response = sign_in(Client(), officer).post(org_url(org, "request_export"), {})
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    [row] = list(csv.DictReader(io.StringIO(body)))
    assert row["request_type"] == "Access (a copy of the data)"
    assert row["status"] == "Received"
    assert row["channel"] == "Phone"
    assert row["binding_rule"] == CCPA
    assert row["relationship"] == "Parent or guardian"


def test_the_register_is_in_the_language_of_the_page(org: Organization, officer: User) -> None:
    received_request(org, actor=officer, received_at=MONDAY)
    client = sign_in(Client(), officer)
    response = client.post(org_url(org, "request_export"), {}, HTTP_ACCEPT_LANGUAGE="es")
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    [row] = list(csv.DictReader(io.StringIO(body)))
    assert row["status"] == "Recibida"
    assert row["binding_rule"].startswith("Ley de Privacidad del Consumidor de California")


def spanish_package(org: Organization, officer: User) -> dict[str, bytes]:
    request = received_request(org, actor=officer, received_at=MONDAY, language="es")
    with tenant_context(org):
        request = request_verify(request=request, actor=officer, method="records_match")
        request = request_transition(request=request, to_status="in_progress", actor=officer)
        package = package_prepare(organization=org, actor=officer, request=request)
        content = package_download(organization=org, package=package, by_requester=False)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_spanish_package_summary_has_spanish_columns_and_labels(
    org: Organization, officer: User
) -> None:
    files = spanish_package(org, officer)
    summary = files["summary.html"].decode()
    headers = re.findall(r'<th scope="col">([^<]*)</th>', summary)
    assert "Tipo de solicitud" in headers and "Estado" in headers
    for code in ("request_type", "status", "received_at", "requester_name"):
        assert code not in headers
    assert "Acceso (una copia de los datos)" in summary
    assert "access" not in visible_text(summary).split()
    rows = list(csv.DictReader(io.StringIO(files["requests.csv"].decode("utf-8-sig"))))
    assert {r["request_type"] for r in rows} == {"Acceso (una copia de los datos)"}


def test_the_audit_action_filter_has_no_duplicate_labels() -> None:
    for language in ("en", "es"):
        with translation.override(language):
            labels = [label for _area, choices in action_choices() for _v, label in choices]
            assert len(labels) == len(set(labels)), [x for x in labels if labels.count(x) > 1]
    assert action_label("billing.organization_terminated") == "Organization terminated (Billing)"
    assert action_label("retention.organization_terminated") == (
        "Organization terminated (Retention)"
    )


def test_the_status_menu_offers_only_legal_moves(org: Organization, officer: User) -> None:
    client = sign_in(Client(), officer)
    request = received_request(org, actor=officer, received_at=MONDAY)

    def offered() -> list[str]:
        page = client.get(org_url(org, "request_detail", request_id=request.pk))
        form = page.context["transition_form"]
        return [value for value, _label in form.fields["to_status"].choices]

    assert offered() == ["awaiting_verification", "closed_unverified", "withdrawn"]
    with tenant_context(org):
        request = request_verify(request=request, actor=officer, method="records_match")
    # verified: nothing "unverified" any more; work may start
    assert offered() == ["in_progress", "withdrawn"]
    with tenant_context(org):
        request = request_acknowledge(request=request, actor=officer)
    assert request.status == Status.ACKNOWLEDGED  # the table allows "closed unverified" here
    assert offered() == ["in_progress", "withdrawn"]
    with tenant_context(org):
        request = request_transition(request=request, to_status="in_progress", actor=officer)
    # in progress under CCPA: no pausing, so no "on hold"
    assert offered() == ["withdrawn"]


def test_an_acknowledged_verified_request_cannot_close_as_unverified(
    org: Organization, officer: User
) -> None:
    request = received_request(org, actor=officer, received_at=MONDAY)
    with tenant_context(org):
        request = request_verify(request=request, actor=officer, method="records_match")
        request = request_acknowledge(request=request, actor=officer)
        assert request.status == Status.ACKNOWLEDGED
        with pytest.raises(RequestActionRefused) as refused:
            request_transition(request=request, to_status="closed_unverified", actor=officer)
    assert refused.value.code == "already_verified"


def test_the_date_of_birth_field_and_its_hint_agree() -> None:
    form = PublicIntakeForm(request_types=("access",))
    field = form.fields["subject_birth_date"]
    html = str(form["subject_birth_date"])
    # a browser date picker shows its own order (mm/dd/yyyy): the field is typed as the hint says
    assert 'type="date"' not in html and 'type="text"' in html
    assert "year-month-day" in str(field.help_text)
    example = re.search(r"\d{4}-\d{2}-\d{2}", str(field.help_text))
    assert example is not None
    assert field.clean(example.group()) == date(2012, 9, 30)


def test_the_public_form_renders_the_date_of_birth_as_text(db: None) -> None:
    org = OrganizationFactory(slug="maple-sd", name="Maple SD", subdivision="OR")
    client = Client(REMOTE_ADDR=f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.9")
    page = client.get(f"/privacy/{org.slug}/").content.decode()
    [tag] = re.findall(r'<input[^>]*name="subject_birth_date"[^>]*>', page)
    assert 'type="text"' in tag
    assert "For example 2012-09-30 (year-month-day)." in page


def test_the_rule_settings_name_each_rule_and_keep_the_platform_policy_to_the_platform(
    org: Organization, officer: User
) -> None:
    response = sign_in(Client(), officer).get(org_url(org, "deadline_rules"))
    choices = dict(response.context["rules_form"].fields["rule_ids"].choices)
    assert choices["ccpa"] == CCPA
    assert choices["k12cloud-service-level"] == (
        "k-12.cloud service level — 45 days, one 45-day extension"
    )
    assert choices["gdpr"] == (
        "General Data Protection Regulation (EU/UK) — 1 month, one 2-month extension"
    )
    assert "k12cloud-policy" not in choices  # k-12.cloud's own policy: the platform's only
    text = visible_text(response.content.decode())
    assert CCPA in text and "ccpa:" not in text
    platform = OrganizationFactory.create(kind="platform", slug="k12cloud-platform")
    admin = member(platform, Role.PRIVACY_OFFICER)
    platform_page = sign_in(Client(), admin).get(org_url(platform, "deadline_rules"))
    platform_choices = dict(platform_page.context["rules_form"].fields["rule_ids"].choices)
    assert (
        platform_choices["k12cloud-policy"] == "k-12.cloud privacy policy — 45 days, no extension"
    )
