"""Alerts that reach people: each change to a request lights the right members' bells and
emails them by their preference, once however often the change is retried."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.test import Client
from django.urls import reverse

from accounts.api_keys import api_key_create
from accounts.models import Membership, Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from k12cloud.notifications.digest import digest_send
from k12cloud.notifications.fan_out import deferred_notice_deliver
from k12cloud.notifications.models import DeferredNotice, Notification, OutboundEmail
from k12cloud.notifications.services import notification_preference_set
from k12cloud.tenancy import TenantContextMissing, TenantMismatch, tenant_context
from privacy_requests.alerts import (
    PRIVACY_TEAM_ROLES,
    alert_request_new,
    alert_requester_replied,
    privacy_team,
    privacy_team_ids,
)
from privacy_requests.intake.services import WebSubmission, web_request_receive
from privacy_requests.models import PrivacyRequest, RequestMessage
from privacy_requests.portal.services import portal_reply_add
from privacy_requests.routing import request_route
from privacy_requests.rules.models import OrganizationRuleSelection
from privacy_requests.services import (
    request_assign,
    request_confirm_email,
    request_message_add,
)
from privacy_requests.tests.factories import received_request
from privacy_requests.tracking.services import deadline_reminders_send

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

PERSONAL = ("Rosa", "Parent", "rosa.parent@example.org", "Sam", "Student")


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


@pytest.fixture
def people(org: Organization) -> dict[str, User]:
    return {
        "admin": member(org, Role.ORG_ADMIN, email="ada@lincoln.example"),
        "officer": member(org, Role.PRIVACY_OFFICER, email="olga@lincoln.example"),
        "staff": member(org, Role.PRIVACY_STAFF, email="sam@lincoln.example"),
        "viewer": member(org, Role.VIEWER, email="vic@lincoln.example"),
        "billing": member(org, Role.BILLING_CONTACT, email="bill@lincoln.example"),
    }


def bells(org: Organization, people: dict[str, User]) -> dict[str, int]:
    """Each member's unread count, as the bell fetches it."""
    counts = {}
    for role, user in people.items():
        url = reverse("accounts:notification_unread", kwargs={"org_slug": org.slug})
        response = sign_in(Client(), user).get(url)
        assert response.status_code == 200
        counts[role] = response.json()["unread"]
    return counts


def risen(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {role for role in after if after[role] > before[role]}


def notices(org: Organization, kind: str) -> list[Notification]:
    with tenant_context(org):
        return list(Notification.objects.filter(kind=kind).select_related("recipient"))


def web_request(org: Organization, *, language: str = "en") -> PrivacyRequest:
    with tenant_context(org):
        return web_request_receive(
            organization=org,
            submission=WebSubmission(
                request_type="access",
                relationship="parent",
                requester_name="Rosa Parent",
                requester_email="rosa.parent@example.org",
                subject_name="Sam Student",
            ),
            language=language,
            gpc_signal=False,
            gpc_means_opt_out=False,
            confirm_url_for=lambda token: f"https://portal.example/confirm/{token}/",
        ).request


def no_personal_data(texts: list[str]) -> None:
    for text in texts:
        for value in PERSONAL:
            assert value.lower() not in text.lower(), f"{value!r} in {text!r}"


def test_a_public_request_alerts_the_privacy_team_once_the_email_is_confirmed(
    org: Organization, people: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    start = bells(org, people)
    request = web_request(org, language="es")
    assert bells(org, people) == start  # unconfirmed: it may be spam, nobody is told yet
    with tenant_context(org), django_capture_on_commit_callbacks(execute=True):
        request_confirm_email(request=request)
    after = bells(org, people)
    # officers and staff; the admin only when there is no privacy team (below)
    assert risen(start, after) == {"officer", "staff"}
    [one, _other] = notices(org, "request_new")
    # in the portal's language, not the Spanish requester's; no personal data
    assert (
        one.title
        == f"New privacy request {request.reference} ({request.get_request_type_display()})"
    )
    assert one.url == f"/o/lincoln-usd/requests/{request.pk}/"
    # immediate delivery (the default): an email each, subject = title, absolute link
    sent = [m for m in mail.outbox if m.subject == one.title]
    assert sorted(m.to[0] for m in sent) == ["olga@lincoln.example", "sam@lincoln.example"]
    body = str(sent[0].body)
    assert re.search(rf"https?://\S+/o/lincoln-usd/requests/{request.pk}/", body)
    no_personal_data([one.title, body])
    # confirming again (the link used twice, a retried task) tells nobody again
    with tenant_context(org), django_capture_on_commit_callbacks(execute=True):
        request_confirm_email(request=request)
        alert_request_new(request=request)
    assert bells(org, people) == after
    assert len([m for m in mail.outbox if m.subject == one.title]) == 2


def test_without_a_privacy_team_the_admins_hear_of_new_requests(
    org: Organization, django_capture_on_commit_callbacks: Any
) -> None:
    admin = member(org, Role.ORG_ADMIN)
    # a new request's alert is fanned out after commit (`notify_after_commit`): the captured
    # callbacks run that fan-out's function here (the worker's path: test_alerts_worker.py)
    with django_capture_on_commit_callbacks(execute=True):
        request = received_request(org, alert=True)
    assert [n.recipient for n in notices(org, "request_new")] == [admin]
    assert request.reference in notices(org, "request_new")[0].title


def test_staff_entry_alerts_at_once_but_not_the_member_who_entered_it(
    org: Organization, people: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    start = bells(org, people)
    with django_capture_on_commit_callbacks(execute=True):
        received_request(org, actor=people["staff"], alert=True)
    assert risen(start, bells(org, people)) == {"officer"}


def test_api_intake_alerts_at_once(
    org: Organization, people: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    start = bells(org, people)
    key = api_key_create(
        organization=org, user=people["admin"], name="SIS", role=Role.PRIVACY_STAFF, expires_at=None
    )
    with django_capture_on_commit_callbacks() as callbacks:
        response = Client(headers={"Authorization": f"Bearer {key.token}"}).post(
            reverse("accounts_api:request_intake", kwargs={"org_slug": org.slug}),
            json.dumps(
                {
                    "request_type": "access",
                    "relationship": "parent",
                    "requester_name": "Rosa Parent",
                    "requester_email": "rosa.parent@example.org",
                }
            ),
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    # in the request's transaction: one deferred notice naming the team, nothing told yet
    with tenant_context(org):
        [deferred] = DeferredNotice.objects.all()
    assert sorted(deferred.recipient_ids) == sorted([people["officer"].pk, people["staff"].pk])
    assert deferred.dedupe_key == f"request-new:{response.json()['id']}"
    assert deferred.delivered_at is None
    assert bells(org, people) == start
    for callback in callbacks:  # the commit: the fan-out (in process with the test settings)
        callback()
    assert risen(start, bells(org, people)) == {"officer", "staff"}
    # delivered once: the fan-out again (a redelivered task, the relay) tells nobody twice
    with tenant_context(org):
        assert deferred_notice_deliver(notice_id=deferred.pk) == 0
        DeferredNotice.objects.filter(pk=deferred.pk).update(delivered_at=None)
        assert deferred_notice_deliver(notice_id=deferred.pk) == 0  # the dedupe keys
        assert OutboundEmail.objects.filter(dedupe_key__startswith="request-new:").count() == 2
    assert risen(start, bells(org, people)) == {"officer", "staff"}
    assert sum(bells(org, people).values()) - sum(start.values()) == 2


def test_a_parents_reply_alerts_the_assignee_or_the_team_when_unassigned(
    org: Organization, people: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    request = received_request(org, channel="web")
    start = bells(org, people)
    with tenant_context(org):
        message = portal_reply_add(request=request, body="Rosa here: any news about Sam?")
    unassigned = bells(org, people)
    assert risen(start, unassigned) == {"officer", "staff"}
    [notice, _] = notices(org, "request_reply")
    assert (
        notice.title
        == f"The requester replied on {request.reference} ({request.get_request_type_display()})"
    )
    no_personal_data([notice.title])
    # a retried alert for the same message writes nothing
    with tenant_context(org):
        assert alert_requester_replied(request=request, message=message) == 0
    assert bells(org, people) == unassigned

    with tenant_context(org):
        request_assign(request=request, assignee=people["staff"], actor=people["officer"])
    assigned = bells(org, people)
    with tenant_context(org):
        portal_reply_add(request=request, body="Another question.")
    assert risen(assigned, bells(org, people)) == {"staff"}
    # a reply staff enter themselves (it came by phone) does not alert the one who entered it
    again = bells(org, people)
    with tenant_context(org):
        request_message_add(
            request=request,
            actor=people["staff"],
            direction=RequestMessage.Direction.FROM_REQUESTER,
            body="Phoned to ask about progress.",
        )
    assert bells(org, people) == again


def test_an_assignment_alerts_the_assignee_unless_they_took_it(
    org: Organization, people: dict[str, User]
) -> None:
    request = received_request(org)
    start = bells(org, people)
    with tenant_context(org):
        request_assign(request=request, assignee=people["staff"], actor=people["officer"])
    after = bells(org, people)
    assert risen(start, after) == {"staff"}
    [notice] = notices(org, "request_assigned")
    assert (
        notice.title
        == f"{request.reference} ({request.get_request_type_display()}) was assigned to you"
    )
    # saving the same assignment again is no new assignment
    with tenant_context(org):
        request_assign(request=request, assignee=people["staff"], actor=people["officer"])
    assert bells(org, people) == after
    # the officer takes it: nobody is told (they know)
    with tenant_context(org):
        request_assign(request=request, assignee=people["officer"], actor=people["officer"])
    assert bells(org, people) == after


def test_a_routed_request_alerts_the_receiving_organizations_team(
    org: Organization, people: dict[str, User]
) -> None:
    platform: Organization = OrganizationFactory.create(
        slug="k12cloud", name="k-12.cloud", kind=Organization.Kind.PLATFORM, time_zone="UTC"
    )
    for organization, rules in ((platform, ("ferpa",)), (org, ("ferpa", "ccpa"))):
        with tenant_context(organization):
            OrganizationRuleSelection.objects.bulk_create(
                OrganizationRuleSelection(organization=organization, rule_id=r) for r in rules
            )
    platform_staff = member(platform, Role.PRIVACY_STAFF)
    request = received_request(platform, request_type="ferpa_inspect")
    start = bells(org, people)
    with tenant_context(platform):
        copy = request_route(request=request, to_organization=org, actor=platform_staff)
    assert risen(start, bells(org, people)) == {"officer", "staff"}
    [notice, _] = notices(org, "request_routed_in")
    assert copy.reference in notice.title and "k-12.cloud" in notice.title
    assert notice.url == f"/o/lincoln-usd/requests/{copy.pk}/"
    # the platform's own people are not told about the copy
    with tenant_context(platform):
        assert not Notification.objects.filter(kind="request_routed_in").exists()


def test_an_overdue_request_alerts_assignee_officers_and_admins_urgently_once_a_day(
    org: Organization, people: dict[str, User]
) -> None:
    request = received_request(org, received_at=datetime(2026, 11, 13, 18, 0, tzinfo=UTC))
    assert request.acknowledge_by == date(2026, 11, 30)
    with tenant_context(org):
        request_assign(request=request, assignee=people["staff"], actor=people["staff"])
        # the assignee reads a digest: an overdue deadline is emailed anyway (urgent)
        notification_preference_set(organization=org, user=people["staff"], delivery="digest")
    start = bells(org, people)
    day_after = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # 09:00 in Los Angeles
    for _retry in range(2):
        with time_machine.travel(day_after, tick=False), tenant_context(org):
            deadline_reminders_send(organization=org)
    after = bells(org, people)
    assert risen(start, after) == {"staff", "officer", "admin"}
    assert {r: after[r] - start[r] for r in ("staff", "officer", "admin")} == {
        "staff": 1,
        "officer": 1,
        "admin": 1,
    }
    with tenant_context(org):
        emailed = {
            e.to for e in OutboundEmail.objects.filter(template__endswith="tracking/escalation")
        }
    assert emailed == {"sam@lincoln.example", "olga@lincoln.example", "ada@lincoln.example"}


def test_digest_readers_get_the_notice_and_no_email_immediate_readers_get_both(
    org: Organization, people: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_context(org):
        notification_preference_set(organization=org, user=people["officer"], delivery="digest")
    with django_capture_on_commit_callbacks(execute=True):
        request = received_request(org, alert=True)
    by_recipient = {n.recipient.email: n for n in notices(org, "request_new")}
    assert set(by_recipient) == {"olga@lincoln.example", "sam@lincoln.example"}
    # the digest reader's notice waits for the morning digest; the other one was emailed
    assert by_recipient["olga@lincoln.example"].digest_sent_at is None
    assert by_recipient["sam@lincoln.example"].digest_sent_at is not None
    subject = f"New privacy request {request.reference} ({request.get_request_type_display()})"
    assert [m.to for m in mail.outbox if m.subject == subject] == [["sam@lincoln.example"]]
    # the morning digest carries it to the digest reader
    mail.outbox.clear()
    with tenant_context(org), django_capture_on_commit_callbacks(execute=True):
        digest_send(organization=org, user=people["officer"])
    [digest] = mail.outbox
    assert digest.to == ["olga@lincoln.example"] and subject in digest.body


def test_a_change_that_rolls_back_tells_nobody(org: Organization, people: dict[str, User]) -> None:
    request = received_request(org)

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), tenant_context(org), transaction.atomic():
        request_assign(request=request, assignee=people["staff"], actor=people["officer"])
        assert len(notices(org, "request_assigned")) == 1  # written in the same transaction
        raise Abandoned
    assert notices(org, "request_assigned") == []
    with tenant_context(org):
        assert not OutboundEmail.objects.exists()


def test_a_new_request_that_rolls_back_leaves_no_deferred_alert(
    org: Organization, people: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    class Abandoned(Exception):
        pass

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Abandoned),
        tenant_context(org),
        transaction.atomic(),
    ):
        received_request(org, alert=True)
        assert DeferredNotice.objects.count() == 1  # written in the same transaction
        raise Abandoned
    assert callbacks == []
    with tenant_context(org):
        assert not DeferredNotice.objects.exists()
        assert not Notification.objects.exists()


# --- the team, written in SQL for the intake (privacy_team_ids) ------------------------------


def test_the_teams_ids_are_the_team_read_through_the_orm(
    org: Organization, people: dict[str, User]
) -> None:
    other = OrganizationFactory(slug="hudson-csd")
    member(other, Role.PRIVACY_OFFICER, email="otto@hudson.example")
    gone = member(org, Role.PRIVACY_STAFF, email="gone@lincoln.example")
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    left = member(org, Role.PRIVACY_OFFICER, email="left@lincoln.example")
    with tenant_context(org):
        Membership.objects.filter(user=left).update(is_active=False)

        def both() -> tuple[list[int], list[int]]:
            return privacy_team_ids(organization=org), [
                u.pk for u in privacy_team(organization=org)
            ]

        ids, team = both()
        assert ids == team == sorted([people["officer"].pk, people["staff"].pk])
        # nobody in the privacy roles: the active admins
        Membership.objects.filter(role__in=PRIVACY_TEAM_ROLES).update(is_active=False)
        ids, team = both()
        assert ids == team == [people["admin"].pk]
        Membership.objects.all().update(is_active=False)
        assert both() == ([], [])


def test_the_team_function_sees_only_the_acting_organizations_members(
    org: Organization, people: dict[str, User]
) -> None:
    # privacy_team_members (SECURITY INVOKER): row-level security applies inside it, so SQL
    # that skips privacy_team_ids' context check still reads nothing of another organization
    from django.db import connection

    other = OrganizationFactory(slug="hudson-csd")
    otto = member(other, Role.PRIVACY_OFFICER, email="otto@hudson.example")
    roles = [str(role) for role in PRIVACY_TEAM_ROLES]

    def members(of: Organization) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT member_user_id FROM privacy_team_members(%s, %s)", [of.pk, roles]
            )
            return sorted(row[0] for row in cursor.fetchall())

    with tenant_context(org):
        assert members(other) == []
        assert members(org) == sorted([people["officer"].pk, people["staff"].pk])
    with tenant_context(other):
        assert members(org) == []
        assert members(other) == [otto.pk]


def test_the_teams_ids_need_the_organizations_context(org: Organization) -> None:
    with pytest.raises(TenantContextMissing):
        privacy_team_ids(organization=org)
    other = OrganizationFactory(slug="hudson-csd")
    with tenant_context(other), pytest.raises(TenantMismatch):
        privacy_team_ids(organization=org)


@pytest.mark.parametrize("language", ["en", "es"])
def test_alert_titles_name_the_type_as_the_model_does(language: str) -> None:
    # the alerts read the label table (privacy_requests.labels), not get_request_type_display()
    from django.utils import translation

    from privacy_requests.alerts import _type_label
    from privacy_requests.rules.models import REQUEST_TYPE_CHOICES  # the model field's

    with translation.override(language):
        for value, _label in REQUEST_TYPE_CHOICES:
            request = PrivacyRequest(request_type=value)
            assert _type_label(request) == str(request.get_request_type_display())
