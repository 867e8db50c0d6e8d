"""The error hierarchy: shape, default messages, and what each error keeps."""

from __future__ import annotations

import pytest

import sallakit
from sallakit import (
    APIStatusError,
    AuthenticationError,
    MissingScopeError,
    NotFoundError,
    RateLimitError,
    ReinstallRequiredError,
    SallaError,
    UnprocessableEntityError,
)


def test_docstring_is_the_default_message() -> None:
    assert str(ReinstallRequiredError()) == (
        "The grant is revoked (invalid_grant): the merchant must reinstall the app."
    )


def test_status_errors_keep_what_salla_said() -> None:
    err = UnprocessableEntityError(
        "alert.invalid_fields",
        method="POST",
        url="https://api.salla.dev/admin/v2/customers",
        code="error",
        fields={"first_name": ("الاسم الاول للعميل مطلوب",)},
        body={"status": 422},
    )
    assert err.status_code == 422
    assert err.fields == {"first_name": ["الاسم الاول للعميل مطلوب"]}
    assert err.code == "error"
    assert str(err) == "422 alert.invalid_fields (POST https://api.salla.dev/admin/v2/customers)"


def test_class_status_codes() -> None:
    assert NotFoundError().status_code == 404
    assert RateLimitError(retry_after=3.0).retry_after == 3.0
    assert APIStatusError(status_code=418).status_code == 418


@pytest.mark.parametrize(
    ("message", "scopes"),
    [
        (
            "The access token should have access to one of those scopes: products.read_write",
            ["products.read_write"],
        ),
        (
            "The access token should have access to one of those scopes: orders.read, "
            "orders.read_write",
            ["orders.read", "orders.read_write"],
        ),
        ("no scopes here", []),
    ],
)
def test_missing_scope_error_lists_the_scopes(message: str, scopes: list[str]) -> None:
    err = MissingScopeError(message, status_code=401)
    assert isinstance(err, AuthenticationError)
    assert err.scopes == scopes


def test_every_exported_error_derives_from_salla_error() -> None:
    names = [n for n in sallakit.__all__ if n.endswith("Error")]
    assert len(names) >= 25
    for name in names:
        assert issubclass(getattr(sallakit, name), SallaError)
