"""The organization's audit log in the portal: a filtered, paged list and streamed exports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponseBase, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from accounts.api_keys import api_key_list
from accounts.models import Organization
from accounts.permissions import Permission
from accounts.selectors import membership_list
from audit.actions import Action
from audit.forms import AuditExportForm, AuditFilterForm, actor_choices
from audit.labels import action_label, changes_summary, target_type_label
from audit.models import AuditEvent
from audit.selectors import AuditFilter, Cursor, audit_event_list, audit_event_page
from audit.services import record
from k12cloud.portal import OrganizationView
from k12cloud.tenancy import tenant_context

FILTER_FIELDS = ("actor", "action", "target_type", "target_id", "date_from", "date_to")
# rows fetched from the server-side cursor at a time, and written out per chunk of the body
EXPORT_CHUNK_SIZE = 2000


class AuditFormMixin(OrganizationView):
    def filter_form_kwargs(self) -> dict[str, Any]:
        memberships = list(membership_list(organization=self.organization))
        keys = list(api_key_list(organization=self.organization))
        return {
            "actors": actor_choices(memberships, keys),
            "time_zone": self.organization.time_zone,
        }


class AuditEventListView(AuditFormMixin, TemplateView):
    permission = Permission.AUDIT_VIEW
    template_name = "audit/event_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        filtering = any(params.get(name) for name in FILTER_FIELDS)
        form = AuditFilterForm(params if filtering else None, **self.filter_form_kwargs())
        context["form"] = form
        context["filtering"] = filtering
        if filtering and not form.is_valid():
            context["events"] = []
            return context
        filters = form.to_filter() if filtering else AuditFilter()
        page = audit_event_page(
            organization=self.organization,
            filters=filters,
            older_than=Cursor.decode(params["older"]) if params.get("older") else None,
            newer_than=Cursor.decode(params["newer"]) if params.get("newer") else None,
        )
        filter_values = form.filter_values() if filtering else []
        context["events"] = [_row(event) for event in page.events]
        context["filter_values"] = filter_values
        context["newer_query"] = _query(filter_values, "newer", page.newer)
        context["older_query"] = _query(filter_values, "older", page.older)
        return context


def _query(filter_values: list[tuple[str, str]], direction: str, cursor: Cursor | None) -> str:
    if cursor is None:
        return ""
    query = QueryDict(mutable=True)
    for name, value in filter_values:
        query[name] = value
    query[direction] = cursor.encode()
    return query.urlencode()


def _row(event: AuditEvent) -> dict[str, Any]:
    return {
        "event": event,
        "action_label": action_label(event.action),
        "target_label": target_type_label(event.target_type) if event.target_type else "",
        "changes": changes_summary(event.changes),
    }


class AuditExportView(AuditFormMixin):
    """POST: the filtered events as a CSV or JSON download, streamed.

    A POST, not a link: an export is an audited act, and must not happen by a prefetch.
    """

    permission = Permission.AUDIT_VIEW

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        form = AuditExportForm(request.POST, **self.filter_form_kwargs())
        if not form.is_valid():
            # the list page shows the filters' field errors; a bad format only comes from a
            # tampered form
            if "format" in form.errors:
                messages.error(request, _("Choose CSV or JSON for the export."))
            query = QueryDict(mutable=True)
            for name in FILTER_FIELDS:
                if request.POST.get(name):
                    query[name] = request.POST[name]
            url = reverse("accounts:audit_event_list", kwargs={"org_slug": self.organization.slug})
            return redirect(f"{url}?{query.urlencode()}" if query else url)
        filters = form.to_filter()
        export_format = form.cleaned_data["format"]
        # in the request's transaction, before a byte of the body: no export goes unrecorded
        record(
            Action.AUDIT_EXPORTED,
            organization=self.organization,
            changes={"format": export_format, "filters": filters.summary()},
        )
        body = export_body(self.organization, filters, export_format)
        content_type = "text/csv; charset=utf-8" if export_format == "csv" else "application/json"
        response = StreamingHttpResponse(body, content_type=content_type)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        filename = f"audit-{self.organization.slug}-{stamp}.{export_format}"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response


# --- export bodies ----------------------------------------------------------------------------

CSV_COLUMNS = (
    "id",
    "occurred_at",
    "action",
    "actor_kind",
    "actor_user_id",
    "actor_email",
    "actor_name",
    "actor_api_key_id",
    "actor_api_key_prefix",
    "actor_label",
    "ip_address",
    "user_agent",
    "target_type",
    "target_id",
    "changes",
    "request_id",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_record(event: AuditEvent) -> dict[str, Any]:
    """One event as exported: times in UTC (ISO 8601), the actor resolved as on the page."""
    return {
        "id": event.pk,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
        "action": event.action,
        "actor_kind": event.actor_kind,
        "actor_user_id": event.actor_user_id,
        "actor_email": event.actor_email,  # type: ignore[attr-defined]
        "actor_name": event.actor_full_name,  # type: ignore[attr-defined]
        "actor_api_key_id": event.actor_api_key_id,
        "actor_api_key_prefix": event.actor_api_key_prefix,  # type: ignore[attr-defined]
        "actor_label": event.actor_label,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "changes": event.changes,
        "request_id": event.request_id,
    }


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: no formula injection (OWASP's leading quote)."""
    if value is None:
        return ""
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _events(organization: Organization, filters: AuditFilter) -> Iterator[AuditEvent]:
    # The request's transaction and tenant context ended when the view returned; the body is
    # produced afterwards, so it opens its own (one transaction: the server-side cursor of
    # .iterator() needs it, and the export reads one consistent snapshot).
    with tenant_context(organization):
        events = audit_event_list(organization=organization, filters=filters)
        yield from events.iterator(chunk_size=EXPORT_CHUNK_SIZE)


def _batched(events: Iterable[AuditEvent], size: int) -> Iterator[list[AuditEvent]]:
    batch: list[AuditEvent] = []
    for event in events:
        batch.append(event)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def export_body(
    organization: Organization, filters: AuditFilter, export_format: str
) -> Iterator[str]:
    """The export, one chunk of the body per EXPORT_CHUNK_SIZE events: memory stays flat."""
    batches = _batched(_events(organization, filters), EXPORT_CHUNK_SIZE)
    if export_format == "csv":
        return _csv_body(batches)
    return _json_body(batches)


def _csv_body(batches: Iterable[list[AuditEvent]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        for event in batch:
            row = export_record(event)
            writer.writerow([csv_cell(row[column]) for column in CSV_COLUMNS])
        yield buffer.getvalue()


def _json_body(batches: Iterable[list[AuditEvent]]) -> Iterator[str]:
    """A JSON array, one event per line, written as it is read."""
    yield "["
    separator = "\n"
    for batch in batches:
        parts = []
        for event in batch:
            parts.append(separator + json.dumps(export_record(event), sort_keys=True))
            separator = ",\n"
        yield "".join(parts)
    yield "\n]\n"
