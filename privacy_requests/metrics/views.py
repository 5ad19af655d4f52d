"""The privacy metrics page (with its chart and data table) and its CSV export.

The export is a GET without an audit event, unlike the request register's: it holds counts
and durations only, no personal data.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.generic import TemplateView

from accounts.permissions import Permission
from k12cloud.portal import OrganizationView
from privacy_requests.forms import REQUEST_TYPE_LABELS
from privacy_requests.metrics.selectors import (
    MetricsRow,
    PrivacyMetrics,
    metrics_csv_rows,
    privacy_metrics,
)

# The chart's geometry (an inline SVG: no script, no inline style, so the CSP holds).
_LABEL_WIDTH = 240
_BAR_AREA = 380
_BAR_HEIGHT = 14
_GROUP_GAP = 18
_SERIES = ("received", "complied", "denied")


@dataclass(frozen=True)
class Bar:
    series: str
    value: int
    x: int
    y: int
    width: int
    label_x: int


@dataclass(frozen=True)
class BarGroup:
    label: str
    y: int  # the baseline of the group's label
    bars: list[Bar]


def type_label(request_type: str) -> str:
    return str(REQUEST_TYPE_LABELS.get(request_type, request_type))


def chart_groups(metrics: PrivacyMetrics) -> tuple[list[BarGroup], int]:
    """Bars of the chart (received, complied in whole or part, denied per request type) and
    the SVG's height."""
    groups = []
    y = 10
    for row in metrics.rows:
        bars = []
        for index, series in enumerate(_SERIES):
            value = getattr(row, series)
            width = round(_BAR_AREA * value / metrics.largest)
            top = y + index * (_BAR_HEIGHT + 2)
            bars.append(Bar(series, value, _LABEL_WIDTH, top, width, _LABEL_WIDTH + width + 6))
        groups.append(BarGroup(type_label(row.request_type), y + _BAR_HEIGHT - 2, bars))
        y += len(_SERIES) * (_BAR_HEIGHT + 2) + _GROUP_GAP
    return groups, y


class PrivacyMetricsView(OrganizationView, TemplateView):
    permission = Permission.METRICS_VIEW
    template_name = "privacy_requests/metrics/metrics.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        metrics = privacy_metrics(organization=self.organization)
        groups, height = chart_groups(metrics)
        rows: list[tuple[str, MetricsRow]] = [
            (type_label(row.request_type), row) for row in metrics.rows
        ]
        context.update(
            metrics=metrics,
            rows=rows,
            chart_groups=groups,
            chart_height=height,
            chart_width=_LABEL_WIDTH + _BAR_AREA + 60,
        )
        return context


class PrivacyMetricsExportView(OrganizationView):
    permission = Permission.METRICS_VIEW

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        metrics = privacy_metrics(organization=self.organization)
        buffer = io.StringIO()
        csv.writer(buffer).writerows(metrics_csv_rows(metrics))
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        filename = f"privacy-metrics-{self.organization.slug}-{metrics.last_day.isoformat()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
