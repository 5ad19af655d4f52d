"""Notices to families and staff: uploaded lists, English and Spanish, batches through the
outbox with each recipient recorded once, and the leg met when sending completes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.test import override_settings

from incidents.models import Incident, IncidentLeg, Notice, NoticeDelivery
from incidents.services import (
    IncidentActionRefused,
    incident_notify_districts,
    notice_prepare,
    notice_send,
    recipients_upload,
)
from incidents.tests.factories import Scene, scene
from k12cloud.notifications.models import OutboundEmail
from k12cloud.tenancy import tenant_context

pytestmark = pytest.mark.usefixtures("breach_rules")

DISCOVERED = datetime(2026, 10, 28, 14, 0, tzinfo=UTC)
SENT = datetime(2026, 10, 30, 21, 0, tzinfo=UTC)


def hudson_incident(s: Scene) -> Incident:
    with time_machine.travel(SENT, tick=False):
        incident = s.vendor_breach(DISCOVERED)
        with tenant_context(s.vendor):
            incident_notify_districts(
                organization=s.vendor,
                actor=s.vendor_officer,
                incident=incident,
                districts=[s.hudson],
            )
    with tenant_context(s.hudson):
        return Incident.objects.for_organization(s.hudson).get()


def family_csv(count: int, *, header: bool = True) -> bytes:
    lines = ["name,email,language"] if header else []
    lines += [
        f"Family {n},family{n}@example.org,{'es' if n % 3 == 0 else 'en'}" for n in range(count)
    ]
    return ("\n".join(lines) + "\n").encode()


def families_leg(s: Scene, incident: Incident) -> IncidentLeg:
    return IncidentLeg.objects.for_organization(s.hudson).get(
        incident=incident, leg="agency-to-individuals"
    )


@pytest.mark.django_db
def test_a_notice_goes_to_each_recipient_once_in_their_language_and_meets_the_leg(
    django_capture_on_commit_callbacks: Any,
) -> None:
    s = scene()
    incident = hudson_incident(s)
    with tenant_context(s.hudson):
        csv = family_csv(7) + b"Family 0 again,FAMILY0@example.org,en\n"  # a repeat, kept once
        families = recipients_upload(
            organization=s.hudson,
            actor=s.hudson_admin,
            incident=incident,
            kind="families",
            file_name="families.csv",
            content=csv,
        )
        assert families.row_count == 7
        notice = notice_prepare(
            organization=s.hudson,
            actor=s.hudson_admin,
            leg=families_leg(s, incident),
            subject_en="Notice of a security incident",
            body_en="What happened: ...",
            subject_es="Aviso de un incidente de seguridad",
            body_es="Qué sucedió: ...",
            recipient_lists=[families],
            include_members=True,
        )
    with (
        override_settings(INCIDENT_NOTICE_BATCH_SIZE=3),
        time_machine.travel(datetime(2026, 11, 2, 15, 0, tzinfo=UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
        tenant_context(s.hudson),
    ):
        notice_send(organization=s.hudson, actor=s.hudson_admin, notice=notice)

    with tenant_context(s.hudson):
        notice.refresh_from_db()
        assert notice.status == Notice.Status.SENT
        assert notice.total == 8  # 7 families and Hudson's one member
        assert notice.batches_done == 3  # 3 + 3 + (1 family and 1 member)
        deliveries = list(NoticeDelivery.objects.filter(notice=notice))
        assert len(deliveries) == 8
        assert len({d.recipient_id for d in deliveries if d.recipient_id}) == 7
        emails = {
            e.to: e for e in OutboundEmail.objects.filter(pk__in=[d.email_id for d in deliveries])
        }
        assert emails["family3@example.org"].subject == "Aviso de un incidente de seguridad"
        assert "Qué sucedió" in emails["family3@example.org"].body_text
        assert emails["family1@example.org"].subject == "Notice of a security incident"
        assert {e.status for e in emails.values()} == {OutboundEmail.Status.SENT}
        leg = families_leg(s, incident)
        assert leg.met_at == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
        assert leg.met_how == "notice sent"
        incident.refresh_from_db()
        assert incident.individuals_notified_at == leg.met_at
        # sending again is refused: nobody gets it twice
        with pytest.raises(IncidentActionRefused):
            notice_send(organization=s.hudson, actor=s.hudson_admin, notice=notice)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"name,email,language\nAna,not-an-address,es\n", "Line 2: not an email address."),
        (b"Ana,ana@example.org,fr\n", "Line 1: language must be en or es."),
        (b"name,email,language\n", "The file holds no recipients."),
        (b"\xff\xfe", "The file is not UTF-8 text."),
    ],
)
def test_a_bad_list_is_refused_whole_naming_the_line(content: bytes, named: str) -> None:
    s = scene()
    incident = hudson_incident(s)
    with tenant_context(s.hudson):
        with pytest.raises(IncidentActionRefused) as refused:
            recipients_upload(
                organization=s.hudson,
                actor=s.hudson_admin,
                incident=incident,
                kind="families",
                file_name="f.csv",
                content=content,
            )
        assert refused.value.message_dict == {"file": [named]}
        from incidents.models import Recipient

        assert not Recipient.objects.exists()
