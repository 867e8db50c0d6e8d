"""The committed generated code matches its generators."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("script", ["gen_resources.py", "unasync.py"])
def test_generated_files_are_up_to_date(script: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / script), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def _methods() -> dict[str, object]:
    from sallakit.api import AsyncSalla, GovernorRegistry

    client = AsyncSalla("tok", governor=GovernorRegistry())
    found: dict[str, object] = {}
    for endpoint in __import__("sallakit").api.load_registry():
        target: object = client
        for part in endpoint.client_method.split("."):
            target = getattr(target, part)
        found[endpoint.client_method] = target
    return found


def test_docstrings_have_args_and_flag_unconfirmed_paths() -> None:
    from sallakit.api import load_registry

    methods = _methods()
    for endpoint in load_registry():
        doc = methods[endpoint.client_method].__doc__ or ""
        assert "\n        Args:\n" in doc, endpoint.client_method
        assert ("path not confirmed" in doc.lower()) == endpoint.unconfirmed
    doc = methods["orders.list"].__doc__ or ""
    assert "sort_by: Query ``sort_by`` (string). One of: ``id``," in doc
    assert "status: Query ``status[]`` (array of string)." in doc
    assert "order_id: Query ``order_id`` (integer, required)." in (
        methods["orders.items.list"].__doc__ or ""
    )


def test_id_parameters_are_int_and_numbers_accept_decimal() -> None:
    import typing

    methods = _methods()
    hints = typing.get_type_hints(methods["webhooks.unsubscribe"])
    assert hints["id"] == int | None
    hints = typing.get_type_hints(methods["orders.list"])
    assert hints["customer_id"] == int | None
    from decimal import Decimal

    hints = typing.get_type_hints(methods["products.create"])
    assert Decimal in typing.get_args(hints["price"])
    hints = typing.get_type_hints(methods["webhooks.subscribe"])
    assert {"security_strategy", "secret"} <= hints.keys()
    from collections.abc import Sequence

    hints = typing.get_type_hints(methods["orders.list"])
    selling = typing.get_args(hints["selling_channel"])
    assert typing.get_origin(selling[0]) is Sequence
    assert typing.get_origin(typing.get_args(selling[0])[0]) is typing.Literal
