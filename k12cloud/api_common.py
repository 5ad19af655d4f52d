"""What every API endpoint shares: the request body parser, the JSON 404 of unmatched /api/
URLs, and the answers every operation of the OpenAPI schema documents.

- `BoundedJSONParser` is the default and only parser (settings.REST_FRAMEWORK): JSON only, at
  most `JSON_MAX_BYTES` bytes and `JSON_MAX_DEPTH` levels of nesting, checked before parsing,
  so a crafted body is a 400 naming the problem, never a RecursionError (a 500).
  `json_loads_bounded` is the same check for views that read JSON themselves (the Stripe
  webhook).
- `api_not_found` answers an `/api/` URL that matches no endpoint (k12cloud.views.not_found).
- `schema_postprocess` (drf-spectacular POSTPROCESSING_HOOKS) documents on every operation the
  401, 403 and 404 any of them can answer, and the 400 of a body the parser refuses.

Settings name this module, so it imports no app (and nothing that reads DRF's settings).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import IO, Any

from django.http import HttpRequest, HttpResponseBase, JsonResponse
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# --- request bodies ----------------------------------------------------------------------------

JSON_MAX_BYTES = 1_000_000  # the largest input (intake: a dozen 4,000-character fields) is ~50 kB
JSON_MAX_DEPTH = 32  # no API input nests deeper than 2 levels

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


class JsonInputError(ValueError):
    """A JSON text too large, too deeply nested or malformed; the message names the problem."""


def json_nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text`, without parsing it: string
    literals are dropped first (a bracket inside a string does not count), then brackets are
    counted. Linear in the length; malformed text gives some depth and fails to parse later."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def json_loads_bounded(
    text: str | bytes, *, max_bytes: int | None = JSON_MAX_BYTES, max_depth: int = JSON_MAX_DEPTH
) -> Any:
    """`json.loads` for untrusted input: refuses a text over `max_bytes` (None: bounded
    elsewhere) or nested deeper than `max_depth` before parsing it (JsonInputError), and any
    parse failure the same way."""
    raw = text.encode() if isinstance(text, str) else text
    if max_bytes is not None and len(raw) > max_bytes:
        raise JsonInputError(f"The JSON body is larger than {max_bytes} bytes.")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonInputError("The JSON body is not valid UTF-8.") from None
    if json_nesting_depth(decoded) > max_depth:
        raise JsonInputError(f"The JSON body nests arrays or objects deeper than {max_depth}.")
    try:
        return json.loads(decoded)
    except RecursionError:  # a backstop: the depth check above comes first
        raise JsonInputError(f"The JSON body nests deeper than {max_depth}.") from None
    except ValueError as error:
        raise JsonInputError(f"The JSON body is not valid JSON: {error}") from None


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with limits on size and nesting (a 400 naming the limit)."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        # DRF reads the request stream directly, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(JSON_MAX_BYTES + 1) if stream is not None else b""
        try:
            return json_loads_bounded(raw)
        except JsonInputError as error:
            raise ParseError(str(error)) from None


# --- unmatched URLs ----------------------------------------------------------------------------


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponseBase:
    """The 404 of a URL under /api/ that matches no endpoint: JSON like every API answer."""
    return JsonResponse({"detail": "No API endpoint has this URL."}, status=404)


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


# --- the OpenAPI schema ------------------------------------------------------------------------

_ERROR_DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# answers any operation can give: the key is refused, the role may not, the organization (or
# the object) is not the caller's; documented where the operation does not say more
_COMMON_ERRORS = {
    "401": "Invalid, expired or revoked API key",
    "403": "Not signed in, or the role or IP allowlist does not allow this action",
    "404": "No such organization or object (or not the caller's)",
}


def schema_postprocess(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """Document on every operation the 401/403/404 answers, and the 400 of a request body that
    is not JSON within the parser's limits (drf-spectacular POSTPROCESSING_HOOKS)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorDetail", _ERROR_DETAIL)
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDetail"}}}
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            responses = operation.setdefault("responses", {})
            for code, description in _COMMON_ERRORS.items():
                responses.setdefault(code, {"content": error, "description": description})
            if "requestBody" in operation:
                responses.setdefault(
                    "400",
                    {
                        "content": error,
                        "description": (
                            f"Malformed JSON, larger than {JSON_MAX_BYTES} bytes or nested "
                            f"deeper than {JSON_MAX_DEPTH}"
                        ),
                    },
                )
    return result
