"""Each incident service writes exactly one audit event of its action, on the right chain
(listed in audit/tests/test_coverage.py's NOT_COVERED_HERE with a pointer here)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from audit.actions import Action
from audit.models import AuditEvent
from incidents import rules
from incidents.alerts import incident_legs_sweep
from incidents.models import BreachRule, Incident, IncidentLeg, LawEnforcementDelay, Notice
from incidents.services import (
    incident_acknowledge,
    incident_delay_record,
    incident_leg_met,
    incident_notify_districts,
    incident_regimes_confirm,
    notice_prepare,
    notice_send,
    recipients_upload,
    regulator_submission_record,
)
from incidents.tests.factories import scene
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("breach_rules")]

NOW = datetime(2026, 10, 30, 21, 0, tzinfo=UTC)


def events(action: Action) -> list[AuditEvent]:
    with unscoped_all_tenants(reason="test counts audit events"):
        return list(AuditEvent.objects.filter(action=action.value))


def once(action: Action, act: Callable[[], object], organization_id: int | None) -> None:
    before = len(events(action))
    act()
    after = events(action)
    assert len(after) - before == 1, f"{action}: {len(after) - before} events"
    assert after[-1].organization_id == organization_id


def test_every_incident_action_writes_one_event() -> None:
    s = scene()
    with time_machine.travel(NOW, tick=False):
        before = len(events(Action.INCIDENT_RECORDED))
        incident = s.vendor_breach(NOW - timedelta(days=1))  # recorded, then confirmed
        assert len(events(Action.INCIDENT_RECORDED)) - before == 1
        assert events(Action.INCIDENT_STATUS_CHANGED)[-1].organization_id == s.vendor.pk
        with tenant_context(s.vendor):
            once(
                Action.INCIDENT_NOTICE_SENT_TO_DISTRICT,
                lambda: incident_notify_districts(
                    organization=s.vendor,
                    actor=s.vendor_officer,
                    incident=incident,
                    districts=[s.hudson],
                ),
                s.vendor.pk,
            )
        with tenant_context(s.hudson):
            received = Incident.objects.get()
            once(
                Action.INCIDENT_ACKNOWLEDGED,
                lambda: incident_acknowledge(
                    organization=s.hudson, actor=s.hudson_admin, incident=received
                ),
                s.hudson.pk,
            )
            once(
                Action.INCIDENT_REGIMES_CONFIRMED,
                lambda: incident_regimes_confirm(
                    organization=s.hudson,
                    actor=s.hudson_admin,
                    incident=received,
                    regimes=["ny-edlaw-2d"],
                ),
                s.hudson.pk,
            )
            once(
                Action.INCIDENT_DELAY_RECORDED,
                lambda: incident_delay_record(
                    organization=s.hudson,
                    actor=s.hudson_admin,
                    incident=received,
                    agency="State police",
                    requested_by="Det. Rivera",
                    requested_at=NOW,
                ),
                s.hudson.pk,
            )
            delay = LawEnforcementDelay.objects.get()
            assert IncidentLeg.objects.get(leg="agency-to-individuals").status == "suspended"
            incident_delay_record(
                organization=s.hudson,
                actor=s.hudson_admin,
                incident=received,
                agency="",
                requested_by="",
                requested_at=NOW,
                risk_ended_on=date(2026, 11, 20),
                delay=delay,
            )
            families = IncidentLeg.objects.get(leg="agency-to-individuals")
            assert families.due_at == datetime(2026, 11, 28, 4, 59, 59, tzinfo=UTC)  # 27 Nov EST
            once(
                Action.INCIDENT_RECIPIENTS_UPLOADED,
                lambda: recipients_upload(
                    organization=s.hudson,
                    actor=s.hudson_admin,
                    incident=received,
                    kind="staff",
                    file_name="staff.csv",
                    content=b"Ana,ana@example.org,es\n",
                ),
                s.hudson.pk,
            )
            once(
                Action.INCIDENT_NOTICE_PREPARED,
                lambda: notice_prepare(
                    organization=s.hudson,
                    actor=s.hudson_admin,
                    leg=families,
                    subject_en="s",
                    body_en="b",
                    subject_es="s",
                    body_es="b",
                    recipient_lists=[],
                    include_members=True,
                ),
                s.hudson.pk,
            )
            notice = Notice.objects.get()
            once(
                Action.INCIDENT_NOTICE_SENDING,
                lambda: notice_send(organization=s.hudson, actor=s.hudson_admin, notice=notice),
                s.hudson.pk,
            )
            cpo = IncidentLeg.objects.get(leg="agency-to-cpo")
            once(
                Action.INCIDENT_SUBMISSION_RECORDED,
                lambda: regulator_submission_record(
                    organization=s.hudson, actor=s.hudson_admin, leg=cpo, confirmation="NYSED-1"
                ),
                s.hudson.pk,
            )
            assert IncidentLeg.objects.get(pk=cpo.pk).met_at == NOW
            once(
                Action.INCIDENT_LEG_MET,
                lambda: incident_leg_met(
                    organization=s.hudson, actor=s.hudson_admin, leg=families, how="by post"
                ),
                s.hudson.pk,
            )
    rule = BreachRule.objects.get(regime="gdpr", leg="controller-to-authority")
    rule.notes = "checked"
    once(Action.BREACH_RULE_SAVED, lambda: rules.breach_rule_save(actor=None, rule=rule), None)
    assert BreachRule.objects.get(pk=rule.pk).version == 2


def test_the_sweep_reminds_once_per_stage_and_escalates_once() -> None:
    s = scene()
    with time_machine.travel(NOW, tick=False):
        incident = s.vendor_breach(NOW - timedelta(days=1))
        with tenant_context(s.vendor):
            incident_notify_districts(
                organization=s.vendor,
                actor=s.vendor_officer,
                incident=incident,
                districts=[s.hudson],
            )
    from k12cloud.notifications.models import Notification

    with tenant_context(s.hudson):
        cpo = IncidentLeg.objects.get(leg="agency-to-cpo")  # due 9 Nov 23:59:59 EST
        assert cpo.due_at is not None
        # 8 days before: nothing; 6 days before: the 7-day reminder, once
        assert (
            incident_legs_sweep(organization=s.hudson, now=cpo.due_at - timedelta(days=8)).reminded
            == 0
        )
        assert (
            incident_legs_sweep(organization=s.hudson, now=cpo.due_at - timedelta(days=6)).reminded
            == 1
        )
        assert (
            incident_legs_sweep(organization=s.hudson, now=cpo.due_at - timedelta(days=6)).reminded
            == 0
        )
        assert (
            incident_legs_sweep(
                organization=s.hudson, now=cpo.due_at - timedelta(hours=20)
            ).reminded
            == 1
        )
        before = len(events(Action.INCIDENT_LEG_ESCALATED))
        late = cpo.due_at + timedelta(minutes=1)
        assert incident_legs_sweep(organization=s.hudson, now=late).escalated == 1
        assert incident_legs_sweep(organization=s.hudson, now=late).escalated == 0
        assert len(events(Action.INCIDENT_LEG_ESCALATED)) - before == 1
        kinds = list(
            Notification.objects.filter(recipient=s.hudson_admin).values_list("kind", flat=True)
        )
        assert kinds.count("incident_leg_overdue") == 1
        assert kinds.count("incident_received") == 1
