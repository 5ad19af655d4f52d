"""`manage.py retention_run`: dry run per category with counts, bad slug, the real run."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Organization
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from retention.models import RetentionRun
from retention.termination import organization_terminate
from retention.tests.seeding import seed_organization

pytestmark = pytest.mark.django_db
TERMINATED_AT = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("retention_run", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def closing() -> Organization:
    with time_machine.travel(TERMINATED_AT, tick=False):
        seeded = seed_organization("closing-usd", requests=3)
        organization_terminate(organization=seeded.organization, actor=None)
    seeded.organization.refresh_from_db()
    return seeded.organization


def test_dry_run_prints_counts_per_category_and_changes_nothing(closing: Organization) -> None:
    with time_machine.travel(TERMINATED_AT + timedelta(days=90), tick=False):
        output = run("--dry-run", "--organization", "closing-usd")
    lines = output.splitlines()
    assert lines[0] == "closing-usd: due (de-identification date 2026-05-31)"
    assert "  rule: terminated customer data: 90 days after termination" in lines
    assert "  privacy_requests: 4 rows" in lines  # 3 requests and 1 message
    assert "  account_records: 4 rows" in lines  # membership, invitation, API key, user
    assert "  notifications: 2 rows" in lines  # the seeded email and the termination notice
    assert lines[-1] == "Dry run: nothing was changed."
    with tenant_context(closing):
        assert not RetentionRun.objects.exists()
        first = PrivacyRequest.objects.order_by("pk").first()
        assert first is not None and first.requester_name


def test_not_yet_due_is_said_with_its_date(closing: Organization) -> None:
    with time_machine.travel(TERMINATED_AT + timedelta(days=10), tick=False):
        output = run("--organization", "closing-usd")
    assert output.splitlines()[0] == "closing-usd: not due (de-identification date 2026-05-31)"
    with tenant_context(closing):
        assert not RetentionRun.objects.exists()


def test_a_bad_slug_exits_2_naming_the_argument() -> None:
    with pytest.raises(CommandError) as refused:
        run("--dry-run", "--organization", "no-such-org")
    assert refused.value.returncode == 2
    assert "--organization" in str(refused.value) and "no-such-org" in str(refused.value)


def test_the_real_run_prints_the_same_and_does_it(closing: Organization) -> None:
    with time_machine.travel(TERMINATED_AT + timedelta(days=90), tick=False):
        dry = run("--dry-run")
        real = run()
        again = run()
    assert real.splitlines()[:-1] == dry.splitlines()[:-1]
    assert real.splitlines()[-1].startswith("  de-identified (run ")
    assert again.splitlines()[0] == "closing-usd: done (de-identification date 2026-05-31)"
    assert "de-identified" not in again
    with tenant_context(closing):
        assert RetentionRun.objects.get().status == RetentionRun.Status.COMPLETED
