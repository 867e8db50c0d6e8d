"""Conditional webhook rules: parsing and evaluation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sallakit.emulator._rules import And, Comparison, Or, RuleSyntaxError, matches, parse

ORDER = {
    "id": 11,
    "payment_method": "mada",
    "status": {"id": 566146469, "slug": "under_review", "name": "بإنتظار المراجعة"},
    "customer": {"id": 99, "city": "الرياض"},
    "amounts": {"total": {"amount": 302.5, "currency": "SAR"}},
    "price": "45.00",
}


def test_precedence_and_literals():
    rule = parse("a = 1 AND b = `x y` OR c > 2")
    assert rule == Or(
        (
            And((Comparison("a", "=", 1.0), Comparison("b", "=", "x y"))),
            Comparison("c", ">", 2.0),
        )
    )


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("payment_method = mada", True),
        ("payment_method = `cod`", False),
        ("payment_method != cod", True),
        ("payment_method = mada OR price < 50", True),
        ("payment_method = cod OR price < 50", True),
        ("payment_method = cod OR price > 50", False),
        ("total > 300 AND total < 303", True),
        ("status_id = 566146469", True),
        ("status = under_review", True),
        ("status = `بإنتظار المراجعة`", True),
        ("customer.city = 'الرياض'", True),
        ("customer_id = 99 and (payment_method = cod or id = 11)", True),
        ('customer_id = 98 AND (payment_method = "mada" OR id = 11)', False),
        ("missing = 1", False),
        ("missing != 1", False),
        ("missing < 1 OR id = 11", True),
    ],
)
def test_evaluation(rule, expected):
    assert matches(rule, ORDER) is expected


def test_no_rule_always_matches():
    assert matches(None, {}) and matches("  ", {})


@pytest.mark.parametrize("bad", ["", "total >", "= 3", "(a = 1", "a = 1)", "a ~ 2", "a = 1 AND"])
def test_syntax_errors(bad):
    with pytest.raises(RuleSyntaxError):
        parse(bad)


@given(st.integers(-1000, 1000), st.integers(-1000, 1000))
def test_numeric_comparisons_agree_with_python(a, b):
    data = {"n": a}
    assert matches(f"n > {b}", data) is (a > b)
    assert matches(f"n < {b}", data) is (a < b)
    assert matches(f"n = {b}", data) is (a == b)
    assert matches(f"n != {b}", data) is (a != b)
