"""System check: the audit checkpoint signing key is set and is an Ed25519 key."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured


@register()
def checkpoint_key_check(**_: Any) -> list[CheckMessage]:
    from audit.checkpoints import load_private_key

    try:
        load_private_key(settings.AUDIT_CHECKPOINT_PRIVATE_KEY)
    except ImproperlyConfigured as error:
        return [Error(str(error), id="audit.E001")]
    return []
