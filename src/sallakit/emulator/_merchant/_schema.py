"""A deterministic, schema-driven example generator and a conformer.

``example`` fills a JSON schema (the registry's resolved response schemas) with plausible values:
every property, chosen by type, enum, format and a few property-name hints, so that the output
is valid against the schema. ``conform`` takes a hand-built Salla-shaped value and makes it valid
against a schema: it fills missing required members and, outside quirks mode, turns scalar values
into the schema's declared type (Salla's documented types, which the seeded data is written to
follow; the coercion only covers the fields where the published schema disagrees with the
published examples).

Choices derive from a CRC of ``seed`` and the JSON path so that a generic collection seeded twice
with the same seed is identical, without any ``random.Random`` state.

``compile_conformer`` turns a schema into a :class:`Conformer`, a tree of closures that does what
``conform`` does (same output, byte for byte) without re-reading the schema on every call: the
``allOf`` merging, type inference and the filler values of missing members (``example`` is a pure
function of the schema node, seed and path, and the path of a node does not depend on the data)
are computed once. The emulator compiles each endpoint's schema once and reuses the plan for
every response; ``conform`` stays the reference the plan is tested against.
"""

from __future__ import annotations

import math
import pickle
import uuid
import zlib
from collections.abc import Callable, Mapping
from itertools import repeat
from typing import Any
from urllib.parse import unquote

__all__ = [
    "EMPTY_OBJECT_MEMBERS",
    "Conformer",
    "RecursiveSchema",
    "compile_conformer",
    "conform",
    "data_schema",
    "example",
    "merged",
    "resolve_defs",
    "schema_type",
]

_MAX_DEPTH = 16
_BASE_DATE = "2024-03-06 13:50:32"


class RecursiveSchema(dict[str, Any]):
    """The schema of a model that contains itself (a category's ``items``), shared by every
    place that refers to it: resolving ``$ref``s into ``$defs`` makes a cyclic graph of these.

    The type marks where a generated value must stop (``example`` answers ``[]`` for a list of
    them) and where a conformer is compiled on demand rather than up front.
    """


def _defs_name(ref: str) -> str | None:
    if not ref.startswith("#/$defs/"):
        return None
    return unquote(ref[len("#/$defs/") :]).replace("~1", "/").replace("~0", "~")


def resolve_defs(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """``schema`` with its ``$ref``s into its own ``$defs`` replaced by the models themselves.

    The registry keeps a recursive model once, under the root's ``$defs``; the result is a
    cyclic graph of :class:`RecursiveSchema` nodes, walked by the functions here with their
    depth guard. A schema without ``$defs`` is returned as is.
    """
    raw_defs = schema.get("$defs")
    if not isinstance(raw_defs, Mapping) or not raw_defs:
        return schema
    shared: dict[tuple[str, bool], RecursiveSchema] = {}

    def target(name: str, nullable: bool) -> Mapping[str, Any]:
        if name not in raw_defs:
            return {}
        key = (name, nullable)
        if key not in shared:
            node = shared[key] = RecursiveSchema()
            node.update(walk(raw_defs[name]))
            if nullable:
                node["nullable"] = True
        return shared[key]

    def walk(node: Any) -> Any:
        if isinstance(node, Mapping):
            ref = node.get("$ref")
            name = _defs_name(ref) if isinstance(ref, str) else None
            if name is not None:
                return target(name, node.get("nullable") is True)
            return {k: walk(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    resolved: Mapping[str, Any] = walk(schema)
    return resolved


def data_schema(response_schema: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The schema of the envelope's ``data`` member, or None when the body has no envelope."""
    if not response_schema:
        return None
    schema = merged(resolve_defs(response_schema))
    props = schema.get("properties")
    if isinstance(props, Mapping) and "data" in props:
        data = props["data"]
        return data if isinstance(data, Mapping) else None
    return None


def merged(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """``allOf`` folded into one schema; ``oneOf``/``anyOf`` resolved to their first object."""
    if "allOf" in schema:
        out: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        props: dict[str, Any] = dict(out.get("properties") or {})
        required: list[str] = list(out.get("required") or [])
        for part in schema["allOf"]:
            if not isinstance(part, Mapping):
                continue
            sub = merged(part)
            props.update(sub.get("properties") or {})
            required.extend(r for r in sub.get("required") or [] if r not in required)
            for key in ("type", "items", "enum", "nullable"):
                if key in sub and key not in out:
                    out[key] = sub[key]
        if props:
            out["properties"] = props
            out.setdefault("type", "object")
        if required:
            out["required"] = required
        return out
    for key in ("oneOf", "anyOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            chosen = next(
                (o for o in options if isinstance(o, Mapping) and schema_type(o) != "null"),
                options[0],
            )
            rest = {k: v for k, v in schema.items() if k != key}
            return {**rest, **merged(chosen)}
    return schema


def schema_type(schema: Mapping[str, Any]) -> str | None:
    """The declared type (first non-null of a type list), inferring object/array by shape."""
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), None)
    if declared is None:
        if "properties" in schema:
            return "object"
        if "items" in schema:
            return "array"
    return declared if isinstance(declared, str) else None


def _pick(seed: int, path: str, n: int) -> int:
    return zlib.crc32(f"{seed}|{path}".encode()) % n if n > 0 else 0


def _string(name: str, fmt: str | None, seed: int, path: str) -> str:
    n = _pick(seed, path, 9000) + 1000
    lowered = name.lower()
    if lowered == "date":
        # The ``date`` of a PHP date object, printed as every published example prints it.
        return f"{_BASE_DATE}.000000"
    if fmt == "uuid" or lowered == "uuid":
        return str(uuid.UUID(int=zlib.crc32(f"{seed}|{path}".encode()) * 2**96 + n))
    if fmt == "date-time":
        # Declared RFC 3339 and shown nowhere else: an RFC 3339 time in Riyadh.
        return f"{_BASE_DATE.replace(' ', 'T')}+03:00"
    if lowered in ("created_at", "updated_at") or "date" in lowered:
        return _BASE_DATE
    if fmt == "date":
        return _BASE_DATE[:10]
    if fmt == "email" or "email" in lowered:
        return f"user{n}@example.com"
    if fmt in ("uri", "url") or any(
        k in lowered
        for k in ("url", "link", "image", "avatar", "logo", "thumbnail", "banner", "flag", "icon")
    ):
        return f"https://cdn.salla.sa/emulator/{lowered or 'item'}/{n}.png"
    if "currency" in lowered:
        return "SAR"
    if "mobile" in lowered or "phone" in lowered:
        return f"+9665{n:04d}{n:04d}"[:13]
    if lowered in ("lang", "language", "locale"):
        return "ar"
    if lowered == "iso_code":
        return ("ar", "en", "fr", "tr", "ur")[_pick(seed, path, 5)]
    if "country_code" in lowered:
        return "SA"
    if lowered == "timezone":
        return "Asia/Riyadh"
    if lowered.endswith(("_id", "_ids", "id")) or "reference" in lowered or "number" in lowered:
        # An id or reference carried as text: digits, as Salla's are.
        return str(100_000_000 + zlib.crc32(f"{seed}|{path}".encode()) % 900_000_000)
    if lowered in ("iso", "iso2", "code") and "country" in path.lower():
        return "SA"
    if lowered == "code":
        # Coupon, voucher and reference codes: upper-case letters and digits.
        return f"SALLA{n}"
    if lowered in ("slug", "key"):
        return _SLUGS[_pick(seed, path, len(_SLUGS))]
    if lowered == "type":
        return "default"
    if any(k in lowered for k in ("sort", "count", "number", "quantity", "duration", "length")):
        return str(n % 100)
    if any(k in lowered for k in ("price", "amount", "cost", "total", "rate")):
        return f"{n / 100:.2f}"
    if "name" in lowered or "title" in lowered or "label" in lowered:
        return _NAMES[_pick(seed, path, len(_NAMES))]
    return _TEXTS[_pick(seed, path, len(_TEXTS))]


# Realistic values for generated strings (a store's vocabulary, written for this project).
_SLUGS = ("summer-sale", "new-arrivals", "best-sellers", "gift-ideas", "free-shipping")
_NAMES = ("عطور فاخرة", "قهوة مختصة", "تمور سكري", "هدايا العيد", "Premium Oud", "Arabic Coffee")
_TEXTS = (
    "شحن مجاني للطلبات فوق 300 ريال",
    "منتج أصلي بضمان سنة",
    "Delivered within 3 business days",
    "متوفر في جميع الفروع",
)


def example(
    schema: Mapping[str, Any] | None, seed: int = 0, name: str = "", path: str = "$", depth: int = 0
) -> Any:
    """A value valid against ``schema``, deterministic in ``seed`` and the JSON path.

    Args:
        schema: A resolved JSON schema (OpenAPI 3.0 flavour: ``nullable``).
        seed: Varies the choices (ids, enum members, numbers) between generated objects.
        name: The property name holding this value, used as a hint for strings and ids.
        path: The JSON path so far; part of the seed.
        depth: Recursion guard for self-similar schemas.
    """
    if not isinstance(schema, Mapping):
        return None
    schema = merged(schema)
    if "example" in schema and depth > 0 and _valid_scalar(schema, schema["example"]):
        return schema["example"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        usable = [e for e in enum if e is not None] or enum
        return usable[_pick(seed, path, len(usable))]
    kind = schema_type(schema)
    if kind == "object":
        if depth >= _MAX_DEPTH:
            return {}
        props = schema.get("properties") or {}
        out = {
            key: example(sub, seed, key, f"{path}.{key}", depth + 1)
            for key, sub in props.items()
            if isinstance(sub, Mapping)
        }
        for key in schema.get("required") or ():
            # Required but undeclared: any value is valid.
            out.setdefault(key, None)
        return out
    if kind == "array":
        if depth >= _MAX_DEPTH:
            return []
        items = schema.get("items")
        if (
            not isinstance(items, Mapping)
            or isinstance(items, RecursiveSchema)
            or _is_opaque_object(items)
        ):
            # A list of the model being generated (category items), or of members nobody
            # documented: an empty list is valid, while ``[{}]`` would be an item missing every
            # field Salla sends.
            return []
        return [example(items, seed, name, f"{path}[0]", depth + 1)]
    if kind == "integer":
        return _integer(schema, name, seed, path)
    if kind == "number":
        lowered = name.lower()
        if lowered == "timezone_type":
            return 3  # PHP's "named timezone" kind, in every published date object
        if lowered == "id" or lowered.endswith("_id"):
            return _integer(schema, name, seed, path)
        low = schema.get("minimum", 0)
        return float(max(low, 10 + _pick(seed, path, 490))) if "rate" not in lowered else 4.5
    if kind == "boolean":
        return _pick(seed, path, 2) == 1
    if kind == "string":
        return _string(name, schema.get("format"), seed, path)
    if kind == "null":
        return None
    # An untyped schema: any JSON value is valid; a string is the least surprising.
    return _string(name, None, seed, path)


def _integer(schema: Mapping[str, Any], name: str, seed: int, path: str) -> int:
    lowered = name.lower()
    low = schema.get("minimum")
    high = schema.get("maximum")
    if lowered == "id" or lowered.endswith("_id"):
        value = 100_000_000 + _pick(seed, path, 1_900_000_000)
    elif "timezone_type" in lowered:
        value = 3
    else:
        value = 1 + _pick(seed, path, 50)
    if isinstance(low, int | float) and value < low:
        value = int(low)
    if isinstance(high, int | float) and value > high:
        value = int(high)
    return value


def _valid_scalar(schema: Mapping[str, Any], value: Any) -> bool:
    kind = schema_type(schema)
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return False


EMPTY_OBJECT_MEMBERS = frozenset({"brand"})
"""Members Salla's examples show as ``{}`` when there is nothing to show (a product without a
brand: ``brand: {}`` in the product list example), kept empty rather than filled in."""


def conform(
    value: Any,
    schema: Mapping[str, Any] | None,
    *,
    quirks: bool = False,
    seed: int = 0,
    omit: frozenset[str] = frozenset(),
    path: str = "$",
    depth: int = 0,
) -> Any:
    """``value`` made valid against ``schema``: missing required members filled in, and (unless
    ``quirks``) scalars turned into the declared type.

    Members present in ``value`` but absent from the schema are kept: Salla returns more than it
    documents. ``omit`` lists JSON paths (``$[].customer``) that must stay absent even when the
    schema requires them (a documented deviation, such as the order list summary).
    """
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return value
    schema = merged(schema)
    if value is None:
        if schema.get("nullable") or schema_type(schema) is None:
            return None
        return example(schema, seed, path.rsplit(".", 1)[-1], path, depth)
    kind = schema_type(schema)
    if kind == "object":
        if value == {} and path.rsplit(".", 1)[-1] in EMPTY_OBJECT_MEMBERS:
            return value
        if not isinstance(value, dict):
            if quirks and value == []:
                # PHP serialises an empty map as [] (documented for links and translations).
                return value
            return example(schema, seed, path.rsplit(".", 1)[-1], path, depth)
        props = schema.get("properties") or {}
        out = dict(value)
        for key, sub in props.items():
            if not isinstance(sub, Mapping):
                continue
            sub_path = f"{path}.{key}"
            if sub_path in omit:
                out.pop(key, None)
                continue
            if key in out:
                out[key] = conform(
                    out[key],
                    sub,
                    quirks=quirks,
                    seed=seed,
                    omit=omit,
                    path=sub_path,
                    depth=depth + 1,
                )
            elif key in (schema.get("required") or ()):
                out[key] = example(sub, seed, key, sub_path, depth + 1)
        for key in schema.get("required") or ():
            if key not in out and f"{path}.{key}" not in omit:
                # Required but undeclared: any value is valid; keep it small.
                out[key] = None
        return out
    if kind == "array":
        if not isinstance(value, list):
            return []
        items = schema.get("items")
        if not isinstance(items, Mapping):
            return value
        return [
            conform(
                v, items, quirks=quirks, seed=seed, omit=omit, path=f"{path}[]", depth=depth + 1
            )
            for v in value
        ]
    if quirks and _documented_drift(value, kind):
        return value
    return _coerce_scalar(value, kind, path.rsplit(".", 1)[-1])


def _documented_drift(value: Any, kind: str | None) -> bool:
    """The type drift Salla's examples show: numbers as numeric strings, ``{}`` for empty."""
    if kind in ("integer", "number"):
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                return False
            return True
        return False
    if kind == "string":
        return value == {} or (isinstance(value, int | float) and not isinstance(value, bool))
    return False


def _is_opaque_object(schema: Mapping[str, Any]) -> bool:
    return schema.get("type") == "object" and not schema.get("properties")


def _coerce_scalar(value: Any, kind: str | None, name: str) -> Any:
    if kind == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, dict) and isinstance(value.get("date"), str):
            return value["date"][:19]
        return ""
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float):
            # A fractional amount stays fractional: the published schemas declare some money
            # amounts as integers while Salla's own examples carry halalas (39.46); truncating
            # would break totals that must add up.
            if value.is_integer() or name != "amount":
                return round(value)
            return value
        if isinstance(value, str):
            try:
                return int(float(value))
            except (ValueError, OverflowError):  # "abc", "nan"; "1e999" is infinite
                return 0
        return int(bool(value)) if isinstance(value, bool) else 0
    if kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return 0
            if not math.isfinite(number):
                return 0  # JSON has no infinity or NaN
            return int(number) if number.is_integer() else number
        return 0
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            return value not in ("", "0", "false")
        return bool(value) if isinstance(value, int | float) else False
    return value


# -- compiled conformers --------------------------------------------------------------------

_Step = Callable[[Any, bool], Any]
"""A compiled schema node: (value, quirks) -> the conformed value."""


class _Missing:
    """The type of ``_MISSING``: a member absent from a value."""


_MISSING: Any = _Missing()


def _clone(value: Any) -> Any:
    """A fresh copy of a JSON value (filler values are shared by the plan; outputs are not)."""
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


def _same(a: Any, b: Any) -> bool:
    """Whether two JSON values are equal with the same types all the way down (1 is not 1.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _filler(value: Any) -> Callable[[], Any]:
    """A thunk giving ``value``: the value itself when immutable, else a fresh copy.

    Containers are copied by unpickling a pickle made once (one C call) when that round trip is
    exact, which it is for the plain JSON values ``example`` builds; ``_clone`` otherwise.
    """
    if not isinstance(value, dict | list):
        return lambda: value
    if not value:
        return dict if isinstance(value, dict) else list
    try:
        blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return lambda: _clone(value)
    if not _same(pickle.loads(blob), value):
        return lambda: _clone(value)
    return lambda: pickle.loads(blob)


def _identity(value: Any, quirks: bool) -> Any:
    return value


# The scalar types that ``_coerce_scalar`` returns unchanged (and ``_documented_drift`` keeps as
# they are, quirks or not): an exact type match needs no work at all.
_KEEP: Mapping[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _keep_types(schema: Any, depth: int) -> tuple[type, ...]:
    """The value types that ``conform`` returns as they are for ``schema`` (none when unsure)."""
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return ()
    return _KEEP.get(schema_type(merged(schema)) or "", ())


def _compile(schema: Any, seed: int, omit: frozenset[str], path: str, depth: int) -> _Step:
    """The plan of ``conform(value, schema, seed=seed, omit=omit, path=path, depth=depth)``."""
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return _identity
    schema = merged(schema)
    name = path.rsplit(".", 1)[-1]
    kind = schema_type(schema)
    null_ok = bool(schema.get("nullable")) or kind is None
    # What ``conform`` answers for None when not nullable, and for a non-dict where an object
    # is declared (nullable or not).
    fill = _filler(example(schema, seed, name, path, depth))
    if kind == "object":
        return _compile_object(schema, seed, omit, path, depth, null_ok, fill)
    if kind == "array":
        items = schema.get("items")
        if not isinstance(items, Mapping):
            item_step: _Step | None = None
            item_keep: tuple[type, ...] = ()
        elif isinstance(items, RecursiveSchema):
            # The model inside itself: compiled on first use, as deep as the data goes.
            item_step = _lazy(items, seed, omit, f"{path}[]", depth + 1)
            item_keep = ()
        else:
            item_step = _compile(items, seed, omit, f"{path}[]", depth + 1)
            item_keep = _keep_types(items, depth + 1)

        def conform_array(value: Any, quirks: bool) -> Any:
            if value is None:
                return None if null_ok else fill()
            if not isinstance(value, list):
                return []
            if item_step is None:
                return value
            if item_keep:
                return [v if type(v) in item_keep else item_step(v, quirks) for v in value]
            return [item_step(v, quirks) for v in value]

        return conform_array
    keep = _KEEP.get(kind or "", ())

    def conform_scalar(value: Any, quirks: bool) -> Any:
        if type(value) in keep:
            return value
        if value is None:
            return None if null_ok else fill()
        if quirks and _documented_drift(value, kind):
            return value
        return _coerce_scalar(value, kind, name)

    return conform_scalar


def _lazy(schema: Any, seed: int, omit: frozenset[str], path: str, depth: int) -> _Step:
    """``_compile(...)`` deferred to the first call (a recursive model compiles level by level)."""
    compiled: list[_Step] = []

    def step(value: Any, quirks: bool) -> Any:
        if not compiled:
            compiled.append(_compile(schema, seed, omit, path, depth))
        return compiled[0](value, quirks)

    return step


def _compile_object(
    schema: Mapping[str, Any],
    seed: int,
    omit: frozenset[str],
    path: str,
    depth: int,
    null_ok: bool,
    fill: Callable[[], Any],
) -> _Step:
    props = schema.get("properties") or {}
    required = schema.get("required") or ()
    # Omitted members are dropped; every other declared member, in declaration order (the
    # order missing members are added in), is conformed when present (skipped when its type is
    # already right) and filled when missing and required.
    dropped: list[str] = []
    scalars: dict[tuple[type, ...], list[tuple[str, _Step]]] = {}
    others: list[tuple[str, _Step]] = []
    fills: list[tuple[str, Callable[[], Any]]] = []
    for key, sub in props.items():
        if not isinstance(sub, Mapping):
            continue
        sub_path = f"{path}.{key}"
        if sub_path in omit:
            dropped.append(key)
            continue
        step = _compile(sub, seed, omit, sub_path, depth + 1)
        keep = _keep_types(sub, depth + 1)
        if keep:
            scalars.setdefault(keep, []).append((key, step))
        elif step is not _identity:
            others.append((key, step))
        if key in required:
            fills.append((key, _filler(example(sub, seed, key, sub_path, depth + 1))))
    declared = {key for key, sub in props.items() if isinstance(sub, Mapping)}
    # Required but undeclared (or declared without a schema): any value is valid; None.
    loose = tuple(
        dict.fromkeys(
            key for key in required if key not in declared and f"{path}.{key}" not in omit
        )
    )
    frozen_dropped = tuple(dropped)
    # Scalar members grouped by the types kept as they are: one pass in C (``map``) tells
    # whether a group needs any work; only then are its members looked at one by one.
    groups = tuple(
        (tuple(k for k, _ in members), frozenset((*keep, _Missing)), tuple(members), keep)
        for keep, members in scalars.items()
    )
    frozen_others = tuple(others)
    frozen_fills = tuple(fills)
    # Every member ``conform`` makes sure of: when all are there, nothing is added.
    complete = frozenset(key for key, _ in fills) | frozenset(loose)
    missing = repeat(_MISSING)

    keep_empty = path.rsplit(".", 1)[-1] in EMPTY_OBJECT_MEMBERS

    def conform_object(value: Any, quirks: bool) -> Any:
        if keep_empty and value == {}:
            return value
        if not isinstance(value, dict):
            if value is None:
                return None if null_ok else fill()
            if quirks and value == []:
                # PHP serialises an empty map as [] (documented for links and translations).
                return value
            return fill()
        out = dict(value)
        for key in frozen_dropped:
            out.pop(key, None)
        get = out.get
        # Conforming a present member keeps its place, so present members may be done first and
        # the missing ones appended after, in declaration order, as ``conform`` appends them.
        for keys, allowed, members, keep in groups:
            if set(map(type, map(get, keys, missing))) <= allowed:
                continue
            for key, step in members:
                member = get(key, _MISSING)
                if member is not _MISSING and type(member) not in keep:
                    out[key] = step(member, quirks)
        for key, step in frozen_others:
            member = get(key, _MISSING)
            if member is not _MISSING:
                out[key] = step(member, quirks)
        if not complete <= out.keys():
            for key, sub_fill in frozen_fills:
                if key not in out:
                    out[key] = sub_fill()
            for key in loose:
                if key not in out:
                    out[key] = None
        return out

    return conform_object


class Conformer:
    """A schema compiled for ``conform``: ``Conformer(schema)(value, quirks=...)`` gives what
    ``conform(value, schema, quirks=..., seed=seed, omit=omit)`` gives, much faster.

    Build it once per schema (``compile_conformer``) and reuse it: it holds no mutable state
    (filler values are copied on use), so one instance may serve every store and thread.
    """

    __slots__ = ("_step", "schema")

    def __init__(
        self, schema: Mapping[str, Any], *, seed: int = 0, omit: frozenset[str] = frozenset()
    ) -> None:
        self.schema = schema
        """The schema compiled (kept so callers can check identity before reusing a plan)."""
        self._step = _compile(schema, seed, omit, "$", 0)

    def __call__(self, value: Any, *, quirks: bool = False) -> Any:
        return self._step(value, quirks)


def compile_conformer(
    schema: Mapping[str, Any], *, seed: int = 0, omit: frozenset[str] = frozenset()
) -> Conformer:
    """The compiled form of ``conform(..., schema, seed=seed, omit=omit)``."""
    return Conformer(schema, seed=seed, omit=omit)
