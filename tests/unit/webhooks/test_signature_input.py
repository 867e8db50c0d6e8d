"""verify_request refuses arguments of the wrong kind with one clear ConfigurationError."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sallakit import ConfigurationError, SignatureVerificationError
from sallakit.webhooks import compute_signature, verify_request

SECRET = "whsec-test"


def test_a_str_body_is_refused_naming_raw_body() -> None:
    body = '{"event": "order.created"}'
    headers = {"X-Salla-Signature": compute_signature(body.encode(), SECRET)}
    with pytest.raises(ConfigurationError, match="raw_body must be the request body as bytes"):
        verify_request(body, headers, SECRET)  # type: ignore[arg-type]


@pytest.mark.parametrize("body", [None, 12, {"event": "x"}])
def test_a_body_that_is_not_bytes_is_refused(body: Any) -> None:
    with pytest.raises(ConfigurationError, match="raw_body"):
        verify_request(body, {"X-Salla-Signature": "00"}, SECRET)


@pytest.mark.parametrize("header", ["X-Salla-Signature", "Authorization", "X-Other"])
def test_a_none_header_value_is_refused_naming_the_header(header: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"headers\['{header}'\]"):
        verify_request(b"{}", {header: None}, SECRET)  # type: ignore[dict-item]


def test_headers_that_are_not_a_mapping_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="headers must be a mapping"):
        verify_request(b"{}", None, SECRET)  # type: ignore[arg-type]


@pytest.mark.parametrize("secret", [None, 5, ["ok", 3], [b"ok", None]])
def test_a_secret_that_is_not_text_is_refused(secret: Any) -> None:
    with pytest.raises(ConfigurationError, match="secret"):
        verify_request(b"{}", {"X-Salla-Signature": "00"}, secret)


def test_bytes_headers_and_a_bytearray_body_as_asgi_gives_them_verify() -> None:
    body = b'{"event": "order.created"}'
    signature = compute_signature(body, SECRET).encode()
    assert verify_request(bytearray(body), {b"x-salla-signature": signature}, SECRET) == (  # type: ignore[dict-item]
        "signature"
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.binary(max_size=200),
    headers=st.dictionaries(
        st.sampled_from(["X-Salla-Signature", "Authorization", "X-Salla-Security-Strategy", "A"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=20), st.binary(max_size=20)),
        max_size=4,
    ),
)
def test_any_input_gives_a_verdict_or_a_sallakit_error(body: bytes, headers: Any) -> None:
    # Never a raw TypeError / AttributeError / UnicodeError: only the project's errors.
    with contextlib.suppress(ConfigurationError, SignatureVerificationError):
        verify_request(body, headers, SECRET)
