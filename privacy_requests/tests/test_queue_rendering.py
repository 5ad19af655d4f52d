"""The queue's rows, written in Python (privacy_requests.queue.rendering), are the HTML the
template wrote: character for character, for every kind of row, role and language."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.template import engines
from django.utils import translation

from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from privacy_requests.queue.rendering import queue_rows_html
from privacy_requests.queue.selectors import QUEUE_COLUMNS, queue_rows, request_queue_page
from privacy_requests.services import request_assign, request_receive
from privacy_requests.visibility import request_access

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

NOW = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)  # Wednesday 10:00 in Los Angeles
TODAY = date(2026, 3, 4)

# queue.html's row loop as it was before the rows were written in Python (the reference)
TEMPLATE_ROWS = """{% load i18n %}{% for row in rows %}{% with r=row.request b=row.badge %}
    <tr>
      {% if selectable %}<td><input type="checkbox" name="requests" value="{{ row.id }}" id="select-{{ row.id }}"><label for="select-{{ row.id }}" class="visually-hidden">{{ row.select_label }}</label><input type="hidden" name="page_requests" value="{{ row.id }}"></td>{% endif %}
      <td><a href="{{ row.url }}">{{ r.reference }}</a></td>
      <td>{{ row.type_label }}</td>
      <td>{{ row.status_label }}{% if r.deadline_snapshot_stale_since and not r.closed_at %} <span class="badge badge-soon">{% translate "dates to review" %}</span>{% endif %}</td>
      {% if access.can.contact %}<td>{{ row.requester_name }}</td>{% endif %}
      <td>{% if r.assignee %}{{ r.assignee.full_name|default:r.assignee.email }}{% else %}<span class="hint">{% translate "Unassigned" %}</span>{% endif %}</td>
      <td>{% if b.kind == "none" %}<span class="hint">{% translate "None" %}</span>{% else %}
        <time datetime="{{ row.due_on }}">{{ row.due_on }}</time>
        <span class="badge badge-{{ b.kind }}">{{ row.badge_text }}</span>
      {% endif %}</td>
    </tr>
    {% endwith %}{% endfor %}"""  # noqa: E501


@pytest.fixture(autouse=True)
def pinned_time() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def org() -> Organization:
    org = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    admin = member(org, Role.ORG_ADMIN, email="ada@lincoln.example", full_name="Ada <Admin>")
    nameless = member(org, Role.PRIVACY_STAFF, email="o'brien&co@lincoln.example", full_name="")
    names = ['Lena "Late" <b>', "Fred & Fresh", "Núñez Ñandú", "Pat", "Quinn", "Rae", "Sol"]
    with tenant_context(org):
        made = [
            request_receive(
                organization=org,
                request_type=("access", "delete", "correct")[index % 3],
                channel=PrivacyRequest.Channel.WEB,
                relationship=PrivacyRequest.Relationship.PARENT,
                requester_name=name,
                requester_email=f"p{index}@example.org",
                received_at=NOW - timedelta(days=index * 9),
            )
            for index, name in enumerate(names)
        ]
        request_assign(request=made[0], assignee=admin, actor=admin)
        request_assign(request=made[1], assignee=nameless, actor=admin)
        rows = PrivacyRequest.objects.filter(organization=org)
        # every kind of badge: none, overdue, today, soon, later
        rows.filter(pk=made[2].pk).update(next_due_on=None)
        rows.filter(pk=made[3].pk).update(next_due_on=TODAY)
        rows.filter(pk=made[4].pk).update(next_due_on=TODAY + timedelta(days=1))
        rows.filter(pk=made[5].pk).update(next_due_on=TODAY - timedelta(days=10))
        # dates to review, on an open request and on a closed one (no badge there)
        rows.filter(pk__in=[made[0].pk, made[6].pk]).update(deadline_snapshot_stale_since=NOW)
        rows.filter(pk=made[6].pk).update(closed_at=NOW, status="withdrawn")
    return org


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("role", [Role.ORG_ADMIN, Role.VIEWER])
@pytest.mark.parametrize("selectable", [True, False])
def test_rows_are_the_templates_html(
    org: Organization, language: str, role: Role, selectable: bool
) -> None:
    access = request_access(role)
    with translation.override(language), tenant_context(org):
        page = request_queue_page(
            organization=org, today=TODAY, columns=QUEUE_COLUMNS, filters=None, size=50
        )
        # closed requests too: the open queue would leave out the closed one
        closed = list(
            PrivacyRequest.objects.filter(organization=org, closed_at__isnull=False)
            .select_related("assignee")
            .only(*QUEUE_COLUMNS)
        )
        rows = queue_rows(
            organization=org, requests=[*page.requests, *closed], today=TODAY, access=access
        )
        context = {"rows": rows, "selectable": selectable, "access": access}
        expected = engines["django"].from_string(TEMPLATE_ROWS).render(context)
        written = queue_rows_html(rows, selectable=selectable, contact=bool(access.can["contact"]))
    assert len(rows) == 7
    assert written == expected
    assert "badge-none" not in written and written.count('<span class="hint">') >= 2
    for kind in ("overdue", "today", "soon", "later"):
        assert f"badge-{kind}" in written
    assert ("Lena &quot;Late&quot; &lt;b&gt;" in written) == bool(access.can["contact"])
    assert "o&#x27;brien&amp;co@lincoln.example" in written and "Ada &lt;Admin&gt;" in written
