"""Fulfilment: the package (contents, encryption, expiry, delivery through the portal), the
deletion (what goes, what is kept and why), the correction (no personal values in the audit),
over HTTP where staff or the requester do it."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import secrets
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Membership, Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from audit.services import record
from k12cloud.encryption.keys import KeyDestroyed, organization_keys_destroy
from k12cloud.tenancy import tenant_context, unscoped_all_tenants
from privacy_requests.fulfilment.models import ResponsePackage
from privacy_requests.fulfilment.services import package_download, package_prepare
from privacy_requests.models import PrivacyRequest, RequestMessage
from privacy_requests.rules.models import OrganizationRuleSelection
from privacy_requests.services import (
    request_close,
    request_message_add,
    request_transition,
    request_verify,
)
from privacy_requests.status import Status
from privacy_requests.tests.factories import received_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

LA = ZoneInfo("America/Los_Angeles")
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=LA)
EMAIL = "rosa.parent@example.org"
PORTAL_LINK = re.compile(r"http://testserver(/privacy/[^/\s]+/portal/[^/\s]+/\?lang=\w+)")


@pytest.fixture(autouse=True)
def pinned_time() -> Any:
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def org() -> Organization:
    organization = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD", subdivision="CA")
    with tenant_context(organization):
        OrganizationRuleSelection.objects.create(organization=organization, rule_id="ccpa")
    return organization


@pytest.fixture
def staff(org: Organization) -> User:
    return member(org, Role.PRIVACY_STAFF, full_name="Pat Staff")


@pytest.fixture
def officer(org: Organization) -> User:
    return member(org, Role.PRIVACY_OFFICER, full_name="Olive Officer")


@pytest.fixture
def client(staff: User) -> Client:
    return sign_in(Client(), staff)


def url(org: Organization, name: str, request: PrivacyRequest) -> str:
    return reverse(f"accounts:{name}", kwargs={"org_slug": org.slug, "request_id": request.pk})


def working(org: Organization, actor: User, **fields: Any) -> PrivacyRequest:
    """A received request, identity verified and in progress."""
    request = received_request(org, actor=actor, requester_email=EMAIL, **fields)
    with tenant_context(org):
        request = request_verify(request=request, actor=actor, method="records_match")
        return request_transition(request=request, to_status="in_progress", actor=actor)


def fetch(request: PrivacyRequest) -> PrivacyRequest:
    with tenant_context(request.organization_id):
        return PrivacyRequest.objects.get(pk=request.pk)


def audit_changes(action: Action) -> list[dict[str, Any]]:
    with unscoped_all_tenants(reason="test reads audit events"):
        return [e.changes for e in AuditEvent.objects.filter(action=action.value).order_by("pk")]


def unzip(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def streamed(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


# --- the package ----------------------------------------------------------------------------


def test_the_package_holds_what_the_portal_has_about_the_person_and_nothing_else(
    org: Organization, staff: User, client: Client
) -> None:
    # Rosa has a portal account here (a former viewer) with an audit event about it
    rosa = member(org, Role.VIEWER, email=EMAIL, full_name="Rosa Parent")
    with tenant_context(org):
        Membership.objects.filter(user=rosa).update(is_active=False)
        record(Action.MEMBER_DEACTIVATED, organization=org, target=rosa, changes={"role": "viewer"})
    earlier = received_request(org, requester_email=EMAIL, request_type="delete", details="Old")
    request = working(
        org, staff, subject_name="Sam Student", subject_birth_date="2015-04-02", details="All"
    )
    # someone else asked about the same child (same name and birth date): the child's part only
    received_request(
        org,
        requester_name="Other Guardian",
        requester_email="other@example.org",
        subject_name="sam  student",
        subject_birth_date="2015-04-02",
        details="Private to the other guardian",
    )
    # a child with the same name but another birth date is someone else: left out
    received_request(
        org,
        requester_email="third@example.org",
        subject_name="Sam Student",
        subject_birth_date="2016-01-01",
    )
    with tenant_context(org):
        request_message_add(request=request, actor=staff, direction="to_requester", body="Hi Rosa")
        request_message_add(request=request, actor=staff, direction="internal", body="Staff only")

    response = client.post(url(org, "fulfilment_package", request))
    assert response.status_code == 302
    with tenant_context(org):
        package = ResponsePackage.objects.get()
        content = package_download(organization=org, package=package, by_requester=False)
    files = unzip(content)
    assert sorted(files) == sorted(
        [
            "data.json",
            "account.csv",
            "memberships.csv",
            "requests.csv",
            "messages.csv",
            "audit_events.csv",
            "billing_contacts.csv",
            "summary.html",
            "index.json",
        ]
    )
    data = json.loads(files["data.json"])["sections"]
    assert [r["email"] for r in data["account"]["rows"]] == [EMAIL]
    assert [(r["role"], r["is_active"]) for r in data["memberships"]["rows"]] == [
        ("Viewer", "False")
    ]
    requests = csv_rows(files["requests.csv"])
    assert {r["reference"] for r in requests} == {
        earlier.reference,
        request.reference,
        *(r["reference"] for r in requests if r["requester_email"] == ""),
    }
    others = [r for r in requests if r["requester_email"] == ""]
    assert len(others) == 1  # the other guardian's request, without the other guardian
    assert others[0]["subject_name"] == "sam  student"
    assert others[0]["requester_name"] == others[0]["details"] == ""
    assert "Private to the other guardian" not in files["data.json"].decode()
    assert "third@example.org" not in files["data.json"].decode()
    assert [m["body"] for m in csv_rows(files["messages.csv"])] == ["Hi Rosa"]
    assert "Staff only" not in files["data.json"].decode()
    # actions, request types and statuses by their labels, never the bare code
    assert [e["action"] for e in csv_rows(files["audit_events.csv"])] == ["Member deactivated"]
    assert "Access (a copy of the data)" in {r["request_type"] for r in requests}
    assert not {r["request_type"] for r in requests} & {"access", "delete", "correct"}
    assert "Member deactivated" in files["data.json"].decode()
    assert data["billing_contacts"]["rows"] == []
    assert data["billing_contacts"]["note"].startswith("None held")
    summary = files["summary.html"].decode()
    assert '<html lang="en">' in summary and request.reference in summary
    # the contents list (file names, row counts) has no personal values
    assert {f["name"]: f["rows"] for f in package.contents}["requests.csv"] == 3
    assert EMAIL not in json.dumps(package.contents)


def test_the_package_is_sealed_with_the_organizations_key_and_lasts_30_days(
    org: Organization, staff: User
) -> None:
    request = working(org, staff)
    with tenant_context(org):
        package = package_prepare(organization=org, actor=staff, request=request)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT content FROM privacy_requests_responsepackage WHERE id = %s", [package.pk]
            )
            [stored] = cursor.fetchone()
    assert stored.startswith("k12e1:")
    assert package.expires_at == MONDAY.astimezone(UTC) + timedelta(days=30)
    assert package.created_by == staff and package.download_count == 0
    with tenant_context(org):
        content = package_download(organization=org, package=package, by_requester=False)
    assert len(content) == package.size
    assert base64.b64encode(content).decode() not in stored
    import hashlib

    assert hashlib.sha256(content).hexdigest() == package.sha256

    organization_keys_destroy(organization=org)  # crypto-shredding
    with tenant_context(org), pytest.raises(KeyDestroyed):
        package_download(organization=org, package=package, by_requester=False)


def test_a_spanish_request_gets_a_spanish_summary(org: Organization, staff: User) -> None:
    request = working(org, staff, language="es")
    with tenant_context(org):
        package = package_prepare(organization=org, actor=staff, request=request)
        files = unzip(package_download(organization=org, package=package, by_requester=False))
    summary = files["summary.html"].decode()
    assert '<html lang="es">' in summary
    assert "Su información" in summary


def test_preparing_is_refused_clearly_before_verification_and_for_other_types(
    org: Organization, staff: User, client: Client
) -> None:
    unverified = received_request(org, actor=staff, requester_email=EMAIL)
    response = client.post(url(org, "fulfilment_package", unverified))
    assert response.status_code == 400
    assert "Verify the requester" in response.content.decode()

    deletion = working(org, staff, request_type="delete")
    with tenant_context(org):
        from privacy_requests.fulfilment.services import RequestActionRefused

        with pytest.raises(RequestActionRefused, match="Only access and portability"):
            package_prepare(organization=org, actor=staff, request=deletion)
    with tenant_context(org):
        assert not ResponsePackage.objects.exists()


# --- fulfil and deliver ---------------------------------------------------------------------


def fulfil_with_package(
    org: Organization, staff: User, client: Client, django_capture_on_commit_callbacks: Any
) -> PrivacyRequest:
    request = working(org, staff)
    assert client.post(url(org, "fulfilment_package", request)).status_code == 302
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(org, "fulfilment_fulfil", request), {"fulfil-message": ""})
    assert response.status_code == 302
    assert response["Location"] == url(org, "request_detail", request)
    return request


def portal_client(message: Any) -> tuple[Client, Any]:
    found = PORTAL_LINK.search(message.body)
    assert found is not None, message.body
    requester = Client(REMOTE_ADDR=f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.7")
    opened = requester.post(found.group(1))
    assert opened.status_code == 302
    return requester, requester.get(opened["Location"])


def test_fulfil_needs_a_package_then_closes_and_emails_a_portal_link(
    org: Organization, staff: User, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    request = working(org, staff)
    refused = client.post(url(org, "fulfilment_fulfil", request), {"fulfil-message": ""})
    assert refused.status_code == 400
    assert "Prepare the package first" in refused.content.decode()
    assert fetch(request).status == Status.IN_PROGRESS

    request = fulfil_with_package(org, staff, client, django_capture_on_commit_callbacks)
    done = fetch(request)
    assert (done.status, done.outcome) == (Status.FULFILLED, "fulfilled")
    [message] = mail.outbox
    assert message.to == [EMAIL]
    assert message.subject == f"Your information is ready: privacy request {request.reference}"
    assert "Rosa" not in message.subject
    assert "Open this link and press the button" in message.body


def test_the_requester_downloads_the_package_from_the_portal(
    org: Organization, staff: User, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    request = fulfil_with_package(org, staff, client, django_capture_on_commit_callbacks)
    requester, page = portal_client(mail.outbox[0])
    assert page.status_code == 200
    assert "Download your data" in page.content.decode()

    download = requester.post(f"/privacy/{org.slug}/portal/download/?lang=en")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert download["Content-Disposition"] == (
        f'attachment; filename="privacy-request-{request.reference}.zip"'
    )
    files = unzip(streamed(download))
    assert "summary.html" in files
    assert audit_changes(Action.REQUEST_PACKAGE_DOWNLOADED)[-1]["by"] == "requester"
    with tenant_context(org):
        assert ResponsePackage.objects.get().download_count == 1

    # without a portal session: back to the form that sends a new link, nothing downloaded
    anonymous = Client().post(f"/privacy/{org.slug}/portal/download/")
    assert anonymous.status_code == 302
    assert "/status/" in anonymous["Location"]
    assert len(audit_changes(Action.REQUEST_PACKAGE_DOWNLOADED)) == 1


def test_billing_contacts_with_the_requesters_email_are_in_the_package(
    org: Organization, staff: User
) -> None:
    from django.apps import apps

    contact_model = apps.get_model("billing", "BillingContact")  # the hook's lookup
    with tenant_context(org):
        contact_model.objects.create(organization=org, name="Rosa Parent", email=EMAIL.upper())
        contact_model.objects.create(organization=org, name="Ann Accounts", email="ap@example.org")
    request = working(org, staff)
    with tenant_context(org):
        package = package_prepare(organization=org, actor=staff, request=request)
        files = unzip(package_download(organization=org, package=package, by_requester=False))
    assert [r["name"] for r in csv_rows(files["billing_contacts.csv"])] == ["Rosa Parent"]


def test_a_portal_session_for_a_request_without_a_package_downloads_nothing(
    org: Organization, staff: User, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    fulfil_with_package(org, staff, client, django_capture_on_commit_callbacks)
    other = received_request(org, requester_email=EMAIL, channel="web")  # same requester
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        Client(REMOTE_ADDR="10.9.8.6").post(
            f"/privacy/{org.slug}/status/", {"email": EMAIL, "reference": other.reference}
        )
    requester, page = portal_client(mail.outbox[0])
    assert "Download your data" not in page.content.decode()
    nothing = requester.post(f"/privacy/{org.slug}/portal/download/?lang=en")
    assert nothing.status_code == 404
    assert "There is nothing to download yet" in nothing.content.decode()
    assert audit_changes(Action.REQUEST_PACKAGE_DOWNLOADED) == []


def test_an_expired_package_is_refused_with_a_page_saying_how_to_ask_again(
    org: Organization,
    staff: User,
    client: Client,
    django_capture_on_commit_callbacks: Any,
    pinned_time: Any,
) -> None:
    request = fulfil_with_package(org, staff, client, django_capture_on_commit_callbacks)
    pinned_time.shift(timedelta(days=30))
    # the email's link has expired too (24 hours): the requester asks for a new one
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        Client(REMOTE_ADDR="10.9.8.7").post(
            f"/privacy/{org.slug}/status/", {"email": EMAIL, "reference": request.reference}
        )
    requester, page = portal_client(mail.outbox[0])
    assert "Download your data" in page.content.decode()
    expired = requester.post(f"/privacy/{org.slug}/portal/download/?lang=en")
    assert expired.status_code == 410
    text = expired.content.decode()
    assert "Your download link has expired" in text
    assert "To get a new copy" in text
    staff_client = sign_in(Client(), staff)  # a month later: a new staff session too
    staff_download = staff_client.post(url(org, "fulfilment_package_download", request))
    assert staff_download.status_code == 410
    assert "This package expired" in staff_download.content.decode()
    assert audit_changes(Action.REQUEST_PACKAGE_DOWNLOADED) == []


def test_staff_download_is_audited_and_another_tenant_gets_404(
    org: Organization, staff: User, client: Client
) -> None:
    request = working(org, staff)
    with tenant_context(org):
        package_prepare(organization=org, actor=staff, request=request)
    response = client.post(url(org, "fulfilment_package_download", request))
    assert response.status_code == 200
    assert zipfile.is_zipfile(io.BytesIO(streamed(response)))
    assert audit_changes(Action.REQUEST_PACKAGE_DOWNLOADED)[-1]["by"] == "staff"

    hudson = OrganizationFactory(slug="hudson-csd")
    outsider = sign_in(Client(), member(hudson, Role.ORG_ADMIN))
    assert outsider.post(url(org, "fulfilment_package_download", request)).status_code == 404
    assert outsider.get(url(org, "fulfilment", request)).status_code == 404


# --- deletion -------------------------------------------------------------------------------


def test_deletion_shows_what_is_kept_then_deidentifies_conservatively(
    org: Organization,
    staff: User,
    officer: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # a former member with no other organization: the account goes
    rosa = member(org, Role.VIEWER, email=EMAIL, full_name="Rosa Parent")
    with tenant_context(org):
        Membership.objects.filter(user=rosa).update(is_active=False)
    old = received_request(org, requester_email=EMAIL, details="Old details", channel="web")
    with tenant_context(org):
        old = request_close(request=old, actor=staff, outcome="denied", reason="Not ours.")
        request_message_add(request=old, actor=staff, direction="to_requester", body="Dear Rosa")
    still_open = received_request(org, requester_email=EMAIL, request_type="correct")
    request = working(org, staff, request_type="delete", details="Delete everything", language="es")
    officer_client = sign_in(Client(), officer)

    page = officer_client.get(url(org, "fulfilment", request))
    text = page.content.decode()
    assert page.status_code == 200
    for kept in ("This request", "Your other requests that are still open", "The audit log"):
        assert kept in text
    assert "kept for 7 years" in text and "no legal hold is recorded" in text

    # privacy staff may see the plan but not perform it
    staff_client = sign_in(Client(), staff)
    assert staff_client.post(url(org, "fulfilment_deletion", request)).status_code == 403
    unconfirmed = officer_client.post(url(org, "fulfilment_deletion", request), {})
    assert unconfirmed.status_code == 400
    assert "Confirm that you reviewed the list" in unconfirmed.content.decode()

    done = officer_client.post(url(org, "fulfilment_deletion", request), {"deletion-confirm": "on"})
    assert done.status_code == 302

    scrubbed, kept_open, this = fetch(old), fetch(still_open), fetch(request)
    with tenant_context(org):
        assert scrubbed.requester_name == "[removed]"
        assert (scrubbed.requester_email, scrubbed.details) == ("", "")
        assert scrubbed.requester_email_index is None
        assert [m.body for m in RequestMessage.objects.filter(request=old)] == ["[removed]"]
        assert kept_open.requester_email == EMAIL  # still being answered
        assert this.requester_email == EMAIL and this.details == ""
    rosa.refresh_from_db()
    assert not rosa.is_active and rosa.full_name == "" and EMAIL not in rosa.email
    assert not rosa.has_usable_password()
    [changes] = audit_changes(Action.REQUEST_DELETION_PERFORMED)
    assert changes["requests_deidentified"] == 1 and changes["accounts_deidentified"] == 1
    assert EMAIL not in json.dumps(changes)

    again = officer_client.post(
        url(org, "fulfilment_deletion", request), {"deletion-confirm": "on"}
    )
    assert again.status_code == 400
    assert "already performed" in again.content.decode()

    # fulfil: the closure message lists what was kept, in the request's language (Spanish)
    with django_capture_on_commit_callbacks(execute=True):
        officer_client.post(url(org, "fulfilment_fulfil", request), {"fulfil-message": ""})
    closed = fetch(request)
    with tenant_context(org):
        assert closed.status == Status.FULFILLED
        assert closed.closure_reason.startswith("Lo que conservamos, y por qué:")
        assert "7 años" in closed.closure_reason


def test_an_account_another_organization_needs_is_kept(
    org: Organization, staff: User, officer: User
) -> None:
    rosa = member(org, Role.VIEWER, email=EMAIL)
    with tenant_context(org):
        Membership.objects.filter(user=rosa).update(is_active=False)
    hudson = OrganizationFactory(slug="hudson-csd")
    with tenant_context(hudson):
        Membership.objects.create(organization=hudson, user=rosa, role=Role.VIEWER)
    request = working(org, staff, request_type="delete")
    response = sign_in(Client(), officer).get(url(org, "fulfilment", request))
    assert "another organization that uses the portal still needs it" in response.content.decode()
    sign_in(Client(), officer).post(
        url(org, "fulfilment_deletion", request), {"deletion-confirm": "on"}
    )
    rosa.refresh_from_db()
    assert rosa.is_active and rosa.email == EMAIL


# --- correction -----------------------------------------------------------------------------


def test_a_correction_keeps_values_encrypted_and_out_of_the_audit_log(
    org: Organization, staff: User, client: Client
) -> None:
    request = working(org, staff, request_type="correct")
    bad = client.post(
        url(org, "fulfilment_correction", request),
        {
            "correction-record": "SIS student record",
            "correction-field": "12 Elm Street",  # a value where a name belongs
            "correction-before": "12 Elm Street",
            "correction-after": "14 Oak Avenue",
        },
    )
    assert bad.status_code == 400
    assert 'id="id_correction-field_error"' in bad.content.decode()

    good = client.post(
        url(org, "fulfilment_correction", request),
        {
            "correction-record": "SIS student record",
            "correction-field": "home address",
            "correction-before": "12 Elm Street",
            "correction-after": "14 Oak Avenue",
        },
    )
    assert good.status_code == 302
    [changes] = audit_changes(Action.REQUEST_CORRECTION_RECORDED)
    assert changes["fields"] == ["home address"]
    assert changes["changed"] == {"home address": True}
    assert "Elm" not in json.dumps(changes) and "Oak" not in json.dumps(changes)
    with tenant_context(org):
        note = RequestMessage.objects.get(pk=changes["message_id"])
        assert note.direction == "internal"
        assert "before “12 Elm Street”, after “14 Oak Avenue”" in note.body
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT body FROM privacy_requests_requestmessage WHERE id = %s", [note.pk]
            )
            assert "Elm" not in cursor.fetchone()[0]
    # the request page's timeline shows it to staff (as the internal note)
    assert "14 Oak Avenue" in client.get(url(org, "request_detail", request)).content.decode()

    fulfilled = client.post(url(org, "fulfilment_fulfil", request), {"fulfil-message": "Done."})
    assert fulfilled.status_code == 302
    assert fetch(request).status == Status.FULFILLED


# --- the page -------------------------------------------------------------------------------


def _page_queries(client: Client, page: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page).status_code == 200
    if DUMP:
        print("\n".join(q["sql"][:150] for q in queries.captured_queries))
    return len(queries)


DUMP = False


def test_the_fulfilment_page_query_count_is_exact_and_constant(
    org: Organization, staff: User, client: Client
) -> None:
    request = working(org, staff)
    page = url(org, "fulfilment", request)
    none_yet = _page_queries(client, page)
    with tenant_context(org):
        package_prepare(organization=org, actor=staff, request=request)
    one = _page_queries(client, page)
    with tenant_context(org):
        for _ in range(3):
            package_prepare(organization=org, actor=staff, request=request)
    assert _page_queries(client, page) == one == none_yet == EXPECTED_PACKAGE_PAGE_QUERIES

    deletion = working(org, staff, request_type="delete")
    assert _page_queries(client, url(org, "fulfilment", deletion)) == EXPECTED_DELETION_QUERIES


def test_the_request_page_links_to_fulfilment_without_extra_queries(
    org: Organization, staff: User, client: Client
) -> None:
    request = working(org, staff)
    page = url(org, "request_detail", request)
    text = client.get(page).content.decode()
    assert url(org, "fulfilment", request) in text
    assert f'action="{url(org, "fulfilment_package", request)}"' in text  # "Prepare package"
    # the same count as the request page without the panel (test_request_views)
    from privacy_requests.tests.test_request_views import EXPECTED_DETAIL_QUERIES

    assert _page_queries(client, page) == EXPECTED_DETAIL_QUERIES

    viewer = sign_in(Client(), member(org, Role.VIEWER))
    assert url(org, "fulfilment", request) not in viewer.get(page).content.decode()


# The portal's base cost is 9 (see test_request_views); the page adds the request with its
# assignee, the packages with their authors, the evidence files with who added them, and the
# organization's data keys (read once).
EXPECTED_PACKAGE_PAGE_QUERIES = 9 + 4
# A deletion request, instead of the packages: its deletion record, the organization's index
# key (the requester email's blind index), the matching requests and the matching account.
EXPECTED_DELETION_QUERIES = 9 + 6
