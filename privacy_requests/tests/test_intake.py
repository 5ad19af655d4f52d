"""The public intake: /privacy/<org-slug>/ (form, proof of work, rate limit, GPC, confirm link)."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.utils import timezone

from accounts.models import Organization
from accounts.tests.factories import OrganizationFactory
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context
from privacy_requests.intake import pow
from privacy_requests.models import PrivacyRequest, RequesterToken
from privacy_requests.status import Status

pytestmark = pytest.mark.usefixtures("reference_rules")

LINK = re.compile(r"http://testserver(/privacy/[^/\s]+/confirm/[^/\s]+/\?lang=\w+)")


@pytest.fixture
def org(db: None) -> Organization:
    # a district outside California: FERPA and the k12cloud policy, no CCPA
    return OrganizationFactory(slug="maple-sd", name="Maple SD", subdivision="OR")


@pytest.fixture
def california(db: None) -> Organization:
    return OrganizationFactory(slug="sierra-usd", name="Sierra USD", subdivision="CA")


@pytest.fixture
def client() -> Client:
    # a fresh address per test: the rate limit's counters live in Redis, beyond the test's
    # database transaction
    return Client(REMOTE_ADDR=f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.7")


def solved() -> str:
    return pow.solve(pow.challenge_create())


def valid_data(**overrides: str) -> dict[str, str]:
    data = {
        "request_type": "access",
        "relationship": "parent",
        "requester_name": "Rosa Delgado",
        "requester_email": "rosa@example.org",
        "requester_phone": "",
        "subject_name": "Mateo Delgado",
        "subject_school": "Maple Elementary",
        "subject_birth_date": "2015-04-02",
        "details": "Reading assessments from last year",
        "altcha": solved(),
    }
    data.update(overrides)
    return data


def requests_of(organization: Organization) -> list[PrivacyRequest]:
    with tenant_context(organization):
        return list(PrivacyRequest.objects.order_by("pk"))


@pytest.fixture
def submit(client: Client, django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    def post(organization: Organization, lang: str = "en", headers: Any = None, **data: str):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"/privacy/{organization.slug}/?lang={lang}",
                valid_data(**data),
                headers=headers or {},
            )

    return post


# --- the form -------------------------------------------------------------------------------


def test_the_form_in_english(client: Client, org: Organization) -> None:
    response = client.get(f"/privacy/{org.slug}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="en">' in page
    assert "Privacy request to Maple SD" in page
    assert "Inspect education records" in page  # FERPA applies to a US district
    assert "Limit sensitive information" not in page  # CCPA does not (Oregon)
    assert "To send this form, turn on JavaScript." in page  # said in text, without JS
    assert 'src="/static/js/privacy-intake.js"' in page
    assert "<script>" not in page  # no inline script under the CSP
    assert re.search(r'data-altcha-challenge="[0-9a-f]{64}"', page)


@pytest.mark.parametrize("how", ["query", "accept-language"])
def test_the_form_in_spanish(client: Client, org: Organization, how: str) -> None:
    if how == "query":
        response = client.get(f"/privacy/{org.slug}/?lang=es")
        assert response.cookies["django_language"].value == "es"
    else:
        response = client.get(f"/privacy/{org.slug}/", headers={"accept-language": "es"})
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="es">' in page
    assert "Solicitud de privacidad a Maple SD" in page
    assert "Su correo electrónico" in page
    assert "Privacy request to" not in page


def test_unknown_and_terminated_organizations_are_404(client: Client, org: Organization) -> None:
    assert client.get("/privacy/no-such-district/").status_code == 404
    Organization.objects.filter(pk=org.pk).update(
        status=Organization.Status.TERMINATED, terminated_at=timezone.now()
    )
    assert client.get(f"/privacy/{org.slug}/").status_code == 404
    assert client.post(f"/privacy/{org.slug}/", valid_data()).status_code == 404


# --- a valid submission ---------------------------------------------------------------------


def test_a_valid_submission_records_one_request_and_sends_one_email(
    client: Client, org: Organization, submit: Callable[..., Any]
) -> None:
    response = submit(org)

    assert response.status_code == 302
    assert response["Location"] == f"/privacy/{org.slug}/submitted/?lang=en"
    [request] = requests_of(org)
    with tenant_context(org):
        assert request.channel == PrivacyRequest.Channel.WEB
        assert request.request_type == "access"
        assert request.status == Status.RECEIVED
        assert request.language == "en"
        assert request.requester_email == "rosa@example.org"
        assert request.subject_birth_date == "2015-04-02"
        assert request.gpc_signal is False
        assert request.respond_by is not None and request.acknowledge_by is not None
        assert request.deadlines["binding_rule"]
        [token] = RequesterToken.objects.all()
        assert token.purpose == RequesterToken.Purpose.CONFIRM_EMAIL
        assert token.expires_at - timezone.now() > timedelta(days=6, hours=23)
        assert AuditEvent.objects.filter(action=Action.REQUEST_RECEIVED).count() == 1

    [email] = mail.outbox
    assert isinstance(email, EmailMultiAlternatives)
    assert email.to == ["rosa@example.org"]
    assert request.reference in email.subject and "Maple SD" in email.subject
    assert "Rosa" not in email.subject and "rosa@" not in email.subject
    link = LINK.search(email.body)
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html" and link is not None and link.group(1) in str(html)
    assert token.token_hash == RequesterToken.hash_token(link.group(1).split("/")[4])

    submitted = client.get(response["Location"])
    assert request.reference in submitted.content.decode()


def test_a_spanish_submission_is_answered_in_spanish(
    org: Organization, submit: Callable[..., Any]
) -> None:
    submit(org, lang="es")
    [request] = requests_of(org)
    assert request.language == "es"
    [email] = mail.outbox
    assert email.subject.startswith("Confirme su solicitud de privacidad")
    assert "Abra este enlace" in email.body
    assert LINK.search(email.body).group(1).endswith("?lang=es")  # type: ignore[union-attr]


def test_bad_input_gives_field_errors_and_keeps_what_was_typed(
    client: Client, org: Organization
) -> None:
    response = client.post(
        f"/privacy/{org.slug}/",
        valid_data(requester_email="not-an-address", subject_name="", subject_birth_date=""),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter an email address like name@example.com." in page
    assert "Enter the name of the person the information is about." in page
    assert "Enter their date of birth" in page
    # errors are tied to their fields, and what was typed is still there
    assert re.search(r'id="id_requester_email"[^>]*aria-invalid="true"', page) or re.search(
        r'aria-invalid="true"[^>]*id="id_requester_email"', page
    )
    assert 'aria-describedby="id_requester_email_helptext id_requester_email_error"' in page
    assert 'value="Rosa Delgado"' in page
    assert 'value="not-an-address"' in page
    assert "Reading assessments from last year" in page
    assert re.search(r'value="parent"[^>]*checked|checked[^>]*value="parent"', page)
    assert requests_of(org) == []
    assert mail.outbox == []


def test_a_requester_asking_for_themselves_needs_no_student(
    org: Organization, submit: Callable[..., Any]
) -> None:
    submit(org, relationship="self", subject_name="", subject_birth_date="", subject_school="")
    [request] = requests_of(org)
    with tenant_context(org):
        assert request.relationship == "self" and request.subject_name == ""


def test_a_future_birth_date_and_an_unoffered_type_are_refused(
    client: Client, org: Organization
) -> None:
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    response = client.post(
        f"/privacy/{org.slug}/",
        valid_data(subject_birth_date=future, request_type="limit_sensitive"),  # no CCPA here
    )
    assert response.status_code == 400
    assert "The date of birth must be in the past." in response.content.decode()
    assert "Select a valid choice." in response.content.decode()
    assert requests_of(org) == []


# --- proof of work --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("altcha", "message"),
    [
        ("", "could not finish the security check"),
        ("bm90IGpzb24=", "could not finish the security check"),  # base64, not JSON
        ("wrong-number", "could not finish the security check"),
        ("bad-signature", "could not finish the security check"),
        ("expired", "The security check expired"),
    ],
)
def test_a_missing_or_wrong_proof_of_work_is_refused(
    client: Client, org: Organization, altcha: str, message: str
) -> None:
    challenge = pow.challenge_create()
    number = next(
        n
        for n in range(challenge.max_number + 1)
        if hashlib.sha256(f"{challenge.salt}{n}".encode()).hexdigest() == challenge.challenge
    )
    if altcha == "wrong-number":
        altcha = pow.payload_for(challenge, number + 1)
    elif altcha == "bad-signature":
        forged = pow.Challenge(
            challenge.algorithm, challenge.challenge, challenge.max_number, challenge.salt, "0" * 64
        )
        altcha = pow.payload_for(forged, number)
    elif altcha == "expired":
        altcha = pow.solve(pow.challenge_create(now=time.time() - 31 * 60))
    response = client.post(f"/privacy/{org.slug}/", valid_data(altcha=altcha))
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert 'value="Rosa Delgado"' in page  # nothing typed is lost
    assert requests_of(org) == []


def test_a_proof_of_work_works_once(client: Client, org: Organization) -> None:
    altcha = solved()
    assert client.post(f"/privacy/{org.slug}/", valid_data(altcha=altcha)).status_code == 302
    replay = client.post(f"/privacy/{org.slug}/", valid_data(altcha=altcha))
    assert replay.status_code == 400
    assert "This form was already sent once." in replay.content.decode()
    assert len(requests_of(org)) == 1


def test_the_difficulty_is_a_setting(settings: Any) -> None:
    settings.PRIVACY_INTAKE_POW_MAX_NUMBER = 7
    assert pow.challenge_create().max_number == 7
    assert pow.challenge_create(max_number=300_000).max_number == 300_000


# --- rate limit -----------------------------------------------------------------------------


def test_too_many_submissions_from_one_address_get_429(
    client: Client, org: Organization, settings: Any
) -> None:
    settings.PRIVACY_INTAKE_RATE_LIMIT = 2
    for _ in range(2):
        assert client.post(f"/privacy/{org.slug}/", valid_data()).status_code == 302
    refused = client.post(f"/privacy/{org.slug}/?lang=es", valid_data())
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= settings.PRIVACY_INTAKE_RATE_WINDOW_SECONDS
    assert "Demasiadas solicitudes" in refused.content.decode()
    assert len(requests_of(org)) == 2
    # another address is not affected
    other = Client(REMOTE_ADDR=f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.8")
    assert other.post(f"/privacy/{org.slug}/", valid_data()).status_code == 302


def test_a_submission_refused_for_its_content_does_not_use_up_the_window(
    client: Client, org: Organization, settings: Any
) -> None:
    settings.PRIVACY_INTAKE_RATE_LIMIT = 1
    assert client.post(f"/privacy/{org.slug}/", valid_data(altcha="")).status_code == 400
    assert client.post(f"/privacy/{org.slug}/", valid_data(requester_email="x")).status_code == 400
    assert client.post(f"/privacy/{org.slug}/", valid_data()).status_code == 302
    assert client.post(f"/privacy/{org.slug}/", valid_data()).status_code == 429


# --- Global Privacy Control -----------------------------------------------------------------


def test_gpc_where_ccpa_applies_preselects_and_records_an_opt_out(
    client: Client, california: Organization, submit: Callable[..., Any]
) -> None:
    form = client.get(f"/privacy/{california.slug}/", headers={"sec-gpc": "1"})
    page = form.content.decode()
    assert "Global Privacy Control" in page
    assert re.search(r'value="opt_out"[^>]*checked|checked[^>]*value="opt_out"', page)

    submit(california, headers={"sec-gpc": "1"})  # asks for a copy, not an opt-out

    access, opt_out = requests_of(california)
    with tenant_context(california):
        assert (access.request_type, opt_out.request_type) == ("access", "opt_out")
        assert access.gpc_signal and opt_out.gpc_signal
        assert opt_out.details == ""
        assert opt_out.respond_by is not None  # CCPA: 15 business days
    [email] = mail.outbox  # one confirmation, naming both references
    assert access.reference in email.body and opt_out.reference in email.body


def test_gpc_with_an_opt_out_request_records_one_request(
    california: Organization, submit: Callable[..., Any]
) -> None:
    submit(california, request_type="opt_out", headers={"sec-gpc": "1"})
    [request] = requests_of(california)
    assert request.request_type == "opt_out" and request.gpc_signal


def test_gpc_without_ccpa_is_recorded_only(
    client: Client, org: Organization, submit: Callable[..., Any]
) -> None:
    assert (
        "Global Privacy Control"
        not in client.get(f"/privacy/{org.slug}/", headers={"sec-gpc": "1"}).content.decode()
    )
    submit(org, headers={"sec-gpc": "1"})
    [request] = requests_of(org)
    assert request.request_type == "access" and request.gpc_signal


# --- the confirmation link ------------------------------------------------------------------


def confirm_path(submit: Callable[..., Any], organization: Organization, lang: str = "en") -> str:
    submit(organization, lang=lang)
    match = LINK.search(mail.outbox[-1].body)
    assert match is not None
    return match.group(1)


def test_the_link_confirms_once_by_post(
    client: Client, org: Organization, submit: Callable[..., Any]
) -> None:
    path = confirm_path(submit, org)
    shown = client.get(path)  # a mail scanner opening the link confirms nothing
    assert shown.status_code == 200
    assert "Confirm my request" in shown.content.decode()
    [request] = requests_of(org)
    assert request.email_confirmed_at is None

    confirmed = client.post(path)
    assert confirmed.status_code == 200
    assert request.reference in confirmed.content.decode()
    [request] = requests_of(org)
    assert request.email_confirmed_at is not None
    assert request.status == Status.AWAITING_VERIFICATION
    with tenant_context(org):
        assert RequesterToken.objects.get().used_at is not None
        assert AuditEvent.objects.filter(action=Action.REQUEST_EMAIL_CONFIRMED).count() == 1

    again = client.post(path)
    assert again.status_code == 410
    assert "already used" in again.content.decode()
    assert client.get(path).status_code == 410


def test_an_expired_link_says_so_in_its_language(
    client: Client, org: Organization, submit: Callable[..., Any]
) -> None:
    path = confirm_path(submit, org, lang="es")
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        response = client.post(path)
    assert response.status_code == 410
    page = response.content.decode()
    assert "Este enlace ha caducado." in page
    [request] = requests_of(org)
    assert request.email_confirmed_at is None


def test_unknown_links_and_links_under_another_organization_are_404(
    client: Client, org: Organization, california: Organization, submit: Callable[..., Any]
) -> None:
    assert client.get(f"/privacy/{org.slug}/confirm/not-a-token/").status_code == 404
    path = confirm_path(submit, org)
    elsewhere = path.replace(f"/privacy/{org.slug}/", f"/privacy/{california.slug}/")
    assert client.post(elsewhere).status_code == 404
    [request] = requests_of(org)
    assert request.email_confirmed_at is None
