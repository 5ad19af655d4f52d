"""Document versions: the 30-day rule in UTC calendar days, immutability, public pages."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import unscoped_all_tenants
from trust.documents import diff_lines, render_markdown
from trust.models import DocumentKind, DocumentVersion
from trust.services import (
    TrustActionRefused,
    document_version_publish,
    document_version_save,
)
from trust.tests.factories import DPA_V1, DPA_V2, draft, published

pytestmark = pytest.mark.django_db

# 23:30 UTC on March 1st: already March 2nd in Auckland, still March 1st in Los Angeles
NOW = datetime(2027, 3, 1, 23, 30, tzinfo=UTC)


def test_a_material_version_effective_in_29_days_is_refused_with_the_earliest_date() -> None:
    with time_machine.travel(NOW, tick=False):
        version = draft(material=True, effective_on=date(2027, 3, 30), summary="Shorter deletion")
        with pytest.raises(TrustActionRefused) as refused:
            document_version_publish(version_id=version.pk)
    assert refused.value.message_dict["effective_on"] == [
        "A material change needs at least 30 days' notice: the earliest allowed effective date "
        "is 2027-03-31 (UTC calendar days)."
    ]
    version.refresh_from_db()
    assert version.published_at is None and version.number is None


def test_a_material_version_effective_in_30_days_is_published() -> None:
    with time_machine.travel(NOW, tick=False):
        version = draft(material=True, effective_on=date(2027, 3, 31), summary="Shorter deletion")
        published_version, now = document_version_publish(version_id=version.pk)
    assert now is True
    assert published_version.number == 1
    assert published_version.published_at == NOW
    assert published_version.content_hash == published_version.compute_hash()


def test_the_thirty_days_are_utc_calendar_days_not_24_hour_periods() -> None:
    # 00:30 UTC on March 2nd is still March 1st in Los Angeles: the UTC date decides
    with time_machine.travel(datetime(2027, 3, 2, 0, 30, tzinfo=UTC), tick=False):
        version = draft(material=True, effective_on=date(2027, 3, 31), summary="x")
        with pytest.raises(TrustActionRefused, match="2027-04-01"):
            document_version_publish(version_id=version.pk)


def test_a_minor_version_may_take_effect_today_but_not_in_the_past() -> None:
    with time_machine.travel(NOW, tick=False):
        assert (
            document_version_publish(version_id=draft(effective_on=date(2027, 3, 1)).pk)[0].number
            == 1
        )
        with pytest.raises(TrustActionRefused, match="cannot be in the past"):
            document_version_publish(version_id=draft(effective_on=date(2027, 2, 28)).pk)


def test_a_subprocessor_change_is_always_material() -> None:
    with time_machine.travel(NOW, tick=False):
        version = draft(
            DocumentKind.SUBPROCESSORS,
            body="| Name |\n|---|\n| Mailer |",
            material=False,
            effective_on=date(2027, 3, 10),
            summary="Adds Mailer",
        )
        with pytest.raises(TrustActionRefused, match="30 days"):
            document_version_publish(version_id=version.pk)


def test_publishing_is_audited_once_even_when_retried() -> None:
    with time_machine.travel(NOW, tick=False):
        version = draft(effective_on=date(2027, 3, 5))
        first = document_version_publish(version_id=version.pk)
        second = document_version_publish(version_id=version.pk)
    assert first[1] is True and second[1] is False
    assert first[0].number == second[0].number == 1
    with unscoped_all_tenants(reason="test"):
        events = list(AuditEvent.objects.filter(action=Action.TRUST_DOCUMENT_PUBLISHED))
    assert len(events) == 1
    assert events[0].organization_id is None
    assert events[0].changes["content_hash"] == first[0].content_hash


def test_versions_are_numbered_per_document() -> None:
    with time_machine.travel(NOW, tick=False):
        a = published(effective_on=date(2027, 3, 2))
        b = published(DocumentKind.PRIVACY, effective_on=date(2027, 3, 2))
        c = published(body=DPA_V2, effective_on=date(2027, 3, 3))
    assert (a.number, b.number, c.number) == (1, 1, 2)


def test_a_published_version_cannot_be_saved_by_the_service() -> None:
    version = published(effective_on=date.today())
    version.body = "changed"
    with pytest.raises(TrustActionRefused, match="cannot be changed, only superseded"):
        document_version_save(version=version)


def test_the_database_refuses_to_change_or_delete_a_superseded_version() -> None:
    with time_machine.travel(NOW, tick=False):
        old = published(effective_on=date(2027, 3, 1))
        published(body=DPA_V2, effective_on=date(2027, 3, 2))
    with pytest.raises(IntegrityError, match="cannot be changed"), transaction.atomic():
        DocumentVersion.objects.filter(pk=old.pk).update(body="rewritten history")
    with pytest.raises(IntegrityError, match="cannot be changed"), transaction.atomic():
        DocumentVersion.objects.filter(pk=old.pk).update(effective_on=date(2027, 3, 9))
    with pytest.raises(IntegrityError, match="cannot be deleted"), transaction.atomic():
        DocumentVersion.objects.filter(pk=old.pk).delete()
    # the notice bookkeeping may still be written
    DocumentVersion.objects.filter(pk=old.pk).update(notices_sent_at=NOW)
    old.refresh_from_db()
    assert old.body == DPA_V1


def test_a_draft_can_be_edited_and_deleted() -> None:
    version = draft()
    version.body = "edited"
    document_version_save(version=version)
    version.refresh_from_db()
    assert version.body == "edited"
    version.delete()


def test_markdown_is_rendered_without_raw_html_or_script_links() -> None:
    html = render_markdown(
        "# Title\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1)) "
        "<img src=x onerror=alert(1)>\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    )
    assert "<h1>Title</h1>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert "<img" not in html
    assert "<table>" in html


def test_diff_marks_added_and_removed_lines() -> None:
    lines = diff_lines(DPA_V1, DPA_V2)
    removed = [line.text for line in lines if line.kind == "removed"]
    added = [line.text for line in lines if line.kind == "added"]
    assert "3. Data is deleted within 60 days of termination." in removed
    assert "3. Data is deleted within 30 days of termination." in added
    assert "4. Breaches are notified within 72 hours." in added


def test_public_pages_show_current_upcoming_diff_and_every_past_version(
    django_assert_num_queries,
) -> None:
    with time_machine.travel(NOW, tick=False):
        published(effective_on=date(2027, 3, 1))
        published(
            body=DPA_V2, material=True, effective_on=date(2027, 4, 5), summary="Deletion in 30 days"
        )
        client = Client()
        # every request: a savepoint with the tenant settings, their reset, the release (3)
        with django_assert_num_queries(3 + 1):
            page = client.get(reverse("trust:document", kwargs={"document": "dpa"}))
        text = page.content.decode()
        assert page.status_code == 200
        assert "within 60 days" in text  # the current version's body
        assert "Deletion in 30 days" in text and "2027-04-05" in text  # upcoming and summary
        with django_assert_num_queries(3 + 2):  # the version and its predecessor
            diff = client.get(reverse("trust:diff", kwargs={"document": "dpa", "number": 2}))
        assert '<del><span class="diff-mark">removed:</span> 3. Data is deleted within 60' in (
            diff.content.decode()
        )
        old = client.get(reverse("trust:version", kwargs={"document": "dpa", "number": 1}))
        assert old.status_code == 200 and "superseded" not in old.content.decode()
        with django_assert_num_queries(3 + 4):  # one per document
            index = client.get(reverse("trust:index"))
        assert index.status_code == 200
    # once version 2 is in effect, version 1 stays at its address, marked superseded
    with time_machine.travel(datetime(2027, 4, 6, tzinfo=UTC), tick=False):
        old = Client().get(reverse("trust:version", kwargs={"document": "dpa", "number": 1}))
        assert old.status_code == 200 and "(superseded)" in old.content.decode()
    assert Client().get("/trust/dpa/v9/").status_code == 404
    assert Client().get("/trust/nothing/").status_code == 404


def test_public_pages_in_spanish() -> None:
    published(effective_on=date.today())
    page = Client().get(reverse("trust:document", kwargs={"document": "dpa"}) + "?lang=es")
    assert page.status_code == 200
    assert 'lang="es"' in page.content.decode()
    assert "Todas las versiones" in page.content.decode()
    status = Client().get(reverse("trust:status") + "?lang=es")
    assert "Estado del servicio" in status.content.decode()
