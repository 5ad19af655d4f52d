"""Rules as data (shorten, never lengthen) and legal holds (placed, listed, released, audited)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from accounts.models import Organization, User
from accounts.tests.factories import member
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context
from privacy_requests.tests.factories import stored_request
from retention.models import LegalHold, RetentionRule
from retention.policy import Category
from retention.selectors import legal_hold_list, organization_hold_active, schedule_list
from retention.services import legal_hold_place, legal_hold_release, rule_set
from retention.tests.seeding import new_organization

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 1, 17, 0, tzinfo=UTC)


def events(org: Organization, action: Action) -> list[AuditEvent]:
    with tenant_context(org):
        return list(AuditEvent.objects.filter(action=action.value).order_by("id"))


def test_the_policy_defaults_are_the_promised_periods() -> None:
    org = new_organization()
    with tenant_context(org):
        schedules = {s.policy.category: s.days for s in schedule_list(organization=org)}
    assert schedules == {
        Category.ACCOUNT_RECORDS: 3 * 365,
        Category.PRIVACY_REQUESTS: 3 * 365,
        Category.AUDIT_EVENTS: 7 * 365,
        Category.BILLING_RECORDS: 7 * 365,
        Category.UPLOADED_FILES: 3 * 365,
        Category.NOTIFICATIONS: 3 * 365,
        Category.SIS_RECORDS: 365,  # a working copy of the SIS, for answering requests
    }


def test_an_organization_may_shorten_a_period_and_it_is_audited() -> None:
    org = new_organization()
    admin = member(org)
    rule_set(organization=org, actor=admin, category="privacy_requests", days=400)
    with tenant_context(org):
        assert {s.policy.category: s.days for s in schedule_list(organization=org)}[
            Category.PRIVACY_REQUESTS
        ] == 400
    (event,) = events(org, Action.RETENTION_RULE_CHANGED)
    assert event.changes == {"category": "privacy_requests", "days": [1095, 400]}
    # back to the policy: the row goes, and that is audited too
    rule_set(organization=org, actor=admin, category="privacy_requests", days=None)
    with tenant_context(org):
        assert not RetentionRule.objects.exists()
    assert len(events(org, Action.RETENTION_RULE_CHANGED)) == 2


@pytest.mark.parametrize(
    ("category", "days", "field"),
    [
        ("privacy_requests", 3 * 365 + 1, "days"),  # longer than the policy
        ("privacy_requests", 0, "days"),
        ("audit_events", 365, "days"),  # kept for the full period by law
        ("billing_records", 30, "days"),
        ("no_such_category", 30, "category"),
    ],
)
def test_lengthening_or_bad_input_is_refused_naming_the_field(
    category: str, days: int, field: str
) -> None:
    org = new_organization()
    rule_set(organization=org, actor=None, category="privacy_requests", days=500)
    with pytest.raises(ValidationError) as refused:
        rule_set(organization=org, actor=None, category=category, days=days)
    assert list(refused.value.message_dict) == [field]
    with tenant_context(org):  # nothing already saved is lost
        assert RetentionRule.objects.get().days == 500


def test_holds_are_placed_listed_released_and_audited() -> None:
    org = new_organization()
    admin = member(org)
    request = stored_request(org)
    with time_machine.travel(NOW, tick=False):
        hold = legal_hold_place(
            organization=org,
            actor=admin,
            scope="request",
            request=request,
            reason="Subpoena 24-1187 naming a student",
            ends_on=date(2027, 1, 1),
        )
        user_hold = legal_hold_place(
            organization=org,
            actor=admin,
            scope="user",
            user=admin,
            reason="HR matter",
            ends_on=date(2026, 7, 1),
        )
        with tenant_context(org):
            assert [h.pk for h in legal_hold_list(organization=org)] == [user_hold.pk, hold.pk]
            assert organization_hold_active(organization=org)
        legal_hold_release(organization=org, actor=admin, hold_id=hold.pk)
        legal_hold_release(organization=org, actor=admin, hold_id=hold.pk)  # no second event
        with tenant_context(org):
            assert organization_hold_active(organization=org)  # the user hold still runs
    # the user hold ends on its end date
    with time_machine.travel(datetime(2026, 7, 2, 17, tzinfo=UTC), tick=False), tenant_context(org):
        assert not organization_hold_active(organization=org)
    placed = events(org, Action.LEGAL_HOLD_PLACED)
    assert [e.changes["scope"] for e in placed] == ["request", "user"]
    assert all("Subpoena" not in str(e.changes) for e in placed)  # the reason stays out
    assert len(events(org, Action.LEGAL_HOLD_RELEASED)) == 1
    with tenant_context(org):
        assert LegalHold.objects.get(pk=hold.pk).reason == "Subpoena 24-1187 naming a student"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"scope": "request"}, "request"),
        ({"scope": "user"}, "user"),
        ({"scope": "category", "category": "nope"}, "category"),
        ({"scope": "organization", "reason": "  "}, "reason"),
        ({"scope": "organization", "ends_on": date(2026, 6, 1)}, "ends_on"),
        ({"scope": "everything"}, "scope"),
    ],
)
def test_a_bad_hold_is_refused_naming_the_field(fields: dict, field: str) -> None:
    org = new_organization()
    values = {"reason": "Litigation", "ends_on": date(2027, 1, 1), **fields}
    with time_machine.travel(NOW, tick=False), pytest.raises(ValidationError) as refused:
        legal_hold_place(organization=org, actor=None, **values)
    assert field in refused.value.message_dict
    with tenant_context(org):
        assert not LegalHold.objects.exists()


def test_a_user_of_another_organization_cannot_be_held_here() -> None:
    org, other = new_organization(), new_organization()
    outsider = member(other)
    with time_machine.travel(NOW, tick=False), pytest.raises(ValidationError) as refused:
        legal_hold_place(
            organization=org,
            actor=None,
            scope="user",
            user=outsider,
            reason="x",
            ends_on=date(2027, 1, 1),
        )
    assert "user" in refused.value.message_dict
    assert User.objects.filter(pk=outsider.pk).exists()


def test_held_days_are_counted_inclusive_of_the_end_date() -> None:
    org = new_organization()
    with time_machine.travel(NOW, tick=False):
        legal_hold_place(
            organization=org, actor=None, scope="organization", reason="x", ends_on=date(2026, 6, 2)
        )
    with time_machine.travel(NOW + timedelta(days=1), tick=False), tenant_context(org):
        assert organization_hold_active(organization=org)
