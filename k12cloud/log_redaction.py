"""Keeps personal data and secrets out of what the application's log handlers write.

Installed on the handlers in settings.LOGGING (a filter on a handler sees every record that
reaches it, propagated ones included; a filter on a logger would not). Defence in depth: code
should not log personal values in the first place, but libraries log request paths (which
carry invitation and password-reset secrets, and whatever a visitor typed into a URL), and
exception texts quote database values.

- django.request's "Not Found: /path" names the URL pattern instead of the path;
- secret-bearing path segments, email addresses and IP addresses are masked in every message
  and traceback.

django.template's DEBUG records (they print whole template contexts) are silenced by level in
settings.LOGGING; names cannot be recognized by a pattern.
"""

from __future__ import annotations

import logging
import re

from django.urls import Resolver404, resolve

_SECRET_PATHS = re.compile(
    r"(/invitations/|/accounts/password/reset/key/|/accounts/confirm-email/)[^/\s\"']+"
)
_EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
# three or more groups, or a "::": not a clock time such as 18:42:50
_IPV6 = re.compile(
    r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){3,7}[0-9A-Fa-f]{1,4}(?![\w:])"
    r"|(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}::(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}(?![\w:])"
)


def redact(text: str) -> str:
    text = _SECRET_PATHS.sub(r"\1[secret]", text)
    text = _EMAIL.sub("[email]", text)
    text = _IPV6.sub("[ip]", text)
    return _IPV4.sub("[ip]", text)


def _route(path: str) -> str:
    try:
        match = resolve(path)
    except Resolver404:
        return "(a path that matches no URL pattern)"
    return "/" + match.route


class RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.name == "django.request"
            and isinstance(record.args, tuple)
            and len(record.args) == 2
        ):
            # log_response(): "%s: %s" % (reason phrase, request.path)
            reason, path = record.args
            record.args = (reason, _route(str(path)))
        message = redact(record.getMessage())
        record.msg, record.args = message, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
