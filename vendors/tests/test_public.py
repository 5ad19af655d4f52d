"""The off-portal vendor's link pages: single use, expiry, an emailed code, the attestation."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.actions import Action
from k12cloud.notifications.models import OutboundEmail
from k12cloud.tenancy import tenant_context
from vendors.models import TaskStatus, VendorFile, VendorTask
from vendors.tests.factories import Scene, district_request, events, scene

pytestmark = pytest.mark.django_db


def _link(s: Scene) -> str:
    with tenant_context(s.district):
        body = (
            OutboundEmail.objects.filter(template="vendors/email/task_link").latest("pk").body_text
        )
    match = re.search(r"https?://[^/]+(/vendor-tasks/\S+)", body)
    assert match is not None
    return match.group(1)


def test_the_vendor_opens_the_link_once_and_answers_with_a_certificate() -> None:
    s = scene()
    pr = district_request(s.district, request_type="delete")
    [task] = s.forward(pr, vendors=[s.off_portal], kind="deletion_certificate")
    link = _link(s)
    client = Client()
    assert client.get(link).status_code == 200  # a button: mail scanners do not use it up
    assert client.post(link).status_code == 302
    page = client.get(reverse("vendor_portal:task", kwargs={"org_slug": "lincoln-usd"}))
    text = page.content.decode()
    assert "Maya Lopez" in text and "S-100" in text
    assert "parent@example.org" not in text and pr.reference not in text
    # the same link a second time: spent
    assert Client().post(link)["Location"].endswith("/vendor-tasks/lincoln-usd/code/")
    task_url = reverse("vendor_portal:task", kwargs={"org_slug": "lincoln-usd"})
    missing = client.post(task_url, {"answer_kind": "deletion_attested"})
    assert missing.status_code == 400
    errors = missing.context["form"].errors
    assert {"responder_name", "responder_email"} <= set(errors)
    done = client.post(
        task_url,
        {
            "answer_kind": "deletion_attested",
            "responder_name": "Dana Ortiz",
            "responder_email": "dana@quizcraft.example",
            "attachments": [
                SimpleUploadedFile("certificate.pdf", b"%PDF-1.7 gone", "application/pdf")
            ],
        },
    )
    assert done.status_code == 200 and "Answer sent" in done.content.decode()
    with tenant_context(s.district):
        task = VendorTask.objects.get(pk=task.pk)
        certificate = VendorFile.objects.get(task=task)
    assert task.status == TaskStatus.ANSWERED
    assert (task.responder_name, task.responder_email) == ("Dana Ortiz", "dana@quizcraft.example")
    assert certificate.purpose == "certificate" and len(certificate.sha256) == 64
    assert len(events(s.district, Action.VENDOR_TASK_LINK_OPENED)) == 1
    [answered] = events(s.district, Action.VENDOR_TASK_ANSWERED)
    assert answered.changes["via"] == "link"
    # the session ended with the answer
    assert client.get(task_url).status_code == 302


def test_the_task_page_query_count_is_exact() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    s = scene()
    s.forward(district_request(s.district), vendors=[s.off_portal])
    client = Client()
    client.post(_link(s))
    task_url = reverse("vendor_portal:task", kwargs={"org_slug": "lincoln-usd"})
    with CaptureQueriesContext(connection) as captured:
        assert client.get(task_url).status_code == 200
    # the session, the district, the task with its vendor and the data keys (read once), and
    # the middleware's and the view's tenant contexts (savepoints and settings; the settings are
    # cleared at the end only because the test runs inside a transaction)
    assert len(captured) == EXPECTED_TASK_PAGE_QUERIES


EXPECTED_TASK_PAGE_QUERIES = 9


def test_an_expired_link_sends_the_vendor_to_ask_for_a_code() -> None:
    s = scene()
    s.forward(district_request(s.district), vendors=[s.off_portal])
    link = _link(s)
    with time_machine.travel(timezone.now() + timedelta(days=15)):
        response = Client().get(link)
    assert response.status_code == 302 and response["Location"].endswith("/code/")


def test_a_code_reopens_the_task_only_for_a_contact_address() -> None:
    s = scene()
    [task] = s.forward(district_request(s.district), vendors=[s.off_portal])
    code_url = reverse("vendor_portal:code", kwargs={"org_slug": "lincoln-usd"})
    client = Client()
    # a stranger's address: the same answer, and no email
    client.post(
        code_url,
        {"action": "send", "send-reference": task.reference, "send-email": "x@evil.example"},
    )
    with tenant_context(s.district):
        assert not OutboundEmail.objects.filter(template="vendors/email/task_code").exists()
    sent = client.post(
        code_url,
        {"action": "send", "send-reference": task.reference, "send-email": "DPO@quizcraft.example"},
    )
    assert "we emailed a code" in sent.content.decode()
    with tenant_context(s.district):
        body = OutboundEmail.objects.get(template="vendors/email/task_code").body_text
    code = re.search(r"\b(\d{6})\b", body).group(1)  # type: ignore[union-attr]
    wrong = client.post(
        code_url, {"action": "use", "use-reference": task.reference, "use-code": "000000"}
    )
    assert wrong.status_code == 400 and "code" in wrong.context["use_form"].errors
    with tenant_context(s.district):
        assert VendorTask.objects.get(pk=task.pk).code_attempts == 1  # the try is kept
    used = client.post(
        code_url, {"action": "use", "use-reference": task.reference, "use-code": code}
    )
    assert used.status_code == 302
    assert (
        client.get(reverse("vendor_portal:task", kwargs={"org_slug": "lincoln-usd"})).status_code
        == 200
    )
    again = Client().post(
        code_url, {"action": "use", "use-reference": task.reference, "use-code": code}
    )
    assert again.status_code == 400  # single use


def test_asking_for_codes_is_rate_limited_per_address_and_malformed_asks_do_not_count(
    settings: Any,
) -> None:
    settings.PRIVACY_INTAKE_RATE_LIMIT = 2
    s = scene()
    [task] = s.forward(district_request(s.district), vendors=[s.off_portal])
    code_url = reverse("vendor_portal:code", kwargs={"org_slug": "lincoln-usd"})
    client = Client(REMOTE_ADDR=f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.15")
    ask = {
        "action": "send",
        "send-reference": task.reference,
        "send-email": "dpo@quizcraft.example",
    }
    malformed = client.post(code_url, {**ask, "send-email": "not an address"})
    assert malformed.status_code == 400
    assert [client.post(code_url, ask).status_code for _ in range(2)] == [200, 200]
    refused = client.post(code_url, ask)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many codes were asked from this address" in refused.content.decode()


def test_no_records_needs_a_reason() -> None:
    s = scene()
    [task] = s.forward(district_request(s.district), vendors=[s.off_portal])
    client = Client()
    client.post(_link(s))
    task_url = reverse("vendor_portal:task", kwargs={"org_slug": "lincoln-usd"})
    data = {"answer_kind": "no_records", "responder_name": "Dana", "responder_email": "d@q.example"}
    refused = client.post(task_url, data)
    assert refused.status_code == 400 and "note" in refused.context["form"].errors
    assert client.post(task_url, {**data, "note": "Never enrolled in QuizCraft"}).status_code == 200
    with tenant_context(s.district):
        assert VendorTask.objects.get(pk=task.pk).answer_note == "Never enrolled in QuizCraft"
