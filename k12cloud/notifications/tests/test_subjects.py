"""No email the portal writes carries a requester's (or a member's) personal data in its subject.

Every kind of email goes through the outbox, so the test produces one of each with seeded
personal values and scans every subject written to it, in English and Spanish; then it checks
that each one also appears on its request's timeline (`emails_for`).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.services.members import invitation_create
from accounts.tests.factories import OrganizationFactory, UserFactory, member
from audit.tasks import _alert_ops
from k12cloud.notifications.digest import DigestItem, DigestSection, digest_send
from k12cloud.notifications.models import OutboundEmail
from k12cloud.notifications.selectors import emails_for
from k12cloud.notifications.services import notification_preference_set, notify
from k12cloud.tenancy import tenant_context, unscoped_all_tenants
from privacy_requests.intake.services import WebSubmission, web_request_receive
from privacy_requests.portal.services import portal_link_send, portal_reply_add
from privacy_requests.services import request_assign, request_confirm_email, request_message_add
from privacy_requests.tests.conftest import reference_rules  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

PERSONAL = {
    "requester_name": "Zelda Quintanilla",
    "requester_email": "zelda.quintanilla@example.org",
    "requester_phone": "+1 415 555 0199",
    "subject_name": "Yusuf Okonkwo-Lindqvist",
    "subject_school": "Maple Grove Elementary",
    "subject_birth_date": "2014-03-09",
}
MEMBER_NAME = "Ingrid Staffmember"
MEMBER_EMAIL = "ingrid.staff@lincoln.example"


def personal_values() -> list[str]:
    parts = list(PERSONAL.values())
    parts += ["Zelda", "Quintanilla", "Yusuf", "Okonkwo", "zelda.quintanilla", "555 0199"]
    parts += [MEMBER_NAME, MEMBER_EMAIL, "Ingrid", "invitee@example.org"]
    return parts


def produce_every_email(org: Organization, staff: User, commit: Any, language: str) -> None:
    with tenant_context(org), commit(execute=True):
        result = web_request_receive(
            organization=org,
            submission=WebSubmission(
                request_type="access", relationship="parent", details="About my child", **PERSONAL
            ),
            language=language,
            gpc_signal=False,
            gpc_means_opt_out=False,
            confirm_url_for=lambda token: f"https://portal.example/confirm/{token}/",
        )
    request = result.request
    with tenant_context(org), commit(execute=True):
        portal_link_send(
            request=request, portal_url_for=lambda token: f"https://portal.example/p/{token}/"
        )
    # the members' alerts (privacy_requests.alerts): confirmed, a reply, an assignment
    colleague = member(org, Role.PRIVACY_STAFF, email=f"{language}.colleague@lincoln.example")
    with tenant_context(org), commit(execute=True):
        request_confirm_email(request=request)
    with tenant_context(org), commit(execute=True):
        portal_reply_add(request=request, body="Zelda Quintanilla here, about Yusuf.")
    with tenant_context(org), commit(execute=True):
        request_assign(request=request, assignee=colleague, actor=staff)
    with tenant_context(org), commit(execute=True):
        request_message_add(
            request=request,
            actor=staff,
            direction="to_requester",
            body="Dear Zelda Quintanilla, about Yusuf: we are on it.",
        )
    with tenant_context(org), commit(execute=True):
        invitation_create(
            organization=org,
            actor=staff,
            email=f"{language}.invitee@example.org",
            role=Role.VIEWER,
            accept_url_for=lambda token: f"https://portal.example/i/{token}/",
        )
    with tenant_context(org), commit(execute=True):
        notify(
            organization=org,
            recipients=[staff],
            kind="reminder",
            title=f"{request.reference} is due Friday",
            target=request,
            email_template="notifications/email/notice",
        )
        notification_preference_set(organization=org, user=staff, delivery="digest")
        notify(
            organization=org,
            recipients=[staff],
            kind="assigned",
            title=f"{request.reference} was assigned to you",
            target=request,
            email_template="notifications/email/notice",
        )
    with tenant_context(org), commit(execute=True):
        digest_send(
            organization=org,
            user=staff,
            extra_sections=[DigestSection("Due this week", [DigestItem(request.reference)])],
            language=language,
        )
        notification_preference_set(organization=org, user=staff, delivery="immediate")


def test_no_subject_carries_personal_data(django_capture_on_commit_callbacks: Any) -> None:
    org = OrganizationFactory.create(name="Lincoln USD")
    platform = OrganizationFactory.create(name="k-12.cloud", kind=Organization.Kind.PLATFORM)
    staff = member(org, Role.PRIVACY_OFFICER, email=MEMBER_EMAIL, full_name=MEMBER_NAME)
    for language in ("en", "es"):
        produce_every_email(org, staff, django_capture_on_commit_callbacks, language)
    UserFactory(is_staff=True, email="ops.person@k12.example")
    _alert_ops(
        ["ops.person@k12.example"], subject="[k12cloud] Audit log verification failed", body="x"
    )

    with unscoped_all_tenants(reason="test: every subject the outbox holds"):
        emails = list(OutboundEmail.objects.all())
    templates = {email.template for email in emails}
    assert templates >= {
        "privacy_requests/intake/email/confirm",
        "privacy_requests/intake/portal/email/link",
        "notifications/email/message_to_requester",
        "accounts/email/invitation",
        "notifications/email/notice",
        "notifications/email/digest",
        "notifications/email/ops_alert",
    }
    subjects = [email.subject for email in emails] + [message.subject for message in mail.outbox]
    assert len(mail.outbox) == len(emails)  # and every one was sent
    for subject in subjects:
        for value in personal_values():
            assert value.lower() not in subject.lower(), f"{value!r} in subject {subject!r}"
    assert {email.organization_id for email in emails} == {org.pk, platform.pk}


def test_the_requests_emails_are_on_its_timeline(
    django_capture_on_commit_callbacks: Any,
) -> None:
    org = OrganizationFactory.create(name="Lincoln USD")
    staff = member(org, Role.PRIVACY_OFFICER, email=MEMBER_EMAIL, full_name=MEMBER_NAME)
    produce_every_email(org, staff, django_capture_on_commit_callbacks, "en")
    with tenant_context(org):
        [request] = org_requests(org)
        emails = emails_for(organization=org, target=request)
    assert [email.template for email in emails] == [
        "privacy_requests/intake/email/confirm",
        "privacy_requests/intake/portal/email/link",
        # alerts: confirmed (officer, colleague), the reply (both), the assignment (colleague)
        *["notifications/email/notice"] * 5,
        "notifications/email/message_to_requester",
        "notifications/email/notice",
    ]
    assert all(email.status == OutboundEmail.Status.SENT for email in emails)
    assert emails[0].to == PERSONAL["requester_email"]


def org_requests(org: Organization) -> list[Any]:
    from privacy_requests.models import PrivacyRequest

    return list(PrivacyRequest.objects.for_organization(org))
