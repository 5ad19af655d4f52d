"""`{% request_vendor_tasks organization privacy_request as tasks %}`: the request page's vendor
panel (one query), without the request views having to know about vendors."""

from __future__ import annotations

from typing import Any

from django import template

from vendors.selectors import request_vendor_tasks as select_tasks

register = template.Library()


@register.simple_tag
def request_vendor_tasks(organization: Any, privacy_request: Any) -> list[Any]:
    return select_tasks(organization=organization, privacy_request=privacy_request)
