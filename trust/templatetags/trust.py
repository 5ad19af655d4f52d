"""`trust_datetime`: an ISO 8601 string from the banners' cache entry, as an aware datetime."""

from __future__ import annotations

from datetime import datetime

from django import template

register = template.Library()


@register.filter
def trust_datetime(value: str) -> datetime | str:
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return value
