"""{% money cents currency %}: an amount in a currency's smallest unit, shown as 1,234.50 USD."""

from __future__ import annotations

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.simple_tag
def money(cents: int | None, currency: str = "usd") -> str:
    value = (cents or 0) / 100
    return f"{number_format(value, decimal_pos=2, force_grouping=True)} {currency.upper()}"
