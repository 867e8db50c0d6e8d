"""Reusable coercing field types that absorb Salla's type drift.

Every model in :mod:`sallakit.models` builds its fields from the types here so
that a given drift (an amount sent as a string, an empty ``{}`` for an absent
object, a PHP date object instead of a string) is handled in exactly one place.

The scalar types (``Decimalish``, ``Intish``, ``Boolish``, ``SallaDateTime``)
require a value. Wrap them in ``Maybe[...]`` for optional fields: ``Maybe``
first turns ``None``, ``""``, ``{}`` and ``[]`` into ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AllowInfNan,
    BeforeValidator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
)

__all__ = [
    "Boolish",
    "Decimalish",
    "DictOf",
    "EmptyAsNone",
    "Intish",
    "ListOf",
    "Maybe",
    "SALLA_TIMEZONE",
    "SallaDateTime",
    "SallaId",
    "Text",
    "Translations",
    "parse_salla_datetime",
]

#: Salla stores run on Saudi time; naive timestamps from the API are in this zone.
SALLA_TIMEZONE = ZoneInfo("Asia/Riyadh")

T = TypeVar("T")

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


_BLANKABLE = (str, dict, list)


def _is_blank(value: Any) -> bool:
    # PHP serialises an empty associative array as [] and an unset object as {}
    # or "", so all of these mean "absent" wherever a single value is expected.
    # Validators here run for every field of every item, so isinstance takes tuples: an
    # ``A | B`` union is rebuilt on each call, which showed up in profiles of list pages.
    return value is None or (not value and isinstance(value, _BLANKABLE))


def _empty_as_none(value: Any) -> Any:
    return None if _is_blank(value) else value


def _to_decimal(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        # str() gives the shortest repr, so 39.46 stays 39.46 instead of the
        # binary expansion 39.4600000000000008526512829121...
        result = Decimal(str(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {value!r}") from None
    else:
        return value  # let pydantic report the type error
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def _to_int(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a boolean is not an integer")
    if isinstance(value, (str, float, Decimal)):
        number = _to_decimal(value)
        if number != number.to_integral_value():
            raise ValueError(f"not a whole number: {value!r}")
        return int(number)
    return value


def _to_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise ValueError(f"not a boolean: {value!r}")


def _to_text(value: Any) -> Any:
    if _is_blank(value) and not isinstance(value, str):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        # Phone numbers, SKUs and postal codes sometimes arrive as JSON numbers.
        return str(value)
    return value


def _to_list(value: Any) -> Any:
    # An empty PHP array may come back as {} where a list is expected, and one object where
    # the documents say a list (the order create/update schemas type ``tags`` as one object).
    if _is_blank(value):
        return []
    return [value] if isinstance(value, dict) else value


def _to_dict(value: Any) -> Any:
    # ...and as [] where a map is expected (translations, headers).
    return {} if _is_blank(value) else value


_JS_DATE = re.compile(
    r"^(?:[A-Za-z]{3},?\s+)?(?P<stamp>[A-Za-z]{3}\s+\d{1,2}\s+\d{4}\s+\d{1,2}:\d{2}:\d{2})"
    r"\s+GMT(?P<offset>[+-]\d{2}:?\d{2})?(?:\s*\(.*\))?$"
)
_FALLBACK_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%d-%m-%Y", "%Y/%m/%d", "%d/%m/%Y")


def _offset(text: str) -> timezone:
    sign = -1 if text.startswith("-") else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


def _zone(name: Any) -> timezone | ZoneInfo:
    if isinstance(name, str) and name:
        if re.fullmatch(r"[+-]\d{2}:?\d{2}", name):
            return _offset(name)
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return SALLA_TIMEZONE


def _from_epoch(seconds: float) -> datetime:
    if abs(seconds) >= 1e11:  # milliseconds, as JavaScript timestamps are
        seconds /= 1000
    return datetime.fromtimestamp(seconds, tz=SALLA_TIMEZONE)


def _parse_text(text: str, zone: timezone | ZoneInfo) -> datetime:
    text = text.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return _from_epoch(float(text))
    match = _JS_DATE.match(text)
    if match:
        parsed = datetime.strptime(" ".join(match["stamp"].split()), "%b %d %Y %H:%M:%S")
        offset = match["offset"]
        return parsed.replace(tzinfo=_offset(offset) if offset else UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for fmt in _FALLBACK_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"unrecognised date: {text!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def parse_salla_datetime(value: Any) -> datetime | None:
    """Parse any date representation Salla sends into an aware datetime.

    Args:
        value: A PHP ``DateTime`` object (``{"date", "timezone_type",
            "timezone"}``), a naive ``"YYYY-MM-DD HH:MM:SS"`` string (read as
            Asia/Riyadh), an ISO 8601 string, a JavaScript ``Date.toString()``
            string, a date-only string, or Unix epoch seconds/milliseconds.

    Returns:
        A timezone-aware datetime, or ``None`` for ``None``, ``""``, ``{}``
        and ``[]``.

    Raises:
        ValueError: If the value is not a recognisable date.
    """
    if _is_blank(value):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=SALLA_TIMEZONE)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=SALLA_TIMEZONE)
    if isinstance(value, bool):
        raise ValueError("a boolean is not a date")
    if isinstance(value, (int, float)):
        return _from_epoch(value)
    if isinstance(value, dict):
        inner = value.get("date")
        if not isinstance(inner, str) or not inner:
            raise ValueError(f"date object without a 'date' string: {value!r}")
        return _parse_text(inner, _zone(value.get("timezone")))
    if isinstance(value, str):
        return _parse_text(value, SALLA_TIMEZONE)
    raise ValueError(f"unrecognised date: {value!r}")


def _to_datetime(value: Any) -> Any:
    parsed = parse_salla_datetime(value)
    if parsed is None:
        raise ValueError("a date is required here")
    return parsed


# Speed: every alias below tries pydantic's native, strict validation first (in Rust: a JSON int
# for an int, a string for a string, null for an absent value) and falls back to the Python
# coercions above only for drifted input ("50", "", {}, a PHP date object). ``left_to_right``
# takes the first branch that succeeds, so well-formed data never reaches Python code, and drifted
# data gets the same result as before (the drift tests hold both to the same expectations).
_FIRST_MATCH = Field(union_mode="left_to_right")

#: Marks an optional field where ``None``, ``""``, ``{}`` or ``[]`` all mean absent.
EmptyAsNone = BeforeValidator(_empty_as_none)


#: A decimal from a JSON number or a numeric string, never via binary float arithmetic.
# Native first: pydantic reads a float through its shortest repr (39.46 -> Decimal("39.46")), as
# _to_decimal does, and refuses booleans and non-finite values; "1,000" falls back to Python.
Decimalish = Annotated[
    Annotated[Decimal, AllowInfNan(False)] | Annotated[Decimal, BeforeValidator(_to_decimal)],
    _FIRST_MATCH,
]

#: An integer from a JSON number or a numeric string such as ``"50"``.
Intish = Annotated[StrictInt | Annotated[int, BeforeValidator(_to_int)], _FIRST_MATCH]

#: A Salla id: an integer that may arrive as a numeric string.
SallaId = Intish

#: A boolean from ``true``/``false``, ``0``/``1`` or ``"true"``/``"false"``.
Boolish = Annotated[StrictBool | Annotated[bool, BeforeValidator(_to_bool)], _FIRST_MATCH]

#: An optional string; numbers become their decimal text, ``""`` is kept as is.
# The order of the branches is the order they are tried in: None before the Python fallback.
Text = Annotated[
    StrictStr | None | Annotated[str | None, BeforeValidator(_to_text)],  # noqa: RUF036
    _FIRST_MATCH,
]

# Salla's commonest date, a naive "2024-03-06 13:50:32" in store time: matched natively, then
# one fromisoformat; every other shape goes through parse_salla_datetime.
_NAIVE_STAMP = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?$"


def _naive_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SALLA_TIMEZONE)


if TYPE_CHECKING:
    #: An aware datetime from any of Salla's date shapes (see :func:`parse_salla_datetime`).
    SallaDateTime = Annotated[datetime, BeforeValidator(_to_datetime)]
else:
    #: An aware datetime from any of Salla's date shapes (see :func:`parse_salla_datetime`).
    SallaDateTime = Annotated[
        Annotated[str, StringConstraints(pattern=_NAIVE_STAMP), AfterValidator(_naive_stamp)]
        | Annotated[datetime, BeforeValidator(_to_datetime)],
        _FIRST_MATCH,
    ]


_SCALARS: tuple[Any, ...] = (Intish, Boolish, Decimalish, SallaDateTime)


def _blank_or(coerce: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """The Python fallback of ``Maybe[X]``: blanks are None, a model's other drift is coerced."""
    if coerce is None:
        return _empty_as_none

    def convert(value: Any) -> Any:
        return None if _is_blank(value) else coerce(value)

    return convert


def _lenient(item: Any) -> Any:
    """``X``, or for a model with a ``_coerce`` hook ``X`` natively first, then coerced."""
    coerce = getattr(item, "_coerce", None)
    if coerce is None:
        return item
    return Annotated[item | Annotated[item, BeforeValidator(coerce)], _FIRST_MATCH]


class _MaybeAlias:
    """``Maybe[X]``: ``X | None`` with blanks read as ``None``.

    For the scalar aliases (which refuse every blank themselves) the value is tried as ``X``
    first, natively, and read as blank only when that fails; for models, lists and maps (which
    may accept ``{}`` or ``[]`` as an empty value) blanks are turned into ``None`` first. A model
    may define ``_coerce(value)`` for its other drifted shapes (a bare number for a
    :class:`Money`, a bare URL for an image): it runs only in the Python fallback, so that
    well-formed objects are validated without any Python call.
    """

    def __getitem__(self, item: Any) -> Any:
        fallback = BeforeValidator(_blank_or(getattr(item, "_coerce", None)))
        # A model that refuses blanks itself (a required field) is as safe to try first.
        if any(item is scalar for scalar in _SCALARS) or getattr(item, "_refuses_blanks", False):
            # Tried in this order: null, the value natively, then blanks as None.
            return Annotated[None | item | Annotated[item | None, fallback], _FIRST_MATCH]  # noqa: RUF036
        return Annotated[item | None, fallback]


class _ListOfAlias:
    """``ListOf[X]``: a list, natively first; ``{}``/``null``/one object and coerced items after."""

    def __getitem__(self, item: Any) -> Any:
        lenient_list: Any = list.__class_getitem__(_lenient(item))
        return Annotated[
            list[item] | Annotated[lenient_list, BeforeValidator(_to_list)],
            _FIRST_MATCH,
        ]


if TYPE_CHECKING:
    #: An optional value: ``Maybe[Money]`` is ``Money | None`` with blanks read as ``None``.
    Maybe: TypeAlias = Annotated[T | None, EmptyAsNone]
    #: A list where ``null``, ``""`` and ``{}`` mean an empty list.
    ListOf: TypeAlias = Annotated[list[T], BeforeValidator(_to_list)]
else:
    #: An optional value: ``Maybe[Money]`` is ``Money | None`` with blanks read as ``None``.
    Maybe = _MaybeAlias()
    #: A list where ``null``, ``""`` and ``{}`` mean an empty list (one object: a one-item list).
    ListOf = _ListOfAlias()

#: Per-language field values (``{"en": {"name": ...}}``); ``[]`` means none.
Translations = Annotated[
    dict[str, dict[str, Any]] | Annotated[dict[str, dict[str, Any]], BeforeValidator(_to_dict)],
    _FIRST_MATCH,
]

#: A string-keyed map where ``null``, ``""`` and ``[]`` mean an empty map.
DictOf: TypeAlias = Annotated[dict[str, T], BeforeValidator(_to_dict)]
