"""Scalar coercions shared by every model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sallakit.models import (
    SALLA_TIMEZONE,
    Boolish,
    Decimalish,
    Intish,
    ListOf,
    Maybe,
    Money,
    SallaDateTime,
    SallaModel,
    Text,
    Translations,
    parse_salla_datetime,
)


class Probe(SallaModel):
    amount: Maybe[Decimalish] = None
    quantity: Maybe[Intish] = None
    flag: Maybe[Boolish] = None
    when: Maybe[SallaDateTime] = None
    required_when: SallaDateTime | None = None
    text: Text = None
    numbers: ListOf[Intish] = []
    translations: Translations = {}


RIYADH = timezone(timedelta(hours=3))

# A JSON number is a double: 15 significant digits survive, so stay within 12+2.
finite_decimals = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, places=2
)


@given(finite_decimals)
def test_decimal_round_trips_as_number_string_or_float(value: Decimal) -> None:
    assert Probe.model_validate({"amount": str(value)}).amount == value
    assert Probe.model_validate({"amount": float(value)}).amount == value
    assert Money.model_validate({"amount": str(value), "currency": "SAR"}).amount == value


@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_int_accepts_number_and_numeric_string(value: int) -> None:
    assert Probe.model_validate({"quantity": value}).quantity == value
    assert Probe.model_validate({"quantity": str(value)}).quantity == value
    assert Probe.model_validate({"amount": value}).amount == Decimal(value)


def test_float_amount_has_no_binary_artefacts() -> None:
    amount = Probe.model_validate({"amount": 39.46}).amount
    assert amount == Decimal("39.46")
    assert str(amount) == "39.46"
    assert isinstance(amount, Decimal)


@pytest.mark.parametrize("raw", ["", None, {}, []])
def test_blank_scalars_are_none(raw: Any) -> None:
    probe = Probe.model_validate({"amount": raw, "quantity": raw, "flag": raw, "when": raw})
    assert (probe.amount, probe.quantity, probe.flag, probe.when) == (None, None, None, None)


@pytest.mark.parametrize("raw", ["abc", "1.5", True])
def test_non_integer_quantity_is_rejected(raw: Any) -> None:
    with pytest.raises(ValidationError):
        Probe.model_validate({"quantity": raw})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("true", True),
        ("False", False),
        ("1", True),
        ("0", False),
    ],
)
def test_boolish(raw: Any, expected: bool) -> None:
    assert Probe.model_validate({"flag": raw}).flag is expected


@pytest.mark.parametrize("raw", [2, "maybe"])
def test_boolish_rejects_other_values(raw: Any) -> None:
    with pytest.raises(ValidationError):
        Probe.model_validate({"flag": raw})


def test_text_stringifies_numbers_and_keeps_arabic() -> None:
    assert Probe.model_validate({"text": 501724227}).text == "501724227"
    assert Probe.model_validate({"text": "بإنتظار المراجعة"}).text == "بإنتظار المراجعة"
    assert Probe.model_validate({"text": ""}).text == ""


def test_list_and_map_blanks() -> None:
    probe = Probe.model_validate({"numbers": {}, "translations": []})
    assert probe.numbers == []
    assert probe.translations == {}
    probe = Probe.model_validate({"numbers": ["1", 2], "translations": {"en": {"name": "cats"}}})
    assert probe.numbers == [1, 2]
    assert probe.translations == {"en": {"name": "cats"}}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"date": "2024-02-15 08:23:05.000000", "timezone_type": 3, "timezone": "Asia/Riyadh"},
            datetime(2024, 2, 15, 8, 23, 5, tzinfo=RIYADH),
        ),
        ("2024-03-06 13:50:32", datetime(2024, 3, 6, 13, 50, 32, tzinfo=RIYADH)),
        ("2024-03-06T10:50:32Z", datetime(2024, 3, 6, 10, 50, 32, tzinfo=UTC)),
        ("2024-03-06T13:50:32+03:00", datetime(2024, 3, 6, 10, 50, 32, tzinfo=UTC)),
        ("Tue Jan 21 2025 18:00:32 GMT+0300", datetime(2025, 1, 21, 15, 0, 32, tzinfo=UTC)),
        (
            "Sun Jun 26 2022 12:21:48 GMT+0300 (Arabian Standard Time)",
            datetime(2022, 6, 26, 9, 21, 48, tzinfo=UTC),
        ),
        (1634819484, datetime(2021, 10, 21, 12, 31, 24, tzinfo=UTC)),
        ("1749772799", datetime(2025, 6, 12, 23, 59, 59, tzinfo=UTC)),
        ("2025-06-23", datetime(2025, 6, 23, tzinfo=RIYADH)),
        ("2025-5-01", datetime(2025, 5, 1, tzinfo=RIYADH)),
        ("25-05-2025", datetime(2025, 5, 25, tzinfo=RIYADH)),
        (
            {"date": "2024-02-15 08:23:05.000000", "timezone_type": 1, "timezone": "+00:00"},
            datetime(2024, 2, 15, 8, 23, 5, tzinfo=UTC),
        ),
    ],
)
def test_salla_datetime_shapes(raw: Any, expected: datetime) -> None:
    parsed = Probe.model_validate({"when": raw}).when
    assert parsed is not None
    assert parsed.tzinfo is not None
    assert parsed == expected


def test_naive_strings_are_riyadh_time() -> None:
    parsed = parse_salla_datetime("2024-03-06 13:50:32")
    assert parsed is not None
    assert parsed.tzinfo == SALLA_TIMEZONE
    assert parsed.utcoffset() == timedelta(hours=3)


# Epochs of 1e11 and above are read as milliseconds (JavaScript), so stay below year 5138.
@given(
    st.datetimes(
        timezones=st.just(UTC), min_value=datetime(1971, 1, 1), max_value=datetime(4000, 1, 1)
    )
)
def test_epoch_and_iso_round_trip(moment: datetime) -> None:
    assert parse_salla_datetime(moment.isoformat()) == moment
    whole = moment.replace(microsecond=0)
    assert parse_salla_datetime(int(whole.timestamp())) == whole


def test_required_datetime_rejects_blank_and_garbage() -> None:
    with pytest.raises(ValidationError):
        Probe.model_validate({"required_when": {}})
    with pytest.raises(ValidationError):
        Probe.model_validate({"when": "not a date"})


def test_one_object_where_a_list_is_due_is_a_one_item_list() -> None:
    # Salla's order create/update schemas type ``tags`` as one object, the details as a list.
    from sallakit.models import Order

    order = Order.model_validate({"id": 1, "tags": {"id": 7, "name": "VIP"}})
    assert [(tag.id, tag.name) for tag in order.tags] == [(7, "VIP")]
    assert Order.model_validate({"id": 1, "tags": []}).tags == []
