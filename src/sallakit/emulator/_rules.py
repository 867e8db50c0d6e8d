"""Conditional webhook rules: parse once, evaluate against each event's data.

Salla lets a webhook carry a ``rule`` such as ``payment_method = mada OR price < 50``; the event is
delivered only when the rule holds for the event's data. The grammar here::

    rule       := or_expr
    or_expr    := and_expr ("OR" and_expr)*
    and_expr   := primary ("AND" primary)*
    primary    := "(" or_expr ")" | comparison
    comparison := attribute ("=" | "!=" | ">" | "<") value
    value      := `backtick string` | "string" | 'string' | number | bare word

``AND`` binds tighter than ``OR``; keywords are case-insensitive. The left side is an attribute
of the event data (dotted paths allowed; a few documented names are aliases for nested fields,
e.g. ``status_id`` is ``status.id``). A comparison on a missing attribute is false, whatever the
operator. Money objects compare by their ``amount``; status-like objects by their ``slug``,
``name`` or ``id``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["And", "Comparison", "Or", "Rule", "RuleSyntaxError", "evaluate", "matches", "parse"]


class RuleSyntaxError(ValueError):
    """The webhook rule cannot be parsed."""


@dataclass(frozen=True, slots=True)
class Comparison:
    attribute: str
    op: str
    value: str | float | bool


@dataclass(frozen=True, slots=True)
class And:
    parts: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Or:
    parts: tuple[Rule, ...]


Rule = Comparison | And | Or

# Documented rule attribute names that live deeper in the event data than their name suggests.
ALIASES: dict[str, tuple[str, ...]] = {
    "status_id": ("status.id",),
    "customer_id": ("customer.id",),
    "branch_id": ("branch.id", "pickup_branch.id"),
    "coupon_code": ("coupon.code", "amounts.discounts.0.code"),
    "total": ("amounts.total", "total"),
    "sub_total": ("amounts.sub_total",),
    "shipping_cost": ("amounts.shipping_cost",),
    "brand_id": ("brand.id",),
    "date": ("date.date",),
}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lparen>\()|(?P<rparen>\))
      | (?P<op>!=|=|>|<)
      | `(?P<bt>[^`]*)`
      | "(?P<dq>[^"]*)"
      | '(?P<sq>[^']*)'
      | (?P<num>-?\d+(?:\.\d+)?)(?![\w.])
      | (?P<word>[^\s()=!<>`"']+)
    )""",
    re.VERBOSE,
)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise RuleSyntaxError(f"unexpected character at {pos}: {text[pos : pos + 10]!r}")
        pos = m.end()
        kind = m.lastgroup
        assert kind is not None
        value = m.group(kind)
        if kind in ("bt", "dq", "sq"):
            kind = "str"
        elif kind == "word" and value.upper() in ("AND", "OR"):
            kind = value.upper()
        tokens.append((kind, value))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def next(self) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            raise RuleSyntaxError("the rule ends too early")
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def or_expr(self) -> Rule:
        parts = [self.and_expr()]
        while self.peek() == "OR":
            self.next()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self) -> Rule:
        parts = [self.primary()]
        while self.peek() == "AND":
            self.next()
            parts.append(self.primary())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def primary(self) -> Rule:
        kind, value = self.next()
        if kind == "lparen":
            inner = self.or_expr()
            if self.next()[0] != "rparen":
                raise RuleSyntaxError("a parenthesis is not closed")
            return inner
        if kind != "word":
            raise RuleSyntaxError(f"expected an attribute name, got {value!r}")
        op_kind, op = self.next()
        if op_kind != "op":
            raise RuleSyntaxError(f"expected =, !=, > or < after {value!r}, got {op!r}")
        val_kind, raw = self.next()
        literal: str | float | bool
        if val_kind == "num":
            literal = float(raw)
        elif val_kind == "str":
            literal = raw
        elif val_kind == "word":
            # A bare word on the right is a literal (``payment_method = mada``), not an attribute.
            low = raw.lower()
            literal = True if low == "true" else False if low == "false" else raw
        else:
            raise RuleSyntaxError(f"expected a value after {op!r}, got {raw!r}")
        return Comparison(value, op, literal)


def parse(text: str) -> Rule:
    """Parse a rule.

    Raises:
        RuleSyntaxError: if the text is not a valid rule.
    """
    tokens = _tokenize(text)
    if not tokens:
        raise RuleSyntaxError("the rule is empty")
    parser = _Parser(tokens)
    rule = parser.or_expr()
    if parser.i != len(tokens):
        raise RuleSyntaxError(f"unexpected {tokens[parser.i][1]!r}")
    return rule


_MISSING = object()


def _lookup_path(data: Any, path: str) -> Any:
    current = data
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _lookup(data: Any, attribute: str) -> Any:
    found = _lookup_path(data, attribute)
    if found is not _MISSING:
        return found
    for path in ALIASES.get(attribute, ()):
        found = _lookup_path(data, path)
        if found is not _MISSING:
            return found
    return _MISSING


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    if isinstance(value, Mapping) and "amount" in value:
        return _as_number(value["amount"])
    return None


def _candidates(value: Any) -> list[Any]:
    # Objects such as an order status match by any of their stable identifiers.
    if isinstance(value, Mapping):
        return [value[k] for k in ("amount", "slug", "id", "name", "value") if k in value]
    return [value]


def _compare(actual: Any, op: str, expected: str | float | bool) -> bool:
    if actual is None:
        return False
    if isinstance(expected, bool):
        equal = (isinstance(actual, bool) and actual is expected) or (
            isinstance(actual, str) and actual.lower() == str(expected).lower()
        )
        return equal if op == "=" else (not equal if op == "!=" else False)
    exp_num = _as_number(expected)
    for candidate in _candidates(actual):
        act_num = _as_number(candidate)
        if exp_num is not None and act_num is not None:
            if op == "=" and act_num == exp_num:
                return True
            if op == ">" and act_num > exp_num:
                return True
            if op == "<" and act_num < exp_num:
                return True
        elif op == "=" and str(candidate) == str(expected):
            return True
    if op == "!=":
        return not _compare(actual, "=", expected)
    return False


def evaluate(rule: Rule, data: Any) -> bool:
    """Whether the event data satisfies a parsed rule."""
    if isinstance(rule, And):
        return all(evaluate(part, data) for part in rule.parts)
    if isinstance(rule, Or):
        return any(evaluate(part, data) for part in rule.parts)
    actual = _lookup(data, rule.attribute)
    if actual is _MISSING:
        return False
    return _compare(actual, rule.op, rule.value)


def matches(text: str | None, data: Any) -> bool:
    """Whether the event data satisfies a rule given as text (no rule: always)."""
    if not text or not text.strip():
        return True
    return evaluate(parse(text), data)
