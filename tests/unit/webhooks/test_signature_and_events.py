"""Signature verification (both strategies) and envelope parsing."""

from __future__ import annotations

import json

import pytest

from sallakit._exceptions import PayloadTooLargeError, SignatureVerificationError, WebhookError
from sallakit.webhooks import compute_signature, parse_event, verify_request

SECRET = "whsec"
BODY = (
    b'{"event":"app.installed","merchant":1234509876,"created_at":"2022-12-31 12:31:25","data":{}}'
)


def test_signature_over_raw_bytes() -> None:
    sig = compute_signature(BODY, SECRET)
    assert verify_request(BODY, {"X-Salla-Signature": sig}, SECRET) == "signature"
    headers = {"x-salla-security-strategy": "Signature", "x-salla-signature": sig.upper()}
    assert verify_request(BODY, headers, SECRET, strategy="signature") == "signature"
    # Same JSON re-serialised: another byte string, another digest.
    reserialised = json.dumps(json.loads(BODY)).encode()
    with pytest.raises(SignatureVerificationError):
        verify_request(reserialised, {"X-Salla-Signature": sig}, SECRET)


def test_missing_or_wrong_signature() -> None:
    with pytest.raises(SignatureVerificationError):
        verify_request(BODY, {}, SECRET, strategy="signature")
    with pytest.raises(SignatureVerificationError):
        verify_request(BODY, {"X-Salla-Signature": "ab" * 32}, SECRET)
    with pytest.raises(SignatureVerificationError):
        verify_request(BODY, {"X-Salla-Signature": "not hex ☃"}, SECRET)


def test_token_strategy_is_plain_equality() -> None:
    headers = {"X-Salla-Security-Strategy": "Token", "Authorization": SECRET}
    assert verify_request(BODY, headers, SECRET) == "token"
    with pytest.raises(SignatureVerificationError):
        verify_request(BODY, {**headers, "Authorization": f"Bearer {SECRET}"}, SECRET)
    # Pinned to signature: a token header is not enough.
    with pytest.raises(SignatureVerificationError):
        verify_request(BODY, headers, SECRET, strategy="signature")


def test_parse_event() -> None:
    event = parse_event(BODY)
    assert event.event == "app.installed" and event.merchant == 1234509876
    assert event.is_app_event and len(event.digest) == 64
    with pytest.raises(PayloadTooLargeError):
        parse_event(BODY, max_size=10)
    for bad in (b"nope", b"[]", b'{"event":"x"}', b'{"merchant":1}'):
        with pytest.raises(WebhookError):
            parse_event(bad)
