"""Small pure helpers for Salla-shaped JSON: money, dates, pagination, errors.

Amounts are kept in halalas (integer hundredths of a riyal) inside the store so that sums add up
exactly; they become JSON numbers (or, in quirks mode, strings such as ``"15.00"``) only here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from sallakit.emulator._context import ApiRequest, EmulatorHTTPError, RequestContext

__all__ = [
    "DEFAULT_PER_PAGE",
    "MAX_PER_PAGE",
    "RIYADH",
    "amount",
    "date_obj",
    "date_str",
    "localized",
    "money",
    "not_found",
    "page_window",
    "paginate",
    "parse_int",
    "require_fields",
    "to_epoch",
    "validation_error",
]

# Saudi Arabia has no daylight saving time, so a fixed offset is exact.
RIYADH = timezone(timedelta(hours=3), "Asia/Riyadh")
DEFAULT_PER_PAGE = 15
MAX_PER_PAGE = 60

_NOT_FOUND = {
    "ar": "المحتوى الذي تحاول الوصول اليه غير متوفر",
    "en": "The content you are trying to access is no longer available",
}
_INVALID_FIELDS = {"ar": "alert.invalid_fields", "en": "Validation Failed"}
_REQUIRED = {"ar": "حقل {field} مطلوب", "en": "The {field} field is required."}
_INVALID = {"ar": "قيمة الحقل {field} غير صالحة", "en": "The selected {field} is invalid."}


def to_epoch(moment: datetime) -> int:
    """Whole seconds since the epoch for an aware (or UTC-naive) datetime."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def date_str(epoch: int) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in store-local (Riyadh) time, as Salla prints plain dates."""
    return datetime.fromtimestamp(epoch, RIYADH).strftime("%Y-%m-%d %H:%M:%S")


def date_obj(epoch: int) -> dict[str, Any]:
    """A PHP DateTime object as Salla serialises it (local time, no offset in the string)."""
    return {"date": f"{date_str(epoch)}.000000", "timezone_type": 3, "timezone": "Asia/Riyadh"}


def amount(halalas: int, quirks: bool = False) -> float | int | str:
    """A bare amount: a JSON number, or a ``"15.00"`` string in quirks mode."""
    if quirks:
        return f"{halalas / 100:.2f}"
    value = halalas / 100
    return int(value) if halalas % 100 == 0 else value


def money(halalas: int, currency: str = "SAR", quirks: bool = False) -> dict[str, Any]:
    """A Salla money object ``{"amount": 100, "currency": "SAR"}``."""
    return {"amount": amount(halalas, quirks), "currency": currency}


def localized(ctx: RequestContext, ar: str, en: str) -> str:
    """Arabic by default (Salla's default ``Accept-Language``), English when asked."""
    return en if ctx.language == "en" else ar


def not_found(ctx: RequestContext) -> EmulatorHTTPError:
    """Salla's 404 for a missing entity, in the request's language."""
    message = _NOT_FOUND["en" if ctx.language == "en" else "ar"]
    return EmulatorHTTPError(404, message, code=404)


def validation_error(
    ctx: RequestContext, missing: Sequence[str] = (), invalid: Sequence[str] = ()
) -> EmulatorHTTPError:
    """Salla's 422 with one message list per offending field."""
    lang = "en" if ctx.language == "en" else "ar"
    fields: dict[str, list[str]] = {}
    for name in missing:
        fields[name] = [_REQUIRED[lang].format(field=name)]
    for name in invalid:
        fields[name] = [_INVALID[lang].format(field=name)]
    code = "validation_failed" if lang == "en" else "error"
    return EmulatorHTTPError(422, _INVALID_FIELDS[lang], code=code, fields=fields)


def require_fields(ctx: RequestContext, body: Any, names: Sequence[str]) -> dict[str, Any]:
    """The body as a dict, or a 422 naming every required field that is absent or empty."""
    data = body if isinstance(body, dict) else {}
    missing = [n for n in names if data.get(n) in (None, "", [])]
    if missing:
        raise validation_error(ctx, missing)
    return data


def parse_int(value: Any) -> int | None:
    """An integer from a query/body value, or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        # ``isdigit`` accepts any Unicode digit and ``int`` refuses over 4,300 of them: no
        # id, page or quantity has more than 19 ASCII digits, so longer ones are not numbers.
        digits = text.removeprefix("-")
        if digits.isascii() and digits.isdigit() and len(digits) <= 19:
            return int(text)
    return None


def page_window(request: ApiRequest) -> tuple[int, int]:
    """``(page, per_page)`` from the query: per_page defaults to 15 and is clamped to 1..60."""
    page = parse_int(request.q("page")) or 1
    per_page = parse_int(request.q("per_page")) or DEFAULT_PER_PAGE
    return max(page, 1), min(max(per_page, 1), MAX_PER_PAGE)


def paginate(
    request: ApiRequest,
    ctx: RequestContext,
    total: int,
    base_url: str,
) -> tuple[slice, dict[str, Any]]:
    """The slice of the full result to return and Salla's camelCase pagination object.

    ``links`` carries ``next``/``previous`` URLs when they exist; when neither does it is ``{}``
    or, with ``ctx.links_as_list``, ``[]`` (both are seen on Salla).
    """
    page, per_page = page_window(request)
    total_pages = max(math.ceil(total / per_page), 1)
    start = (page - 1) * per_page
    end = min(start + per_page, total)
    count = max(end - start, 0)
    links: dict[str, str] = {}
    query = {
        k.removesuffix("[]"): v[-1]
        for k, v in request.query.items()
        if v and k not in ("page", "per_page")
    }
    if page < total_pages:
        links["next"] = f"{base_url}?{urlencode({**query, 'page': page + 1, 'per_page': per_page})}"
    if page > 1:
        previous = min(page - 1, total_pages)
        links["previous"] = (
            f"{base_url}?{urlencode({**query, 'page': previous, 'per_page': per_page})}"
        )
    pagination: dict[str, Any] = {
        "count": count,
        "total": total,
        "perPage": per_page,
        "currentPage": page,
        "totalPages": total_pages,
        "links": links if links else ([] if ctx.links_as_list else {}),
    }
    return slice(start, start + count), pagination
