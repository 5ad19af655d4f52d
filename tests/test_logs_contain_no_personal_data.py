"""The application's logs carry no personal data and no secrets.

Every log record (root logger at DEBUG, so django.request, axes, allauth, celery and our own
loggers included) is captured while a full journey runs through the test client: an invitation
to a new person, acceptance, a failed and a successful sign-in, a refused second-factor code, a
role change, an IP allowlist refusal, a reused invitation link and a page that does not exist.
None of the personal values or secrets the journey used may appear in any formatted record.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Membership, Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from k12cloud.tenancy import tenant_context

pytestmark = pytest.mark.django_db

ADMIN_EMAIL = "philippa.vanderbilt-okoro@lincoln.example"
ADMIN_NAME = "Philippa Vanderbilt-Okoro"
NEW_EMAIL = "zebulon.quixote-fernsby@example.org"
NEW_NAME = "Zebulon Quixote-Fernsby"
NEW_PASSWORD = "marmalade-zeppelin-quartz-71"
WRONG_PASSWORD = "tangerine-obelisk-wrong-38"
WRONG_CODE = "402913"
NEW_PERSON_IP = "203.0.113.77"
ADMIN_IP = "198.51.100.23"
# loggers forced to DEBUG for the journey (django.template keeps its configured level)
LOGGERS = ("", "django.request", "django.security", "axes", "allauth", "celery", "k12cloud")


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the configured handlers (settings.LOGGING, with their filters) write, at DEBUG."""
    root = logging.getLogger()
    handlers = [h for h in root.handlers if h.name == "console"]
    assert handlers, "settings.LOGGING's console handler is not installed"
    output = io.StringIO()
    saved_streams = [h.setStream(output) for h in handlers]  # type: ignore[attr-defined]
    saved_levels = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield output
    finally:
        for handler, stream in zip(handlers, saved_streams, strict=True):
            handler.setStream(stream)  # type: ignore[attr-defined]
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)


def test_a_full_journey_logs_no_personal_values(
    log_output: io.StringIO, django_capture_on_commit_callbacks
) -> None:
    org = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    admin = member(org, Role.ORG_ADMIN, email=ADMIN_EMAIL, full_name=ADMIN_NAME)
    admin_client = sign_in(Client(REMOTE_ADDR=ADMIN_IP), admin)
    org_url = reverse("accounts:dashboard", kwargs={"org_slug": org.slug})

    # an invitation to a new person, and its acceptance
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("accounts:invitation_create", kwargs={"org_slug": org.slug}),
            {"email": NEW_EMAIL, "role": "viewer"},
        )
    assert response.status_code == 302
    link = re.search(r"/invitations/([\w-]+)/", mail.outbox[0].body)
    assert link is not None
    token = link.group(1)
    newcomer = Client(REMOTE_ADDR=NEW_PERSON_IP)
    response = newcomer.post(
        link.group(0),
        {"full_name": NEW_NAME, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    newcomer.post(reverse("account_logout"))
    # the used link again, as a forwarded email would be opened
    assert Client(REMOTE_ADDR=NEW_PERSON_IP).get(link.group(0)).status_code == 410

    # a failed and a successful sign-in, then a wrong second-factor code
    user = User.objects.get(email=NEW_EMAIL)
    device = TOTPDevice.objects.create(user=user, name="Authenticator app")
    login = reverse("account_login")
    response = newcomer.post(login, {"login": NEW_EMAIL, "password": WRONG_PASSWORD})
    assert response.status_code == 200
    response = newcomer.post(login, {"login": NEW_EMAIL, "password": NEW_PASSWORD})
    assert response.status_code == 302
    response = newcomer.post(reverse("mfa_verify"), {"code": WRONG_CODE})
    assert response.status_code == 200 and "_auth_user_id" in newcomer.session

    # a role change by the admin
    with tenant_context(org):
        membership = Membership.objects.get(user=user)
    response = admin_client.post(
        reverse(
            "accounts:member_role_change",
            kwargs={"org_slug": org.slug, "membership_id": membership.pk},
        ),
        {"role": "privacy_staff"},
    )
    assert response.status_code == 302

    # refused by the IP allowlist, then a page that does not exist
    Organization.objects.filter(slug="lincoln-usd").update(ip_allowlist=["192.0.2.0/24"])
    assert admin_client.get(org_url).status_code == 403
    assert admin_client.get(f"/no-such-page/{ADMIN_EMAIL}/").status_code == 404

    secrets = {
        "admin email": ADMIN_EMAIL,
        "admin name": ADMIN_NAME,
        "new person's email": NEW_EMAIL,
        "new person's name": NEW_NAME,
        "password": NEW_PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "TOTP code": WRONG_CODE,
        "invitation token": token,
        "new person's IP": NEW_PERSON_IP,
        "admin's IP": ADMIN_IP,
        "TOTP key": device.key,
    }
    lines = log_output.getvalue().splitlines()
    # the journey does log (sign-ins, refusals, not-found pages): the capture works
    assert any("django.request Not Found" in line for line in lines), lines
    leaks = [
        (what, line)
        for line in lines
        for what, value in secrets.items()
        if value.lower() in line.lower()
    ]
    assert leaks == [], "\n".join(f"{what}: {line[:300]}" for what, line in leaks)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("by ada@lincoln.example", "by [email]"),
        ("from 203.0.113.7 and 2001:db8::7", "from [ip] and [ip]"),
        ("/invitations/abc-DEF_123/ and /accounts/password/reset/key/1-x/", None),
        (
            "older than 2026-11-23 18:42:50.113192+00:00, v1.2.3",
            "older than 2026-11-23 18:42:50.113192+00:00, v1.2.3",
        ),
    ],
)
def test_redaction_masks_addresses_and_secrets_but_not_times(
    text: str, expected: str | None
) -> None:
    from k12cloud.log_redaction import redact

    if expected is None:
        assert redact(text) == "/invitations/[secret]/ and /accounts/password/reset/key/[secret]/"
    else:
        assert redact(text) == expected


def test_a_request_warning_names_the_url_pattern_not_the_path(log_output: io.StringIO) -> None:
    Client().get("/invitations/a-secret-token-value/")
    Client().get("/nowhere/jo.smith/")
    output = log_output.getvalue()
    assert "Not Found: /invitations/[secret]/" in output
    assert "Not Found: (a path that matches no URL pattern)" in output
    assert "a-secret-token-value" not in output and "jo.smith" not in output
