"""Public pages (no sign-in) in the visitor's language: the request form, the trust center.

`?lang=es` chooses a language and remembers it in the language cookie; otherwise the
LocaleMiddleware's choice (cookie, Accept-Language) stands, reduced to a language the pages are
written in.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation

LANGUAGES = dict(settings.LANGUAGES)


def public_language(request: HttpRequest) -> str:
    """Apply `?lang=`; the active language, reduced to one the pages are written in."""
    wanted = request.GET.get("lang", "")
    if wanted in LANGUAGES:
        translation.activate(wanted)
        request.LANGUAGE_CODE = wanted
    active = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return active if active in LANGUAGES else settings.LANGUAGE_CODE


def public_render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """Render a public page with `language` and `languages`; a `?lang=` choice is remembered."""
    language = public_language(request)
    response = render(
        request,
        template,
        {**context, "language": language, "languages": settings.LANGUAGES},
        status=status,
    )
    if request.GET.get("lang") in LANGUAGES:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response
