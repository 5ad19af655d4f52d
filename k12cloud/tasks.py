"""Celery tasks that act for one organization.

    @tenant_task(name="privacy_requests.send_reminder")
    def send_reminder(organization_id: int, request_id: int) -> None:
        privacy_request_remind(...)  # runs inside tenant_context(organization_id)

Tasks take ids (JSON only), never model instances. The decorator resolves the organization
and runs the body in its tenant context, so a task can no more skip the context than a view
can. An organization that no longer exists is logged and skipped rather than retried forever.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from celery import shared_task

from k12cloud.tenancy import tenant_context

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


def tenant_task(**celery_options: Any) -> Callable[[Callable[..., R]], Any]:
    def decorator(function: Callable[..., R]) -> Any:
        @functools.wraps(function)
        def run_for_organization(organization_id: int, *args: Any, **kwargs: Any) -> R | None:
            from accounts.models import Organization

            if not Organization.objects.filter(pk=organization_id).exists():
                logger.warning(
                    "%s: organization %s is gone; skipping", function.__name__, organization_id
                )
                return None
            with tenant_context(organization_id):
                return function(organization_id, *args, **kwargs)

        return shared_task(**celery_options)(run_for_organization)

    return decorator
