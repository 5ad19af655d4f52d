"""An email backend for tests with real workers: records each delivery attempt's Message-ID.

It appends one line per message to NOTIFICATIONS_RECORDING_FILE (opened in append mode, written
in one call), so concurrent worker processes can share the file and a process killed right after
a delivery leaves its line behind, exactly as a real mail server would have the message. It
does NOT dedupe: the tests count duplicates themselves (docs/notifications.md).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage


class RecordingEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        path = str(getattr(settings, "NOTIFICATIONS_RECORDING_FILE", os.devnull))
        delay = float(getattr(settings, "NOTIFICATIONS_RECORDING_DELAY", 0.0))
        for message in email_messages:
            if delay:
                time.sleep(delay)  # a mail server takes a moment: lets a test kill mid-run
            line = f"{message.extra_headers['Message-ID']}\n".encode()
            descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(descriptor, line)
            finally:
                os.close(descriptor)
        return len(email_messages)

    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
