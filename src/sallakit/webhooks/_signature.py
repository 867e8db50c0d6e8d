"""Webhook authenticity checks for Salla's two security strategies (pure: no I/O).

* ``signature``: ``X-Salla-Signature`` is the hex HMAC-SHA256 of the *raw* request body keyed
  with the app's webhook secret. Never re-serialise the JSON before checking: any difference in
  spacing or key order changes the digest.
* ``token``: ``Authorization`` carries the secret itself, verbatim (no ``Bearer`` prefix).

Both compare in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Literal

from sallakit._exceptions import ConfigurationError, SignatureVerificationError

__all__ = ["Strategy", "compute_signature", "verify_request"]

Strategy = Literal["auto", "signature", "token"]

SIGNATURE_HEADER = "x-salla-signature"
STRATEGY_HEADER = "x-salla-security-strategy"


def compute_signature(raw_body: bytes, secret: str | bytes) -> str:
    """The ``X-Salla-Signature`` value Salla sends for ``raw_body``."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, raw_body, hashlib.sha256).hexdigest()


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def verify_request(
    raw_body: bytes,
    headers: Mapping[str, str],
    secret: str | bytes,
    *,
    strategy: Strategy = "auto",
) -> Literal["signature", "token"]:
    """Check that a delivery comes from Salla.

    Args:
        raw_body: the request body exactly as received.
        headers: the request headers (any case).
        secret: the app's webhook secret from the Partner Portal.
        strategy: ``signature`` or ``token`` to accept only that strategy; ``auto`` follows
            ``X-Salla-Security-Strategy`` (safe: both strategies require the secret).

    Returns:
        The strategy that verified the request.

    Raises:
        SignatureVerificationError: missing or wrong signature / token.
        ConfigurationError: empty secret.
    """
    if not secret:
        raise ConfigurationError("the webhook secret is empty")
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    lowered = _lower(headers)
    if strategy == "auto":
        declared = lowered.get(STRATEGY_HEADER, "").strip().lower()
        if declared in ("signature", "token"):
            strategy = declared  # type: ignore[assignment]
        else:
            strategy = "signature" if SIGNATURE_HEADER in lowered else "token"
    if strategy == "signature":
        given = lowered.get(SIGNATURE_HEADER, "").strip().lower()
        if not given:
            raise SignatureVerificationError("the X-Salla-Signature header is missing")
        expected = compute_signature(raw_body, key)
        if not hmac.compare_digest(given.encode("ascii", "replace"), expected.encode("ascii")):
            raise SignatureVerificationError("the webhook signature does not match the body")
        return "signature"
    given_token = lowered.get("authorization", "")
    if not given_token:
        raise SignatureVerificationError("the Authorization header is missing")
    if not hmac.compare_digest(given_token.encode("utf-8"), key):
        raise SignatureVerificationError("the webhook token is wrong")
    return "token"
