"""Sending a notice in batches through the outbox, each recipient recorded once.

Each batch is one task and one transaction in the organization's tenant context: it picks the
next recipients with no `NoticeDelivery` yet (in id order), writes their delivery rows and
their outbox emails (`email_enqueue`, deduplicated per notice and recipient), commits, and
then enqueues the task of the next batch. A worker killed mid-batch loses the whole batch
(nothing half-written); the task is delivered again (acks late, rejected on worker loss) and
resumes at the first recipient without a delivery. Killed after the commit, the task runs
again too: it simply takes the next batch (two chains may then run for a while; the row lock
on the notice serialises them and both end when nothing is left). The unique constraint on
(notice, recipient) and the outbox's dedupe key make a repeat impossible. When no recipient
is left, the notice is sent and its leg is met at that time. The alert sweep re-enqueues a
notice left sending (a lost task).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Exists, Max, OuterRef, QuerySet
from django.utils import timezone, translation

from accounts.models import Membership, Organization
from incidents.models import (
    Incident,
    IncidentLeg,
    IncidentStatus,
    Notice,
    NoticeDelivery,
    Recipient,
)
from k12cloud.notifications.models import OutboundEmail
from k12cloud.notifications.services import email_enqueue
from k12cloud.tenancy import tenant_context

TEMPLATE = "incidents/email/notice"


def _batch_size() -> int:
    return int(getattr(settings, "INCIDENT_NOTICE_BATCH_SIZE", 500))


def _recipients(notice: Notice) -> QuerySet[Recipient]:
    return Recipient.objects.filter(recipient_list_id__in=notice.recipient_lists)


def _members(organization: Organization, notice: Notice) -> QuerySet[Membership]:
    if not notice.include_members:
        return Membership.objects.none()
    return Membership.objects.for_organization(organization).filter(
        is_active=True, user__is_active=True
    )


def notice_recipient_count(*, organization: Organization, notice: Notice) -> int:
    return _recipients(notice).count() + _members(organization, notice).count()


def _enqueue(
    organization: Organization, notice: Notice, to: str, language: str, key: str
) -> int | None:
    subject = notice.subject_es if language == "es" else notice.subject_en
    body = notice.body_es if language == "es" else notice.body_en
    email = email_enqueue(
        organization=organization,
        to=to,
        template=TEMPLATE,
        subject=subject,
        context={"body": body, "subject": subject},
        target=notice.incident,
        dedupe_key=key,
        language=language,
    )
    if email is None:  # queued by an earlier, committed batch: find it
        return OutboundEmail.objects.filter(dedupe_key=key).values_list("pk", flat=True).first()
    return email.pk


def _last_recipient_delivered(notice: Notice) -> int:
    """The highest recipient id this notice has recorded a delivery for (0: none yet).

    Batches take the undelivered recipients in id order and record every one they took in
    their own transaction, so the delivered ones are always the lowest ids, and the next
    batch starts after this one (a keyset cursor, read from the delivery's unique index).
    Recipient rows are only ever inserted (an upload), so one added during the sending has a
    higher id and is still reached. It replaces a NOT EXISTS anti-join that, planned on
    fresh, unanalyzed rows, took about 21 s per batch of 500 at 10,000 recipients."""
    last = NoticeDelivery.objects.filter(notice=notice, recipient__isnull=False).aggregate(
        last=Max("recipient_id")
    )["last"]
    return int(last or 0)


def notice_send_batch(*, organization: Organization, notice_id: int) -> int:
    """Queue one batch; returns how many recipients it recorded (0: nothing was left)."""
    notice = Notice.objects.for_organization(organization).select_for_update().get(pk=notice_id)
    if notice.status != Notice.Status.SENDING:
        return 0
    size = _batch_size()
    batch = list(
        _recipients(notice).filter(pk__gt=_last_recipient_delivered(notice)).order_by("pk")[:size]
    )
    rows: list[NoticeDelivery] = []
    for recipient in batch:
        email_id = _enqueue(
            organization,
            notice,
            recipient.email,
            recipient.language,
            f"incident-notice:{notice.pk}:r{recipient.pk}",
        )
        rows.append(
            NoticeDelivery(
                organization=organization,
                notice=notice,
                recipient=recipient,
                language=recipient.language,
                email_id=email_id,
            )
        )
    if len(batch) < size:
        member_delivered = NoticeDelivery.objects.filter(notice=notice, member=OuterRef("user_id"))
        members = list(
            _members(organization, notice)
            .filter(~Exists(member_delivered))
            .select_related("user")
            .order_by("user_id")[: size - len(batch)]
        )
        language = translation.get_language() or "en"
        for membership in members:
            email_id = _enqueue(
                organization,
                notice,
                membership.user.email,
                "es" if language.startswith("es") else "en",
                f"incident-notice:{notice.pk}:m{membership.user_id}",
            )
            rows.append(
                NoticeDelivery(
                    organization=organization,
                    notice=notice,
                    member=membership.user,
                    language="en",
                    email_id=email_id,
                )
            )
    NoticeDelivery.objects.bulk_create(rows)
    if rows:
        notice.batches_done += 1
        notice.save(update_fields=["batches_done"])
    else:
        _finish(organization, notice)
    return len(rows)


def _finish(organization: Organization, notice: Notice) -> None:
    from incidents.services import incident_leg_met, incident_legs_recompute

    now = timezone.now()
    notice.status = Notice.Status.SENT
    notice.sent_at = now
    notice.save(update_fields=["status", "sent_at"])
    leg = IncidentLeg.objects.for_organization(organization).get(pk=notice.leg_id)
    incident_leg_met(
        organization=organization, actor=notice.prepared_by, leg=leg, how="notice sent", at=now
    )
    if leg.recipient == "individuals":
        incident = (
            Incident.objects.for_organization(organization)
            .select_for_update()
            .get(pk=notice.incident_id)
        )
        if (
            incident.individuals_notified_at is None
            and incident.status != IncidentStatus.NOT_A_BREACH
        ):
            incident.individuals_notified_at = now
            incident.save(update_fields=["individuals_notified_at", "updated_at"])
            incident_legs_recompute(organization=organization, incident=incident)


def notice_send_one_batch(*, organization_id: int, notice_id: int) -> int:
    """One batch in its own transaction; returns the recipients it recorded (0: done)."""
    organization = Organization.objects.get(pk=organization_id)
    with tenant_context(organization):
        return notice_send_batch(organization=organization, notice_id=notice_id)


def notice_send_batches(*, organization_id: int, notice_id: int) -> int:
    """Every batch in this process, one transaction each (NOTIFICATIONS_DELIVERY=in_process)."""
    total = 0
    while recorded := notice_send_one_batch(organization_id=organization_id, notice_id=notice_id):
        total += recorded
    return total
