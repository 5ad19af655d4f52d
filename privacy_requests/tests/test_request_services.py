"""The request workflow services: receipt, the status machine and its guards, audit events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context
from privacy_requests import services
from privacy_requests.models import PrivacyRequest, RequestEvent, RequestMessage
from privacy_requests.rules.models import JurisdictionRule, OrganizationRuleSelection
from privacy_requests.rules.selectors import organization_deadlines
from privacy_requests.services import (
    RequestActionRefused,
    RequestTransitionRefused,
    request_acknowledge,
    request_assign,
    request_close,
    request_confirm_email,
    request_extend,
    request_mark_duplicate,
    request_message_add,
    request_transition,
    request_verify,
    request_withdraw,
)
from privacy_requests.status import Status
from privacy_requests.tests.factories import received_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

LA = ZoneInfo("America/Los_Angeles")
# Monday 2 March 2026, 10:00 in Los Angeles
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=LA)


@pytest.fixture
def org() -> Organization:
    # CCPA only (10 business days / 45 days, +45 for access); the platform policy that the
    # defaults add allows no extension, so it would bind instead
    organization = OrganizationFactory(slug="lincoln-usd", subdivision="CA")
    with tenant_context(organization):
        OrganizationRuleSelection.objects.create(organization=organization, rule_id="ccpa")
    return organization


@pytest.fixture
def staff(org: Organization) -> User:
    return member(org, Role.PRIVACY_STAFF)


def audit_actions(request: PrivacyRequest) -> list[str]:
    with tenant_context(request.organization_id):
        return list(
            AuditEvent.objects.filter(
                target_type="privacy_requests.privacyrequest", target_id=str(request.pk)
            )
            .order_by("pk")
            .values_list("action", flat=True)
        )


def working(org: Organization, staff: User, **fields: object) -> PrivacyRequest:
    """A verified, acknowledged request in progress."""
    request = received_request(org, actor=staff, received_at=MONDAY, **fields)
    with tenant_context(org):
        request = request_verify(request=request, actor=staff, method="records_match", evidence="x")
        request = request_acknowledge(request=request, actor=staff)
        return request_transition(request=request, to_status=Status.IN_PROGRESS, actor=staff)


# --- receipt --------------------------------------------------------------------------------


def test_receipt_stores_the_engine_deadlines_and_writes_one_event(
    org: Organization, staff: User
) -> None:
    request = received_request(org, actor=staff, received_at=MONDAY)
    with tenant_context(org):
        result, snapshot = organization_deadlines(
            organization=org, request_type="access", received_at=MONDAY
        )
        request.refresh_from_db()
        assert request.status == Status.RECEIVED
        assert request.reference.startswith("R-") and len(request.reference) == 11
        assert request.deadlines == snapshot.to_json_dict()
        assert (request.acknowledge_by, request.respond_by) == (
            result.acknowledge_by,
            result.respond_by,
        )
        assert request.deadlines["binding_rule"] == "ccpa"
        assert request.respond_by == date(2026, 4, 16)  # 45 calendar days
        assert request.extended_respond_by is None  # applied only when granted
        assert request.next_due_on == request.acknowledge_by  # not acknowledged yet
        assert request.requester_email == "rosa.parent@example.org"
        events = list(RequestEvent.objects.filter(request=request))
    assert [e.kind for e in events] == ["received"]
    assert audit_actions(request) == ["requests.received"]


def test_a_taken_reference_is_drawn_again_in_the_same_transaction(
    org: Organization, staff: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = received_request(org, actor=staff, received_at=MONDAY)
    # the random draw is the only seam: the clash itself is PostgreSQL's unique constraint
    draws = iter([first.reference, first.reference, "R-FRSH-REF9"])
    monkeypatch.setattr(services, "_new_reference", lambda: next(draws))
    second = received_request(
        org, actor=staff, received_at=MONDAY, requester_email="other@example.org"
    )
    assert second.reference == "R-FRSH-REF9" and second.pk != first.pk
    assert not second._state.adding
    with tenant_context(org):
        stored = PrivacyRequest.objects.get(pk=second.pk)
        assert stored.reference == "R-FRSH-REF9"
        assert stored.requester_email == "other@example.org"  # sealed, reads back
        assert stored.requester_email_index == second.requester_email_index
        assert PrivacyRequest.objects.count() == 2
        # one "received" event each, for the row that was inserted (none for the clashes)
        assert sorted(RequestEvent.objects.values_list("request_id", "kind")) == [
            (first.pk, "received"),
            (second.pk, "received"),
        ]
    assert audit_actions(second) == ["requests.received"]


def test_the_received_event_in_hand_is_the_stored_one(org: Organization, staff: User) -> None:
    # written in the request's statement (request_insert): the duplicates and the
    # verification method end up in its data, in jsonb's key order, as the stored row reads
    first = received_request(org, received_at=MONDAY)
    second = received_request(
        org,
        actor=staff,
        received_at=MONDAY + timedelta(hours=1),
        channel="in_person",
        verification_method="in_person_id",
        verification_evidence="Licence ending 4411",
    )
    (in_hand,) = second.received_timeline  # type: ignore[attr-defined]
    with tenant_context(org):
        stored = RequestEvent.objects.get(request=second)
    assert in_hand.pk == stored.pk and not in_hand._state.adding
    fields = ["organization_id", "request_id", "occurred_at", "kind", "actor_id", "to_status"]
    assert [getattr(in_hand, f) for f in fields] == [getattr(stored, f) for f in fields]
    assert (
        in_hand.data
        == stored.data
        == {
            "channel": "in_person",
            "request_type": "access",
            "possible_duplicate_of": [first.pk],
            "verification_method": "in_person_id",
        }
    )
    assert list(in_hand.data) == list(stored.data)  # the same key order
    assert (stored.actor_id, stored.to_status) == (staff.pk, "verified")


def test_a_reference_taken_at_every_draw_refuses_and_saves_nothing(
    org: Organization, staff: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = received_request(org, actor=staff, received_at=MONDAY)
    monkeypatch.setattr(services, "_new_reference", lambda: first.reference)
    with pytest.raises(IntegrityError, match="No free request reference in 5 draws"):
        received_request(org, actor=staff, received_at=MONDAY, requester_email="x@example.org")
    with tenant_context(org):
        assert list(PrivacyRequest.objects.values_list("pk", flat=True)) == [first.pk]
        assert RequestEvent.objects.count() == 1


def test_another_organizations_reference_is_no_clash(
    org: Organization, staff: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = received_request(org, actor=staff, received_at=MONDAY)
    other = cast(Organization, OrganizationFactory(slug="hudson-csd", subdivision="CA"))
    monkeypatch.setattr(services, "_new_reference", lambda: first.reference)
    copy = received_request(other, received_at=MONDAY)
    assert copy.reference == first.reference and copy.organization_id == other.pk


def test_friday_evening_in_los_angeles_counts_from_friday(org: Organization) -> None:
    # Friday 6 March 2026 23:30 in Los Angeles is Saturday 07:30 UTC
    friday_night = datetime(2026, 3, 6, 23, 30, tzinfo=LA)
    as_utc = friday_night.astimezone(UTC)
    assert as_utc.date() == date(2026, 3, 7)
    request = received_request(org, received_at=as_utc)
    with tenant_context(org):
        result, _ = organization_deadlines(
            organization=org, request_type="access", received_at=friday_night
        )
        request.refresh_from_db()
    assert result.received_on == date(2026, 3, 6)
    assert request.deadlines["received_on"] == "2026-03-06"
    assert request.acknowledge_by == result.acknowledge_by == date(2026, 3, 20)
    assert request.respond_by == result.respond_by == date(2026, 4, 20)  # 6 Mar + 45 days
    assert request.deadlines["respond_by_extended"] == result.respond_by_extended.isoformat()  # type: ignore[union-attr]


def test_staff_entry_with_identity_checked_is_verified_at_receipt(
    org: Organization, staff: User
) -> None:
    request = received_request(
        org,
        actor=staff,
        channel="in_person",
        verification_method="in_person_id",
        verification_evidence="California driver licence ending 4411",
    )
    with tenant_context(org):
        request.refresh_from_db()
        assert request.status == Status.VERIFIED
        assert request.verified_at is not None
        assert request.verification_evidence == "California driver licence ending 4411"
        raw = PrivacyRequest.objects.filter(pk=request.pk).values_list(
            "verification_evidence", flat=True
        )[0]
    assert "4411" not in str(raw)  # stored encrypted


def test_staff_entry_refuses_an_email_verification_method(org: Organization) -> None:
    with pytest.raises(RequestActionRefused):
        received_request(org, verification_method="email")


def test_a_duplicate_is_flagged_not_closed(org: Organization) -> None:
    first = received_request(org)
    second = received_request(org, requester_email="ROSA.parent@example.org ")
    other_subject = received_request(org, subject_name="Someone Else")
    with tenant_context(org):
        flagged = RequestEvent.objects.get(request=second, kind="received")
        clean = RequestEvent.objects.get(request=other_subject, kind="received")
        second.refresh_from_db()
    assert flagged.data["possible_duplicate_of"] == [first.pk]
    assert "possible_duplicate_of" not in clean.data
    assert second.status == Status.RECEIVED


def test_duplicates_are_the_open_ones_oldest_first(org: Organization) -> None:
    older = received_request(org, received_at=MONDAY)
    closed = received_request(org, received_at=MONDAY + timedelta(hours=1))
    newer = received_request(org, received_at=MONDAY + timedelta(hours=2))
    with tenant_context(org):
        PrivacyRequest.objects.filter(pk=closed.pk).update(
            status=Status.WITHDRAWN, closed_at=MONDAY + timedelta(hours=1)
        )
    latest = received_request(org, received_at=MONDAY + timedelta(hours=3))
    with tenant_context(org):
        event = RequestEvent.objects.get(request=latest, kind="received")
    assert event.data["possible_duplicate_of"] == [older.pk, newer.pk]


def test_requests_without_an_email_address_are_never_duplicates(org: Organization) -> None:
    received_request(org, requester_email="")
    second = received_request(org, requester_email="")
    with tenant_context(org):
        event = RequestEvent.objects.get(request=second, kind="received")
    assert "possible_duplicate_of" not in event.data


# --- the status machine ---------------------------------------------------------------------


def test_a_forbidden_move_is_refused_naming_both_statuses(org: Organization, staff: User) -> None:
    request = received_request(org, actor=staff)
    with tenant_context(org):
        with pytest.raises(RequestTransitionRefused) as refused:
            request_transition(request=request, to_status=Status.ON_HOLD, actor=staff)
        request.refresh_from_db()
    assert refused.value.messages == ["A request that is “Received” cannot be moved to “On hold”."]
    assert request.status == Status.RECEIVED
    assert audit_actions(request) == ["requests.received"]


def test_work_needs_a_verified_identity(org: Organization, staff: User) -> None:
    request = received_request(org, actor=staff)
    with tenant_context(org):
        request = request_acknowledge(request=request, actor=staff)
        with pytest.raises(RequestActionRefused, match="Verify the requester's identity"):
            request_transition(request=request, to_status=Status.IN_PROGRESS, actor=staff)


def test_fulfilling_needs_a_verified_identity(org: Organization, staff: User) -> None:
    request = received_request(org, actor=staff)
    with tenant_context(org), pytest.raises(RequestActionRefused):
        request_close(request=request, actor=staff, outcome="fulfilled", reason="")


def test_each_transition_writes_exactly_one_audit_event(org: Organization, staff: User) -> None:
    request = received_request(org, actor=staff, received_at=MONDAY)
    with time_machine.travel(datetime(2026, 3, 3, 9, 0, tzinfo=LA)), tenant_context(org):
        request = request_confirm_email(request=request)
        request = request_verify(request=request, actor=staff, method="records_match")
        request = request_acknowledge(request=request, actor=staff, message="We have it.")
        request = request_transition(request=request, to_status=Status.IN_PROGRESS, actor=staff)
        request = request_extend(request=request, actor=staff, reason="Records are archived.")
        request = request_close(request=request, actor=staff, outcome="fulfilled", reason="")
    assert audit_actions(request) == [
        "requests.received",
        "requests.email_confirmed",
        "requests.verified",
        "requests.acknowledged",
        "requests.status_changed",
        "requests.extended",
        "requests.closed",
    ]
    with tenant_context(org):
        statuses = list(
            RequestEvent.objects.filter(request=request)
            .order_by("pk")
            .values_list("to_status", flat=True)
        )
    assert statuses == [
        "received",
        "awaiting_verification",
        "verified",
        "acknowledged",
        "in_progress",
        "extended",
        "fulfilled",
    ]
    assert request.status == Status.FULFILLED and request.closed_at is not None
    assert request.next_due_on is None


def test_acknowledging_moves_next_due_to_the_response_date(org: Organization, staff: User) -> None:
    request = received_request(org, actor=staff)
    assert request.next_due_on == request.acknowledge_by
    with tenant_context(org):
        request = request_acknowledge(request=request, actor=staff)
        request.refresh_from_db()
        assert request.status == Status.ACKNOWLEDGED
        assert request.acknowledged_at is not None
        assert request.next_due_on == request.respond_by
        with pytest.raises(RequestActionRefused, match="already acknowledged"):
            request_acknowledge(request=request, actor=staff)


def test_acknowledging_with_a_message_emails_after_commit_without_personal_subject(
    org: Organization, staff: User, django_capture_on_commit_callbacks: object
) -> None:
    request = received_request(org, actor=staff)
    with tenant_context(org), django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        request_acknowledge(request=request, actor=staff, message="We received your request.")
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["rosa.parent@example.org"]
    assert sent.subject == f"Your privacy request {request.reference}"
    assert "Rosa" not in sent.subject
    with tenant_context(org):
        message = RequestMessage.objects.get(request=request)
    assert message.direction == RequestMessage.Direction.TO_REQUESTER
    assert message.body == "We received your request."


# --- extension ------------------------------------------------------------------------------


def test_extension_sets_the_extended_deadline_once(org: Organization, staff: User) -> None:
    request = working(org, staff)
    with time_machine.travel(datetime(2026, 4, 16, 23, 0, tzinfo=LA)), tenant_context(org):
        # the last day of the original deadline, late evening in Los Angeles (next day UTC)
        request = request_extend(request=request, actor=staff, reason="Archived records.")
        request.refresh_from_db()
        assert request.status == Status.EXTENDED
        assert request.extended_respond_by == date(2026, 5, 31)  # 2 Mar + 90 days
        assert request.extension_reason == "Archived records."
        assert request.next_due_on == date(2026, 5, 31)
        with pytest.raises(RequestActionRefused) as refused:
            request_extend(request=request, actor=staff, reason="Again.")
    assert refused.value.messages == [
        "This request was already extended; a deadline can be extended only once."
    ]


def test_extension_after_the_original_deadline_is_refused(org: Organization, staff: User) -> None:
    request = working(org, staff)
    # 17 April 00:30 in Los Angeles: the original deadline (16 April) has passed
    with time_machine.travel(datetime(2026, 4, 17, 0, 30, tzinfo=LA)), tenant_context(org):
        with pytest.raises(RequestActionRefused) as refused:
            request_extend(request=request, actor=staff, reason="Archived records.")
        request.refresh_from_db()
    assert refused.value.messages == [
        "The original deadline (2026-04-16) has passed: an extension must be taken before it."
    ]
    assert request.extended_at is None and request.status == Status.IN_PROGRESS


def test_extension_needs_a_reason(org: Organization, staff: User) -> None:
    request = working(org, staff)
    with tenant_context(org), pytest.raises(RequestActionRefused, match="reason"):
        request_extend(request=request, actor=staff, reason="   ")


def test_extension_refused_when_the_binding_rule_allows_none(
    org: Organization, staff: User
) -> None:
    # opt-out: CCPA's 15 business days, no extension
    request = working(org, staff, request_type="opt_out")
    with tenant_context(org), pytest.raises(RequestActionRefused, match="does not allow an ext"):
        request_extend(request=request, actor=staff, reason="Busy.")


# --- on hold --------------------------------------------------------------------------------


def test_on_hold_only_where_the_binding_rule_allows_pausing(org: Organization, staff: User) -> None:
    request = working(org, staff)
    with (
        tenant_context(org),
        pytest.raises(RequestActionRefused, match="does not allow stopping the clock"),
    ):
        request_transition(request=request, to_status=Status.ON_HOLD, actor=staff)
    JurisdictionRule.objects.filter(rule_id="ccpa").update(pausing_allowed=True)
    with tenant_context(org):
        request = request_transition(request=request, to_status=Status.ON_HOLD, actor=staff)
    assert request.status == Status.ON_HOLD


# --- other actions --------------------------------------------------------------------------


def test_denial_needs_a_reason_and_keeps_it_encrypted(org: Organization, staff: User) -> None:
    request = received_request(org, actor=staff)
    with tenant_context(org):
        with pytest.raises(RequestActionRefused):
            request_close(request=request, actor=staff, outcome="denied", reason="")
        request = request_close(
            request=request, actor=staff, outcome="denied", reason="Not a student here."
        )
        request.refresh_from_db()
    assert request.status == Status.DENIED and request.outcome == "denied"
    assert request.closure_reason == "Not a student here."


def test_assign_only_to_members_who_work_requests(org: Organization, staff: User) -> None:
    officer = member(org, Role.PRIVACY_OFFICER)
    viewer = member(org, Role.VIEWER)
    outsider = member(OrganizationFactory(), Role.PRIVACY_STAFF)
    request = received_request(org, actor=staff)
    with tenant_context(org):
        for refused_user in (viewer, outsider):
            with pytest.raises(RequestActionRefused):
                request_assign(request=request, assignee=refused_user, actor=officer)
        request = request_assign(request=request, assignee=staff, actor=officer)
    assert request.assignee_id == staff.pk
    assert audit_actions(request) == ["requests.received", "requests.assigned"]


def test_duplicate_and_withdraw_close_the_request(org: Organization, staff: User) -> None:
    first = received_request(org, actor=staff)
    second = received_request(org, actor=staff)
    third = received_request(org, actor=staff, subject_name="Other Child")
    with tenant_context(org):
        second = request_mark_duplicate(request=second, actor=staff, original=first)
        third = request_withdraw(request=third)
        with pytest.raises(RequestTransitionRefused):
            request_transition(request=second, to_status=Status.IN_PROGRESS, actor=staff)
    assert second.status == Status.DUPLICATE and second.duplicate_of_id == first.pk
    assert third.status == Status.WITHDRAWN and third.closed_at is not None


def test_internal_note_is_not_emailed(org: Organization, staff: User) -> None:
    request = received_request(org, actor=staff)
    with tenant_context(org):
        request_message_add(request=request, actor=staff, direction="internal", body="Call back.")
    assert mail.outbox == []
    assert audit_actions(request)[-1] == "requests.message_added"


def test_confirming_an_email_twice_changes_nothing(org: Organization) -> None:
    request = received_request(org)
    with tenant_context(org):
        request_confirm_email(request=request)
        request_confirm_email(request=request)
    assert audit_actions(request) == ["requests.received", "requests.email_confirmed"]


def test_received_at_defaults_to_now(org: Organization) -> None:
    with time_machine.travel(MONDAY + timedelta(days=7)):
        request = received_request(org)
    assert request.deadlines["received_on"] == "2026-03-09"
