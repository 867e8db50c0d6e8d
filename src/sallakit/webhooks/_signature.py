"""Webhook authenticity checks for Salla's two security strategies (pure: no I/O).

* ``signature``: ``X-Salla-Signature`` is the hex HMAC-SHA256 of the *raw* request body keyed
  with the app's webhook secret. Never re-serialise the JSON before checking: any difference in
  spacing or key order changes the digest.
* ``token``: ``Authorization`` carries the secret itself, verbatim (no ``Bearer`` prefix).

Both compare in constant time. Several secrets may be given while one is being rotated (the
Partner Portal's new secret and the old one): a delivery verified by any of them is accepted.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Literal

from sallakit._exceptions import ConfigurationError, SignatureVerificationError

__all__ = ["Strategy", "compute_signature", "verify_request"]

Strategy = Literal["auto", "signature", "token"]

SIGNATURE_HEADER = "x-salla-signature"
STRATEGY_HEADER = "x-salla-security-strategy"

Secret = str | bytes


def compute_signature(raw_body: bytes, secret: str | bytes) -> str:
    """The ``X-Salla-Signature`` value Salla sends for ``raw_body``."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, raw_body, hashlib.sha256).hexdigest()


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _keys(secret: Secret | Sequence[Secret]) -> list[bytes]:
    secrets = [secret] if isinstance(secret, str | bytes) else list(secret)
    keys = [s.encode("utf-8") if isinstance(s, str) else s for s in secrets if s]
    if not keys or len(keys) != len(secrets):
        raise ConfigurationError("the webhook secret is empty")
    return keys


def verify_request(
    raw_body: bytes,
    headers: Mapping[str, str],
    secret: Secret | Sequence[Secret],
    *,
    strategy: Strategy = "auto",
) -> Literal["signature", "token"]:
    """Check that a delivery comes from Salla.

    Args:
        raw_body: the request body exactly as received.
        headers: the request headers (any case).
        secret: the app's webhook secret from the Partner Portal, or several (the current one
            first) while rotating it.
        strategy: ``signature`` or ``token`` to accept only that strategy; ``auto`` follows
            ``X-Salla-Security-Strategy`` (safe: both strategies require the secret).

    Returns:
        The strategy that verified the request.

    Raises:
        SignatureVerificationError: missing or wrong signature / token; the message says what
            this receiver expected.
        ConfigurationError: no secret, or an empty one.
    """
    keys = _keys(secret)
    lowered = _lower(headers)
    chosen = strategy
    if strategy == "auto":
        declared = lowered.get(STRATEGY_HEADER, "").strip().lower()
        if declared in ("signature", "token"):
            chosen = declared  # type: ignore[assignment]
        elif SIGNATURE_HEADER in lowered:
            chosen = "signature"
        elif "authorization" in lowered:
            chosen = "token"
        else:
            raise SignatureVerificationError(
                "expected an X-Salla-Signature header (signature strategy) or an Authorization "
                "header (token strategy); the request has neither"
            )
    if chosen == "signature":
        given = lowered.get(SIGNATURE_HEADER, "").strip().lower()
        if not given:
            raise SignatureVerificationError(
                "expected an X-Salla-Signature header: this receiver uses the signature "
                "strategy (HMAC-SHA256 of the raw body with the webhook secret)"
            )
        given_bytes = given.encode("ascii", "replace")
        # Every key is tried (no early exit), so timing does not tell which one matched.
        ok = False
        for key in keys:
            expected = compute_signature(raw_body, key).encode("ascii")
            ok |= hmac.compare_digest(given_bytes, expected)
        if not ok:
            raise SignatureVerificationError(
                "the X-Salla-Signature does not match the body for the configured webhook secret(s)"
            )
        return "signature"
    given_token = lowered.get("authorization", "")
    if not given_token:
        raise SignatureVerificationError(
            "expected an Authorization header carrying the webhook secret: this receiver uses "
            "the token strategy"
        )
    token = given_token.encode("utf-8", "replace")
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(token, key)
    if not ok:
        raise SignatureVerificationError(
            "the Authorization token does not match the configured webhook secret(s)"
        )
    return "token"
