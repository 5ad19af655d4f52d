"""Who is acting: the actor an audit event is attributed to.

In a request the actor is derived from the request when an event is recorded (the signed-in
user, or the API key the API authenticated). Celery tasks and commands declare themselves with
`acting_as(Actor.system("task name"))`. Anything else is recorded as the system.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from k12cloud.client_ip import client_ip


class ActorKind(models.TextChoices):
    USER = "user", _("User")
    API_KEY = "api_key", _("API key")
    SYSTEM = "system", _("System")
    ANONYMOUS = "anonymous", _("Anonymous visitor")


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    user_id: int | None = None
    api_key_id: int | None = None
    # for the system: the task or command; never personal data
    label: str = ""
    ip_address: str | None = None
    user_agent: str = ""

    @classmethod
    def system(cls, label: str) -> Actor:
        return cls(kind=ActorKind.SYSTEM, label=label)

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        ip = client_ip(request)
        agent = request.headers.get("User-Agent", "")[:400]
        # set by the API key authentication on the underlying HttpRequest
        api_key_id = getattr(request, "k12cloud_api_key_id", None)
        if api_key_id is not None:
            return cls(ActorKind.API_KEY, api_key_id=api_key_id, ip_address=ip, user_agent=agent)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return cls(ActorKind.USER, user_id=user.pk, ip_address=ip, user_agent=agent)
        return cls(ActorKind.ANONYMOUS, ip_address=ip, user_agent=agent)


def actor_for_user(user_id: int) -> Actor:
    """A user acting through a service that names them, with the current request's address."""
    request = current_request.get()
    if request is None:
        return Actor(ActorKind.USER, user_id=user_id)
    seen = Actor.from_request(request)
    return Actor(
        ActorKind.USER, user_id=user_id, ip_address=seen.ip_address, user_agent=seen.user_agent
    )


_actor: ContextVar[Actor | None] = ContextVar("k12cloud_audit_actor", default=None)
current_request: ContextVar[HttpRequest | None] = ContextVar(
    "k12cloud_current_request", default=None
)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def current_actor() -> Actor:
    explicit = _actor.get()
    if explicit is not None:
        return explicit
    request = current_request.get()
    if request is not None:
        return Actor.from_request(request)
    return Actor.system("unattributed")
