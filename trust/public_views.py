"""The public trust center (`/trust/`) and status page (`/status/`, `/status.json`).

No sign-in. English or Spanish: `?lang=es` switches (remembered in the language cookie),
otherwise the browser's preference decides. The documents themselves are published in English.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from k12cloud.public_pages import public_render
from trust.documents import diff_lines, render_markdown
from trust.health import availability, daily_availability, incidents
from trust.models import DocumentKind, HealthCheck, Service
from trust.receipts import receipt_public_key_base64, receipt_public_key_pem
from trust.selectors import (
    document_state,
    document_version_get,
    maintenance_ahead,
    maintenance_past,
    previous_version,
)

STALE_AFTER = timedelta(minutes=3)
BAR_DAYS = 90


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return public_render(request, f"trust/public/{template}", context)


def _document(document: str) -> str:
    if document not in DocumentKind.values:
        raise Http404("No such document.")
    return document


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    states = [document_state(kind, now=now) for kind in DocumentKind]
    return _render(request, "index.html", {"states": states})


@require_GET
def document(request: HttpRequest, document: str) -> HttpResponse:
    state = document_state(_document(document), now=timezone.now())
    return _render(
        request,
        "document.html",
        {
            "state": state,
            "current_html": render_markdown(state.current.body) if state.current else "",
        },
    )


@require_GET
def version(request: HttpRequest, document: str, number: int) -> HttpResponse:
    found = document_version_get(_document(document), number)
    if found is None:
        raise Http404("No such version.")
    state = document_state(document, now=timezone.now())
    return _render(
        request,
        "version.html",
        {
            "version": found,
            "state": state,
            "is_current": state.current is not None and state.current.pk == found.pk,
            "is_upcoming": any(v.pk == found.pk for v in state.upcoming),
            "body_html": render_markdown(found.body),
        },
    )


@require_GET
def diff(request: HttpRequest, document: str, number: int) -> HttpResponse:
    found = document_version_get(_document(document), number)
    if found is None:
        raise Http404("No such version.")
    previous = previous_version(found)
    lines = diff_lines(previous.body if previous else "", found.body)
    return _render(
        request,
        "diff.html",
        {
            "version": found,
            "previous": previous,
            "lines": lines,
            "added": sum(1 for line in lines if line.kind == "added"),
            "removed": sum(1 for line in lines if line.kind == "removed"),
        },
    )


@require_GET
def receipt_key(request: HttpRequest) -> HttpResponse:
    return _render(
        request,
        "receipt_key.html",
        {"pem": receipt_public_key_pem(), "raw": receipt_public_key_base64()},
    )


# --- status -----------------------------------------------------------------------------------


def _component_states(latest: HealthCheck | None, now: datetime) -> dict[str, str]:
    """operational / degraded / down / unknown for each public component."""
    if latest is None or now - latest.minute > STALE_AFTER:
        return dict.fromkeys(Service.values, "unknown")
    portal = "operational" if latest.portal_up else "down"
    background = (
        "operational"
        if latest.worker and latest.beat
        else ("degraded" if latest.worker or latest.beat else "down")
    )
    email = "operational" if latest.email and latest.worker else "degraded"
    return {
        Service.WEB: portal,
        Service.API: portal,
        Service.BACKGROUND: background,
        Service.EMAIL: email,
    }


def _status_data(now: datetime) -> dict[str, Any]:
    latest = HealthCheck.objects.order_by("-minute").first()
    states = _component_states(latest, now)
    in_progress = [w for w in maintenance_ahead(now=now) if w.starts_at <= now]
    for window in in_progress:
        for service in window.services:
            states[service] = "maintenance"
    today = now.astimezone(UTC).date()
    return {
        "now": now,
        "latest": latest,
        "states": states,
        "ahead": maintenance_ahead(now=now),
        "past": maintenance_past(now=now),
        "days30": availability(start=now - timedelta(days=30), end=now),
        "days90": availability(start=now - timedelta(days=90), end=now),
        "daily": daily_availability(last_day=today, days=BAR_DAYS),
        "incidents": incidents(start=now - timedelta(days=BAR_DAYS), end=now),
    }


@never_cache
@require_GET
def status(request: HttpRequest) -> HttpResponse:
    data = _status_data(timezone.now())
    labels = dict(Service.choices)
    data["components"] = [(labels[key], key, state) for key, state in data["states"].items()]
    bar_width = 4
    data["bars"] = [
        {"day": day, "x": n * (bar_width + 2), "width": bar_width}
        for n, day in enumerate(data["daily"])
    ]
    data["svg_width"] = BAR_DAYS * (bar_width + 2)
    return _render(request, "status.html", data)


@never_cache
@require_GET
def status_json(request: HttpRequest) -> JsonResponse:
    data = _status_data(timezone.now())

    def window(w: Any) -> dict[str, Any]:
        return {
            "kind": w.kind,
            "starts_at": w.starts_at.isoformat(),
            "ends_at": w.ends_at.isoformat(),
            "services": list(w.services),
            "summary": w.summary,
        }

    body = {
        "generated_at": data["now"].isoformat(),
        "last_check_at": data["latest"].minute.isoformat() if data["latest"] else None,
        "components": data["states"],
        "maintenance_ahead": [window(w) for w in data["ahead"]],
        "maintenance_past": [window(w) for w in data["past"]],
        "incidents": [
            {
                "start": i.start.isoformat(),
                "end": i.end.isoformat(),
                "minutes": i.minutes,
                "during_planned_maintenance": i.during_planned_maintenance,
            }
            for i in data["incidents"]
        ],
        "availability": {
            "commitment_percent": "99.9",
            "last_30_days_percent": data["days30"].percent,
            "last_90_days_percent": data["days90"].percent,
            "last_30_days_failed_minutes": data["days30"].failed_minutes,
            "last_90_days_failed_minutes": data["days90"].failed_minutes,
        },
        "daily": [
            {"date": d.day.isoformat(), "percent": d.percent, "failed_minutes": d.failed_minutes}
            for d in data["daily"]
        ],
    }
    return JsonResponse(body)
