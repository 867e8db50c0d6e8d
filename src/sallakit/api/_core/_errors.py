"""Error mapping: an HTTP status plus Salla's body, or an httpx2 exception, to one exception.

Salla's ``error.code`` is unstable (``"Unauthorized"``, ``"error"``, ``404``...), so the class is
chosen from the HTTP status alone, except for two cases that the status cannot tell apart:

* the bare OAuth body ``{"error": "invalid_grant", ...}`` (refresh-token reuse, revoked grant),
  which means the merchant must reinstall, whatever the status;
* the 401 subtypes, told apart by stable fragments of the message in English or Arabic.

An error status whose body is not JSON (a proxy's HTML 502, a plain-text 429) still maps by its
status, so that retries and the 401 token refresh apply to it; the raw text is kept as ``body``.
"""

from __future__ import annotations

import http
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pydantic_core

from sallakit._exceptions import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InactiveUserError,
    InternalServerError,
    InvalidTokenError,
    MissingScopeError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ReinstallRequiredError,
    SallaError,
    UnprocessableEntityError,
)
from sallakit.api._core._ratelimit import server_time
from sallakit.api._core._retry import parse_retry_after

__all__ = [
    "STATUS_ERRORS",
    "WRITE_MAY_HAVE_APPLIED",
    "classify_unauthorized",
    "field_summary",
    "map_status_error",
    "map_transport_error",
    "parse_body",
]

STATUS_ERRORS: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: InvalidTokenError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}
"""Status -> class. 401 is refined by :func:`classify_unauthorized`; 5xx -> InternalServerError;
any other status -> APIStatusError."""

# A scope token (``products.read``, ``orders.read_write``, ``offline_access``). Scope messages are
# recognized by naming one, after "scope(s)" or "الصلاحيات": the bare fragment "صلاحي" also
# occurs in "انتهت صلاحية رمز الدخول" (the access token has expired), which is not a scope error.
_SCOPE_MESSAGE = re.compile(
    r"\b[\w-]+\.read(?:_write)?\b|(?:\bscopes?\b|الصلاحيات)[^\n]*\boffline_access\b",
    re.IGNORECASE,
)
_INACTIVE_FRAGMENTS = ("not exists", "غير مفعل", "inactive", "not active", "deactivated")


def classify_unauthorized(message: str) -> type[AuthenticationError]:
    """Pick the 401 subtype from Salla's message (English or Arabic).

    Args:
        message: ``error.message`` of the 401 body.

    Returns:
        MissingScopeError, InactiveUserError, or InvalidTokenError (the safe default: the caller
        refreshes the token once and gives up if that does not help).
    """
    lowered = message.casefold()
    if _SCOPE_MESSAGE.search(message):
        return MissingScopeError
    if any(fragment in lowered for fragment in _INACTIVE_FRAGMENTS):
        return InactiveUserError
    return InvalidTokenError


def parse_body(content: bytes, *, method: str, url: str, status_code: int) -> Any:
    """Decode a JSON body; an empty body is None.

    Raises:
        APIResponseError: The body is not JSON.
    """
    if not content.strip():
        return None
    try:
        # pydantic-core's parser (Rust) decodes a page of 60 products 2-3x faster than the json
        # module, to the same Python values; a body it refuses is tried with json.loads, so that
        # what the standard library accepts (NaN, a BOM-less oddity) is never lost.
        return pydantic_core.from_json(content)
    except ValueError:
        pass
    try:
        return json.loads(content)
    except (UnicodeDecodeError, ValueError) as exc:
        raise APIResponseError(
            f"Salla answered {status_code} with a body that is not JSON",
            method=method,
            url=url,
            status_code=status_code,
            body=content[:2000].decode("utf-8", "replace"),
        ) from exc


def _fields(raw: Any) -> dict[str, list[str]]:
    if not isinstance(raw, Mapping):
        return {}
    out: dict[str, list[str]] = {}
    for key, value in raw.items():
        if isinstance(value, list | tuple):
            out[str(key)] = [str(v) for v in value]
        elif value is not None:
            out[str(key)] = [str(value)]
    return out


_UNSET: Any = object()

WRITE_MAY_HAVE_APPLIED = (
    "the request may have reached Salla and been applied (request_sent=True): check before "
    "sending it again"
)
_FIELDS_SHOWN = 5


def field_summary(fields: Mapping[str, Sequence[str]]) -> str:
    """``name: required; price: must be a number`` for the first few fields."""
    parts = [f"{name}: {' '.join(messages)}" for name, messages in list(fields.items())]
    shown = "; ".join(parts[:_FIELDS_SHOWN])
    more = len(parts) - _FIELDS_SHOWN
    return shown + (f" (and {more} more fields)" if more > 0 else "")


_EXCERPT = 200


def _text_excerpt(content: bytes) -> str:
    """A short, single-line excerpt of a non-JSON body (an HTML error page, a text 429)."""
    text = content[:4000].decode("utf-8", "replace")
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    text = title.group(1) if title is not None else re.sub(r"<[^>]+>", " ", text)
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


def _without_status(text: str, status_code: int) -> str:
    text = text.strip()
    prefix = str(status_code)
    if text.startswith(prefix) and (len(text) == len(prefix) or not text[len(prefix)].isalnum()):
        return text[len(prefix) :].lstrip(" :-").strip()
    return text


def _phrase(status_code: int) -> str:
    try:
        return http.HTTPStatus(status_code).phrase
    except ValueError:
        return "error"


def map_status_error(
    status_code: int,
    content: bytes,
    headers: Mapping[str, str],
    *,
    method: str,
    url: str,
    now: float,
    retry_after: float | None = _UNSET,
    reason: str = "",
    idempotent: bool = True,
) -> SallaError:
    """Translate an error response into the exception to raise.

    Args:
        status_code: HTTP status (>= 400).
        content: Raw response body.
        headers: Response headers (case-insensitive mapping preferred).
        method: Request method, kept on the exception.
        url: Request URL (never carries the token), kept on the exception.
        now: Current Unix time, for ``Retry-After`` given as an HTTP date.
        retry_after: The already parsed ``Retry-After`` (parsed from ``headers`` if omitted).
        reason: The HTTP reason phrase, the message of last resort.
        idempotent: Whether the request could be replayed harmlessly; a server error on one
            that could not says that the write may have been applied.

    Returns:
        ReinstallRequiredError for ``invalid_grant`` bodies, otherwise an APIStatusError subclass
        chosen by the status, also when the body is not JSON (then ``body`` is its text).
    """
    body: Any
    code: str | int | None = None
    message = ""
    fields: dict[str, list[str]] = {}
    try:
        body = parse_body(content, method=method, url=url, status_code=status_code)
    except APIResponseError:
        # A gateway's HTML 502 or a plain-text 429 is still a 502 or a 429: keep the class the
        # status gives, so that it is retried (or refreshed, for a 401) like a JSON one.
        body = content[:2000].decode("utf-8", "replace")
        message = _text_excerpt(content)
    if isinstance(body, Mapping):
        error = body.get("error")
        if error == "invalid_grant":
            description = body.get("error_description")
            return ReinstallRequiredError(
                "The grant is revoked (invalid_grant): the merchant must reinstall the app",
                description=str(description) if description is not None else None,
                status_code=status_code,
                method=method,
                url=url,
            )
        if isinstance(error, Mapping):
            raw_code = error.get("code")
            code = raw_code if isinstance(raw_code, str | int) else None
            message = str(error.get("message") or "")
            fields = _fields(error.get("fields"))
        elif isinstance(error, str):
            message = str(body.get("error_description") or body.get("message") or error)
        elif isinstance(body.get("message"), str):
            message = body["message"]
    cls: type[APIStatusError]
    if status_code == 401:
        cls = classify_unauthorized(message)
    elif status_code >= 500:
        cls = InternalServerError
    else:
        cls = STATUS_ERRORS.get(status_code, APIStatusError)
    if retry_after is _UNSET:
        retry_after = parse_retry_after(
            headers.get("retry-after"), now, server_now=server_time(headers, now)
        )
    # The exception's str() starts with the status: a message that repeats it ("502 Bad
    # Gateway", a proxy page's title) would read "502 502 Bad Gateway".
    message = _without_status(message, status_code)
    text = message or _without_status(reason, status_code) or _phrase(status_code)
    if fields:
        # The useful part of a 422 is which field is wrong: "alert.invalid_fields" alone says
        # nothing. Salla's own validation messages, a few fields at most.
        text = f"{text}: {field_summary(fields)}"
    if status_code >= 500 and not idempotent:
        text += f"; {WRITE_MAY_HAVE_APPLIED}"
    return cls(
        text,
        status_code=status_code,
        method=method,
        url=url,
        code=code,
        fields=fields,
        body=body,
        headers=headers,
        retry_after=retry_after,
    )


def map_transport_error(
    exc: Exception, *, method: str, url: str, idempotent: bool = True
) -> APIConnectionError:
    """Translate an httpx2 exception raised while sending into APIConnectionError.

    ``request_sent`` is False only for failures to connect: then Salla certainly never saw the
    request, which is the one case in which a write may be replayed. The text names the host (a
    wrong base URL shows at once) and, for a write that may have arrived, says so: repeating it
    blindly could create a second order.
    """
    not_sent = isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout)
    kind = type(exc).__name__
    host = urlsplit(url).netloc or "Salla"
    sent_note = "" if not_sent or idempotent else f"; {WRITE_MAY_HAVE_APPLIED}"
    if isinstance(exc, httpx2.TimeoutException):
        return APITimeoutError(
            f"Request to Salla at {host} timed out ({kind}){sent_note}",
            method=method,
            url=url,
            request_sent=not not_sent,
        )
    return APIConnectionError(
        f"Could not reach Salla at {host} ({kind}){sent_note}",
        method=method,
        url=url,
        request_sent=not not_sent,
    )
