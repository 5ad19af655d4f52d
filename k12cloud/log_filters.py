"""Logging filters of the kernel (LOGGING in k12cloud.settings.base)."""

from __future__ import annotations

import logging


class ClientErrorWithoutTraceback(logging.Filter):
    """A 4xx logged by django.request (a refusal, a page not found) is one warning line.

    Django passes the PermissionDenied/Http404 as exc_info, so each refusal would print a
    traceback as if the code had failed. It did not: the code answered as designed. 5xx records
    keep their traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
